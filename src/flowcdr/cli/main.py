"""Entry point of the ``flowcdr`` command.

Commands are imported when they run, not all at start: ``flowcdr collect`` (a long-running
process on a small VM or in a Function) then never loads the gateway, DuckDB or the detection
catalogue, and starts in a fraction of the time and memory.
"""

import importlib

import click

# Command name -> the module that defines it, as an attribute of the same name.
COMMANDS = {
    name: f"flowcdr.cli.{name}"
    for name in (
        "parse",
        "serve",
        "users",
        "config",
        "keys",
        "collect",
        "detect",
        "intel",
        "simulate",
        "demo",
        "docs",
    )
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = getattr(importlib.import_module(module), cmd_name)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.{cmd_name} is not a click command")
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowcdr")
def main() -> None:
    """flowcdr: detection and response for Azure NSG and VNet flow logs."""
