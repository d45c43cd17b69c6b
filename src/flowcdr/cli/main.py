"""Entry point of the ``flowcdr`` command."""

import click

from flowcdr.cli.collect import collect
from flowcdr.cli.config import config
from flowcdr.cli.demo import demo
from flowcdr.cli.detect import detect
from flowcdr.cli.intel import intel
from flowcdr.cli.parse import parse
from flowcdr.cli.serve import serve
from flowcdr.cli.simulate import simulate
from flowcdr.cli.users import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowcdr")
def main() -> None:
    """flowcdr: detection and response for Azure NSG and VNet flow logs."""


for command in (parse, serve, users, config, collect, detect, intel, simulate, demo):
    main.add_command(command)
