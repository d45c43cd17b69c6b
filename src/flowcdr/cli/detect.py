"""``flowcdr detect``: flow-log files in, findings out, with no gateway.

The inputs are parsed, enriched and matched against the threat-intel files exactly as ingest
would, loaded into DuckDB (in memory, or ``--database FILE`` to keep it and let DuckDB spill
larger sets to disk), and every enabled rule runs once over every window of the data; each
finding's evidence then gets its first few flows as samples. Findings go to OUT or stdout,
one JSON object per line; progress and the summary go to stderr, whose
last line is always the summary. Exit status 2 says an input was unreadable or not a flow log
(each is named on stderr); the findings of the good inputs are still written.
"""

import datetime as dt
import os
import sys
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import click
import duckdb
import pyarrow as pa

import flowcdr.detections
from flowcdr.cli.parse import STDIN, expand, read
from flowcdr.detect.catalogue import load_rules
from flowcdr.detect.dataset import OFFLINE_TENANT, add_flows, open_dataset
from flowcdr.detect.export import EXPORT_FORMATS, ExportFormat, export_line
from flowcdr.detect.feeds import IntelError, read_feed
from flowcdr.detect.intel import Intel
from flowcdr.detect.runner import detect_offline
from flowcdr.detect.samples import with_samples
from flowcdr.detect.settings import DetectSettings, SettingsError
from flowcdr.enrich.ranges import AddressRanges
from flowcdr.enrich.servicetags import ServiceTagsError, read_service_tags
from flowcdr.formats import FormatError, parse_blob

# Parsed tables are loaded together once this many rows wait: one enrich and one insert per
# few hundred thousand rows instead of per blob.
LOAD_ROWS = 500_000
PROGRESS_SECONDS = 5.0


@dataclass
class Loaded:
    files: int = 0
    flows: int = 0
    failed: int = 0


@click.command("detect")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--intel",
    "intel_files",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Threat-intel list (plain IP/CIDR, CSV with an ip column, Feodo CSV, Spamhaus DROP "
    "JSON); repeat for several. The file's stem names the list.",
)
@click.option(
    "--service-tags",
    "service_tags_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Microsoft's 'Azure IP Ranges and Service Tags' JSON: flows to Azure's public "
    "services become azure_public instead of external_public.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="TOML detection settings: rules on/off, tunables, suppressions, intel_max_age_days.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Findings file (default: standard output).",
)
@click.option(
    "--format",
    "kind",
    type=click.Choice(EXPORT_FORMATS),
    default="ndjson",
    show_default=True,
    help="ndjson (flowcdr's finding fields), ocsf (Detection Finding) or ecs.",
)
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Load the flows into this DuckDB file instead of memory (kept afterwards).",
)
def detect(
    *,
    inputs: tuple[str, ...],
    intel_files: tuple[Path, ...],
    service_tags_file: Path | None,
    config_file: Path | None,
    output: Path | None,
    kind: ExportFormat,
    database: Path | None,
) -> None:
    """Run the detection catalogue over NSG and VNet flow-log files.

    INPUTS are files, directories (every *.json below them, such as a downloaded container)
    or - for standard input, as for flowcdr parse.
    """
    started = time.monotonic()
    try:
        settings = DetectSettings.read(config_file) if config_file else DetectSettings()
        intel = _load_intel(intel_files, settings)
        azure = _load_service_tags(service_tags_file) if service_tags_file else None
        rules = load_rules(flowcdr.detections)
        enabled = settings.enabled(rules)
    except (SettingsError, IntelError, ServiceTagsError) as error:
        raise click.ClickException(str(error)) from None
    db = open_dataset(database)
    try:
        loaded = _load(db, inputs, intel, azure)
        click.echo(f"running {len(enabled)} rules over {loaded.flows} flows", err=True)
        book = detect_offline(db, rules, enabled, OFFLINE_TENANT)
        findings = with_samples(db, OFFLINE_TENANT, list(book.findings()))
    finally:
        db.close()
    now = dt.datetime.now(dt.UTC)
    severities: Counter[str] = Counter()
    suppressed = 0
    try:
        with ExitStack() as stack:
            stream: TextIO = (
                stack.enter_context(output.open("w", encoding="utf-8")) if output else sys.stdout
            )
            for finding in findings:
                if settings.suppression_for(finding, now) is not None:
                    suppressed += 1
                    continue
                severities[finding.severity] += 1
                stream.write(export_line(replace(finding, tenant_id=None), kind))
            stream.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as error:
        raise click.ClickException(f"cannot write {output or '<stdout>'}: {error}") from error
    by_level = ", ".join(f"{severities[s]} {s}" for s in ("critical", "high", "medium", "low"))
    click.echo(
        f"detected {sum(severities.values())} findings ({by_level}); {suppressed} suppressed; "
        f"{loaded.flows} flows from {loaded.files} files; {len(enabled)} rules; "
        f"{time.monotonic() - started:.1f} s",
        err=True,
    )
    if loaded.failed:
        sys.exit(2)


def _load_intel(paths: tuple[Path, ...], settings: DetectSettings) -> Intel:
    lists = []
    for path in paths:
        feed = read_feed(path, max_age=settings.intel_max_age)
        stats = feed.stats
        click.echo(
            f"{path}: {stats.read} indicators, {stats.ranges} ranges as list {feed.name!r}; "
            f"{stats.invalid} invalid, {stats.stripped} private or bogon, {stats.expired} expired",
            err=True,
        )
        lists.append(feed)
    return Intel(tuple(lists))


def _load_service_tags(path: Path) -> AddressRanges:
    tags = read_service_tags(path)
    click.echo(
        f"{path}: {tags.cloud or 'unnamed'} cloud, change {tags.change_number}: {tags.tags} "
        f"service tags, {tags.prefixes} prefixes in {len(tags.ranges)} ranges",
        err=True,
    )
    return tags.ranges


def _load(
    db: duckdb.DuckDBPyConnection,
    inputs: tuple[str, ...],
    intel: Intel,
    azure: AddressRanges | None,
) -> Loaded:
    loaded = Loaded()
    waiting: list[pa.Table] = []
    rows = 0
    last_report = time.monotonic()
    for item in expand(inputs):
        name = "<stdin>" if item == STDIN else str(item)
        try:
            result = parse_blob(read(item), source=name)
        except OSError as error:
            click.echo(f"{name}: cannot read: {error.strerror or error}", err=True)
            loaded.failed += 1
            continue
        except FormatError as error:
            click.echo(str(error), err=True)
            loaded.failed += 1
            continue
        for warning in result.report.warnings():
            click.echo(warning, err=True)
        loaded.files += 1
        waiting.append(result.table)
        rows += result.table.num_rows
        if rows >= LOAD_ROWS:
            loaded.flows += add_flows(db, pa.concat_tables(waiting), intel=intel, azure=azure)
            waiting, rows = [], 0
        if time.monotonic() - last_report >= PROGRESS_SECONDS:
            click.echo(f"loaded {loaded.flows + rows} flows from {loaded.files} files", err=True)
            last_report = time.monotonic()
    if waiting:
        loaded.flows += add_flows(db, pa.concat_tables(waiting), intel=intel, azure=azure)
    return loaded
