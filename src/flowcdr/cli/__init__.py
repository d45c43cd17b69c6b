"""The ``flowcdr`` command line: one module per command group."""
