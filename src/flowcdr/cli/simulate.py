"""``flowcdr simulate``: labelled Azure flow-log blobs for demos, benchmarks and evaluation.

Blobs go to ``--out`` laid out like the two Azure containers (or to a storage account with
``--azure``); the labels and the threat-intel feed always go to files. Bad input is refused
before anything is written, naming the option.
"""

import datetime as dt
import sys
from pathlib import Path

import click
from azure.core.exceptions import AzureError

from flowcdr.simulate import (
    SCENARIOS,
    AzureSink,
    BlobSink,
    FolderSink,
    LogFormat,
    Pace,
    Plan,
    Simulation,
    Totals,
    write_intel,
    write_labels,
)

FORMAT_CHOICES = ("nsg", "vnet", "both")
MAX_HOURS = 24 * 31
MAX_VMS = 5_000


def _scenarios(text: str) -> tuple[str, ...]:
    """``all``, ``none`` or a comma-separated list of scenario names."""
    if text == "all":
        return tuple(SCENARIOS)
    if text == "none":
        return ()
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown scenario {', '.join(map(repr, unknown)) or repr(text)}; "
            f"use all, none, or names from: {', '.join(SCENARIOS)}",
            param_hint="'--scenarios'",
        )
    return names


def _start_ms(text: str | None, hours: int, live: bool) -> int:
    """The first hour simulated: --start rounded down to its hour (UTC if no offset given).

    By default a batch run ends at the current hour, so its data is recent, and a live run
    starts at it.
    """
    if text is None:
        now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        start = now if live else now - dt.timedelta(hours=hours)
    else:
        try:
            start = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                f"{text!r} is not an ISO 8601 time such as 2026-11-27T08:00:00Z",
                param_hint="'--start'",
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        if not 2000 <= start.year <= 2099:
            raise click.BadParameter(
                f"{text!r} is outside 2000..2099, which flow-log parsers accept",
                param_hint="'--start'",
            )
    return int(start.timestamp()) // 3600 * 3600 * 1000


def _sink(out: Path, azure: str | None) -> BlobSink:
    if azure is None:
        return FolderSink(out)
    try:
        return AzureSink(azure)
    except ValueError as error:
        raise click.BadParameter(
            f"not a storage connection string: {error}", param_hint="'--azure'"
        ) from None


@click.command("simulate")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the blobs (one sub-folder per container), labels and intel feed.",
)
@click.option("--hours", type=click.IntRange(1, MAX_HOURS), default=1, show_default=True)
@click.option("--start", help="First hour, ISO 8601 (default: --hours before the current hour).")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same output.")
@click.option("--vms", type=click.IntRange(5, MAX_VMS), default=50, show_default=True)
@click.option(
    "--format", "log_format", type=click.Choice(FORMAT_CHOICES), default="both", show_default=True
)
@click.option(
    "--scenarios",
    default="all",
    show_default=True,
    help=f"all, none, or a comma-separated list of: {', '.join(SCENARIOS)}.",
)
@click.option(
    "--labels",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Labels file, JSON lines (default: OUT/labels.jsonl); the feed goes beside it.",
)
@click.option("--live", is_flag=True, help="Append record blocks minute by minute, as Azure.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    help="With --live: simulated minutes per second (default 1).",
)
@click.option(
    "--azure",
    metavar="CONNECTION_STRING",
    help="Write blobs to this storage account (or Azurite) instead of OUT.",
)
def simulate(
    *,
    out: Path,
    hours: int,
    start: str | None,
    seed: int,
    vms: int,
    log_format: str,
    scenarios: str,
    labels: Path | None,
    live: bool,
    speed: float | None,
    azure: str | None,
) -> None:
    """Write HOURS of labelled NSG/VNet flow-log traffic of VMS VMs, attacks included."""
    if speed is not None and not live:
        raise click.BadParameter("only applies with --live", param_hint="'--speed'")
    formats = tuple(LogFormat) if log_format == "both" else (LogFormat(log_format),)
    plan = Plan(_start_ms(start, hours, live), hours, seed, vms, formats, _scenarios(scenarios))
    labels_path = labels or out / "labels.jsonl"
    intel_path = labels_path.with_name(f"{labels_path.stem}-intel.txt")
    sink = _sink(out, azure)
    try:
        out.mkdir(parents=True, exist_ok=True)
        labels_path.parent.mkdir(parents=True, exist_ok=True)
        simulation = Simulation(plan)
        write_labels(labels_path, simulation.labels)
        listed = write_intel(intel_path, simulation.labels, simulation.intel_rng)
        pace = Pace(speed or 1.0) if live else None
        with click.progressbar(length=hours, label="simulating hours", file=sys.stderr) as bar:
            totals = simulation.run(sink, pace, progress=lambda _: bar.update(1))
    except OSError as error:
        raise click.ClickException(f"cannot write {error.filename or out}: {error}") from error
    except AzureError as error:
        raise click.ClickException(f"cannot write to the storage account: {error}") from error
    finally:
        sink.close()
    click.echo(_summary(totals, len(simulation.labels), labels_path, intel_path, listed), err=True)


def _summary(totals: Totals, labels: int, labels_path: Path, intel: Path, listed: int) -> str:
    return (
        f"simulated {totals.flows} flows in {totals.records} records, {totals.blobs} blobs "
        f"over {totals.hours} hours; {labels} labels in {labels_path}; "
        f"threat-intel feed {intel} ({listed} scenario addresses)"
    )
