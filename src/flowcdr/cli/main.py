"""Entry point of the ``flowcdr`` command."""

import click

from flowcdr.cli.parse import parse


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowcdr")
def main() -> None:
    """flowcdr: detection and response for Azure NSG and VNet flow logs."""


main.add_command(parse)
