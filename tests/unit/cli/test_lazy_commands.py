"""Commands load only what they use: the collector never imports the gateway or DuckDB."""

import json
import subprocess
import sys

from click.testing import CliRunner

from flowcdr.cli.main import COMMANDS, main

PROBE = """
import json, sys
from flowcdr.cli.main import main
try:
    main([sys.argv[1], "--help"])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("flowcdr.", "duckdb")))))
"""


def loaded_by(command: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, command], capture_output=True, text=True, check=True,
        timeout=60,
    )  # fmt: skip
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def test_the_collector_loads_neither_the_gateway_nor_duckdb() -> None:
    modules = loaded_by("collect")
    assert "flowcdr.cli.collect" in modules
    assert not [m for m in modules if m.startswith(("flowcdr.api", "flowcdr.detect", "duckdb"))]


def test_help_lists_every_command() -> None:
    shown = CliRunner().invoke(main, ["--help"]).output
    assert all(f"  {name} " in shown for name in COMMANDS)
    unknown = CliRunner().invoke(main, ["no-such-command"])
    assert unknown.exit_code == 2
    assert "No such command" in unknown.output
