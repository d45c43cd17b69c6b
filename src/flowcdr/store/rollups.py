"""Hourly rollups of the flows: what a day's dashboard reads instead of ten million rows.

The dashboard's default view (a day, no other filter) asks for the flow count, bytes and denied
count per hour, and the top talkers, ports, countries, rules and denied sources. Over a day of
ten million flows each of those is a full scan (250-480 ms here); over ``flows_hourly`` it is a
scan of the day's distinct values per hour. The merger adds a batch's rollup rows in the same
transaction as its flows, so the two never disagree; rows for one hour and value may come from
several merges, and readers sum them. Hours are whole hours since the Unix epoch (an integer),
so no time zone setting can shift a bucket.
"""

import datetime as dt

import duckdb

HOUR_US = 3_600_000_000

# What a rollup row counts: the whole hour (SERIES), or the hour's flows per one value of a
# dimension. The codes are stored; never renumber them.
SERIES, TALKERS, PORTS, COUNTRIES, RULES, DENIED_SOURCES = range(6)

HOURLY_DDL = """
CREATE TABLE IF NOT EXISTS flows_hourly (
    tenant_id VARCHAR NOT NULL,
    hour BIGINT NOT NULL,
    dimension UTINYINT NOT NULL,
    value VARCHAR,
    protocol UTINYINT,
    flows BIGINT NOT NULL,
    bytes HUGEINT NOT NULL,
    denied BIGINT NOT NULL
)"""

_BYTES = "coalesce(sum(src_bytes), 0) + coalesce(sum(dst_bytes), 0)"
_REMOTE_COUNTRY = "CASE WHEN direction = 'inbound' THEN src_country ELSE dst_country END"
# (dimension, value, protocol, condition) of each rollup; the same expressions as the live
# queries of ``flowquery`` (the tests hold both to the same Python reference).
_PARTS = (
    (SERIES, "NULL", "NULL", "TRUE"),
    (TALKERS, "src_ip", "NULL", "TRUE"),
    (PORTS, "CAST(dst_port AS VARCHAR)", "protocol", "TRUE"),
    (COUNTRIES, _REMOTE_COUNTRY, "NULL", f"{_REMOTE_COUNTRY} IS NOT NULL"),
    (RULES, "rule", "NULL", "rule IS NOT NULL"),
    (DENIED_SOURCES, "src_ip", "NULL", "decision = 'deny'"),
)


def rollup_insert(source: str) -> str:
    """SQL that adds the rollup rows of the flows in relation ``source`` (a fixed name in code,
    never input) to ``flows_hourly``."""
    selects = [  # every piece is a constant of this module
        f"SELECT tenant_id, epoch_us(time) // {HOUR_US} AS hour, {code} AS dimension, "  # noqa: S608
        f"{value} AS value, {protocol} AS protocol, count(*) AS flows, {_BYTES} AS bytes, "
        f"count(*) FILTER (WHERE decision = 'deny') AS denied FROM {source} "
        f"WHERE {condition} GROUP BY ALL"
        for code, value, protocol, condition in _PARTS
    ]
    return "INSERT INTO flows_hourly " + " UNION ALL ".join(selects)


def add_rollups(db: duckdb.DuckDBPyConnection, source: str) -> None:
    db.execute(rollup_insert(source))


def delete_before(db: duckdb.DuckDBPyConnection, cutoff: dt.datetime) -> None:
    """Retention: drop the hours wholly before ``cutoff`` (the hour holding it stays, as some
    of its flows do)."""
    hour = int(cutoff.timestamp() * 1_000_000) // HOUR_US
    db.execute("DELETE FROM flows_hourly WHERE hour < ?", [hour])
