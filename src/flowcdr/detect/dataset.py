"""Flows into a DuckDB ``flows`` table laid out exactly as the gateway's store keeps them.

Offline detection (``flowcdr detect``), the rule cases and the benchmark load parsed flows
here, enriched as ingest enriches them and with the threat-intel match filled in, so rules run
on the same table, columns and ENUM codes in every mode. DuckDB spills to disk past its memory
limit, which is what lets ten million flows go through a laptop-sized machine.
"""

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.detect.intel import Intel
from flowcdr.enrich import enrich, stamp
from flowcdr.enrich.ranges import AddressRanges
from flowcdr.formats.schema import FLOW_TYPES
from flowcdr.store.flows import FLOWS_DDL

OFFLINE_TENANT = "offline"
_MALICIOUS = FLOW_TYPES.index("malicious")


def open_dataset(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB database (in memory, or the file ``path``) with an empty-or-existing flows table."""
    db = duckdb.connect(str(path) if path else ":memory:")
    db.execute("SET enable_progress_bar = false")
    db.execute("SET TimeZone = 'UTC'")
    db.execute(FLOWS_DDL)
    return db


def with_intel(table: pa.Table, intel: Intel) -> pa.Table:
    """An ``ENRICHED_SCHEMA`` table with ``intel_match`` set from either end (the source's
    list first) and ``flow_type`` made ``malicious`` where it is. This is the call ingest
    makes after ``enrich`` once threat intel is loaded."""
    if not intel.lists:
        return table
    src = intel.match(table.column("src_ip"))
    dst = intel.match(table.column("dst_ip"))
    match = pc.coalesce(src, dst)
    hit = np.asarray(pc.is_valid(match).to_numpy(zero_copy_only=False), bool)
    flow_type = table.column("flow_type").combine_chunks()
    codes = np.array(flow_type.indices.to_numpy(), np.int8)
    codes[hit] = _MALICIOUS
    flow_type = pa.DictionaryArray.from_arrays(codes, flow_type.dictionary)
    schema = table.schema
    for name, column in (("intel_match", match.dictionary_encode()), ("flow_type", flow_type)):
        index = schema.get_field_index(name)
        table = table.set_column(index, schema.field(index), column)
    return table


def add_flows(
    db: duckdb.DuckDBPyConnection,
    flows: pa.Table,
    *,
    intel: Intel | None = None,
    azure: AddressRanges | None = None,
    tenant_id: str = OFFLINE_TENANT,
    ingested_at: dt.datetime | None = None,
) -> int:
    """Enrich (``azure``: Azure's published ranges), match intel, stamp and append a
    ``FLOW_SCHEMA`` table; returns the rows added."""
    table = enrich(flows, azure)
    if intel is not None:
        table = with_intel(table, intel)
    rows = table.num_rows
    batch = stamp(table, tenant_id, None, ingested_at)  # noqa: F841 - read by DuckDB by name
    db.execute("INSERT INTO flows SELECT * FROM batch")
    return int(rows)
