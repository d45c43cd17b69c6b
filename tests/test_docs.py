"""The README is the manual: it must name the two commands and every CLI command."""

from pathlib import Path

from click.testing import CliRunner

from flowcdr.cli.main import COMMANDS, main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    head = "\n".join(README.splitlines()[:15])
    assert "make run" in head
    assert "make test" in head


def test_every_cli_command_is_documented() -> None:
    missing = [name for name in COMMANDS if f"flowcdr {name}" not in README]
    assert missing == []


def test_every_make_target_is_documented() -> None:
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    phony = next(line for line in makefile.splitlines() if line.startswith(".PHONY:"))
    targets = set(phony.split(":", 1)[1].split()) - {"clean"}
    assert [t for t in sorted(targets) if f"make {t}" not in README] == []


def test_generated_reference_pages_are_current() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    result = CliRunner().invoke(main, ["docs", "--check", str(docs)])
    assert result.exit_code == 0, result.output
