"""``flowcdr config dump``: the effective settings, secrets masked."""

import json

import click

from flowcdr.cli.options import with_settings
from flowcdr.config import Settings


@click.group("config")
def config() -> None:
    """Inspect the configuration."""


@config.command("dump")
@with_settings
def dump(settings: Settings) -> None:
    """Print the effective settings as JSON (secrets shown as ****)."""
    click.echo(json.dumps(settings.dump(), indent=2))
