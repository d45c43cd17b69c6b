"""``python -m flowcdr`` runs the command line."""

from flowcdr.cli.main import main

main()
