"""``parse_blob``: flow-log bytes in, normalized Arrow table and a report out."""

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from flowcdr.formats.columnar import tables
from flowcdr.formats.envelope import decode_records
from flowcdr.formats.errors import FormatError
from flowcdr.formats.records import Grouped, group_records
from flowcdr.formats.report import ParseReport, Skip
from flowcdr.formats.schema import FLOW_SCHEMA

# Tuple bytes per fast-path run: big enough that per-run costs vanish, small enough that the
# runs in flight (two being typed, one being prepared) stay a small fraction of the blob.
CHUNK_BYTES = 8 << 20


@dataclass(frozen=True)
class ParseResult:
    table: pa.Table
    report: ParseReport


def parse_blob(data: bytes, *, source: str = "<input>") -> ParseResult:
    """Parse a flow-log blob, a single record, or a fragment of committed blocks.

    NSG v1, NSG v2 and VNet v4 records may be mixed. Malformed tuples are rejected and counted,
    records of other categories or with a malformed envelope are skipped and counted, and an
    input cut mid-record yields every complete record. Raises FormatError (naming ``source``)
    only when the input is not a flow log at all.
    """
    with _cyclic_gc_paused():
        return _parse(data, source)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while parsing.

    A 200 MB blob decodes into hundreds of thousands of lists and tuples, none in a cycle; the
    collector would walk them again and again as they are made (about 8% of the parse). It is
    re-enabled afterwards only if it was enabled before, so nested or concurrent parses leave it
    as they found it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(data: bytes, source: str) -> ParseResult:
    decoded = decode_records(data, source)
    grouped = Grouped()
    report = ParseReport(source=source, cut=decoded.cut)
    groups = group_records(decoded.records, grouped)
    parts = list(tables(groups, grouped, report, CHUNK_BYTES))
    skipped = sorted(decoded.skipped + grouped.skipped)
    if grouped.flow_records == 0 and not (decoded.envelope and not skipped):
        reasons = "; ".join(reason for _, reason in skipped[:3]) or "no records"
        raise FormatError(source, f"not a flow log: {reasons}")
    for record, reason in skipped:
        report.skip(Skip(record, reason))
    table = pa.concat_tables(parts) if parts else FLOW_SCHEMA.empty_table()
    report.records = grouped.flow_records
    report.flows = table.num_rows
    return ParseResult(table, report)
