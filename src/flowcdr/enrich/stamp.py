"""The last columns a flow gets before it is stored: whose it is, which connector, when admitted.

The gateway stamps every batch it admits, and ``flowcdr detect`` stamps what it loads offline,
with this one function, so both store exactly ``STORED_SCHEMA``.
"""

import datetime as dt

import numpy as np
import pyarrow as pa

from flowcdr.formats.schema import STAMP_FIELDS, STORED_SCHEMA, STRING, TIME

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def stamp(
    table: pa.Table,
    tenant_id: str,
    connector_id: str | None = None,
    ingested_at: dt.datetime | None = None,
) -> pa.Table:
    """An ``ENRICHED_SCHEMA`` table with ``STAMP_FIELDS`` added, in ``STORED_SCHEMA`` order.

    Tenant and connector are one-value dictionaries: a column of millions of indices into one
    string, not millions of strings.
    """
    rows = table.num_rows
    zeros = pa.array(np.zeros(rows, dtype=np.int32))
    tenant = pa.DictionaryArray.from_arrays(zeros, pa.array([tenant_id], pa.string()))
    connector = (
        pa.DictionaryArray.from_arrays(zeros, pa.array([connector_id], pa.string()))
        if connector_id
        else pa.nulls(rows, STRING)
    )
    moment = ingested_at or dt.datetime.now(dt.UTC)
    micros = (moment - _EPOCH) // dt.timedelta(microseconds=1)
    admitted = pa.array(np.full(rows, micros, dtype=np.int64)).cast(TIME)
    for field, column in zip(STAMP_FIELDS, (tenant, connector, admitted), strict=True):
        table = table.append_column(field, column)
    return table.select(STORED_SCHEMA.names)
