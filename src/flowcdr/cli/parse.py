"""``flowcdr parse``: flow-log files to normalized flows (NDJSON, CSV or Parquet).

Warnings (rejected tuples, cut inputs, skipped records) go to stderr, and the last stderr line
is always the totals. Exit status 2 says some input was unreadable or not a flow log; the
good inputs are still written.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import click

from flowcdr.cli.flowfile import FORMATS, Format, format_for, open_writer
from flowcdr.formats import FormatError, parse_blob

STDIN = "-"


@dataclass
class Totals:
    files: int = 0
    records: int = 0
    flows: int = 0
    rejected: int = 0
    skipped: int = 0
    failed: int = 0

    def line(self) -> str:
        return (
            f"parsed {self.flows} flows from {self.records} records in {self.files} files; "
            f"rejected {self.rejected} tuples; skipped {self.skipped} records"
        )


def expand(inputs: tuple[str, ...]) -> Iterator[str | Path]:
    """Inputs in order; a directory stands for every ``*.json`` below it, sorted."""
    for name in inputs:
        path = Path(name)
        if name == STDIN:
            yield STDIN
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*.json") if p.is_file())
        else:
            yield path


def read(item: str | Path) -> bytes:
    if item == STDIN:
        return sys.stdin.buffer.read()
    assert isinstance(item, Path)
    return item.read_bytes()


@click.command("parse")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Output file (default: standard output).",
)
@click.option(
    "--format",
    "kind",
    type=click.Choice(FORMATS),
    help="Output format (default: from OUTPUT's extension, else ndjson).",
)
def parse(inputs: tuple[str, ...], output: Path | None, kind: Format | None) -> None:
    """Parse NSG (v1, v2) and VNet (v4) flow-log files into one row per flow.

    INPUTS are files, directories (every *.json below them, such as a downloaded container)
    or - for standard input.
    """
    chosen = kind or format_for(output)
    if chosen is None:
        raise click.UsageError(
            f"cannot tell the format from {str(output)!r}; use --format {'|'.join(FORMATS)}"
        )
    try:
        totals = _parse_all(inputs, output, chosen)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as error:
        raise click.ClickException(f"cannot write {output or '<stdout>'}: {error}") from error
    click.echo(totals.line(), err=True)
    if totals.failed:
        sys.exit(2)


def _parse_all(inputs: tuple[str, ...], output: Path | None, chosen: Format) -> Totals:
    totals = Totals()
    with ExitStack() as stack:
        stream: BinaryIO = (
            stack.enter_context(output.open("wb")) if output is not None else sys.stdout.buffer
        )
        writer = open_writer(chosen, stream)
        for item in expand(inputs):
            name = "<stdin>" if item == STDIN else str(item)
            try:
                data = read(item)
            except OSError as error:
                click.echo(f"{name}: cannot read: {error.strerror or error}", err=True)
                totals.failed += 1
                continue
            try:
                result = parse_blob(data, source=name)
            except FormatError as error:
                click.echo(str(error), err=True)
                totals.failed += 1
                continue
            for warning in result.report.warnings():
                click.echo(warning, err=True)
            writer.write(result.table)
            totals.files += 1
            totals.records += result.report.records
            totals.flows += result.report.flows
            totals.rejected += result.report.rejected
            totals.skipped += result.report.skipped
        writer.close()
        stream.flush()
    return totals
