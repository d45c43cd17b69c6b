"""The ClickHouse layout of the flow store, generated from ``formats.schema`` (never a second
hand-written list of columns).

``flows`` holds every stored column under its schema name, typed for ClickHouse's storage:
addresses as ``IPv6`` (IPv4 as IPv4-mapped, 16 bytes, a bloom filter apiece), repeated strings
as ``LowCardinality``, times with ``DoubleDelta`` and counters with ``T64``, each then ``ZSTD``.
It is a MergeTree partitioned by day and sorted by tenant, hour and resource, so a tenant's
time range is a contiguous read and rows of one NSG sit together (its rule, MAC, subscription
compress to almost nothing). ``TTL`` drops whole days past retention.

Two rollups, ``flows_1m`` and ``flows_1h``, hold per bucket the series (flows, bytes, denied)
and the same five top-list dimensions as DuckDB's ``flows_hourly`` (``rollups.py``, whose
dimension codes they share). Materialized views fill them on every insert into ``flows``, so
they can never miss a batch; they are SummingMergeTree tables, so rows of one key from several
inserts fold into one as parts merge (readers still ``sum``). Each has its own TTL.

With a cluster name, every statement runs ``ON CLUSTER``, the tables are Replicated and
``flows`` is a Distributed table over ``flows_local`` (likewise the rollups).
"""

import re
from dataclasses import dataclass

import pyarrow as pa

from flowcdr.errors import FlowcdrError
from flowcdr.formats.schema import STORED_SCHEMA
from flowcdr.store import rollups

ADDRESSES = ("src_ip", "dst_ip")
"""Stored as IPv6; read back as the canonical text ``formats`` writes (``address_text``)."""
SKIPPED = ("src_ip", "dst_ip", "src_port", "dst_port")
"""Columns with a bloom-filter skipping index: the filters that look for a needle."""
ROLLUPS = {"flows_1m": 60, "flows_1h": 3600}
"""Rollup table -> bucket seconds; the finest is fed by the flows, the others by it."""
FINEST = "flows_1m"
# Inserts remembered for deduplication by token on a non-replicated MergeTree (a batch of
# several days is several blocks). Replicated tables keep their own window (default 1000).
DEDUP_WINDOW = 10_000
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Layout:
    """Where and how long: the database, an optional cluster, the retentions in days."""

    database: str = "flowcdr"
    cluster: str | None = None
    flows_days: int = 30
    minute_days: int = 30
    hour_days: int = 400

    def __post_init__(self) -> None:
        for name in ("database", "cluster"):
            value = getattr(self, name)
            if value is not None and not _IDENTIFIER.fullmatch(value):
                raise FlowcdrError(
                    f"clickhouse {name} {value!r}: use letters, digits and underscores"
                )
        for name in ("flows_days", "minute_days", "hour_days"):
            if getattr(self, name) < 1:
                raise FlowcdrError(f"clickhouse {name} must be at least 1")
        if not self.flows_days <= self.minute_days <= self.hour_days:
            # The insights read a rollup in place of the flows of its buckets.
            raise FlowcdrError(
                "clickhouse rollups must be kept at least as long as the flows, the hourly "
                f"at least as long as the minute ones: got flows {self.flows_days}, minute "
                f"{self.minute_days}, hour {self.hour_days} days"
            )


def address_text(column: str) -> str:
    """SQL: an IPv6 column as ``formats``' text, IPv4-mapped addresses as dotted IPv4 (the only
    text ClickHouse writes with dots)."""
    return f"replaceRegexpOne(IPv6NumToString({column}), '^::ffff:([0-9]+[.][0-9.]+)', '\\\\1')"


def column_type(field: pa.Field) -> str:
    """The ClickHouse type and codec of a stored column."""
    kind = field.type

    def nullable(name: str) -> str:
        return f"Nullable({name})" if field.nullable else name

    if field.name in ADDRESSES:
        return "IPv6 CODEC(ZSTD(1))"
    if pa.types.is_dictionary(kind) or pa.types.is_string(kind):
        return f"LowCardinality({nullable('String')})"
    if pa.types.is_timestamp(kind):
        time = nullable("DateTime64(6, 'UTC')")
        return f"{time} CODEC(DoubleDelta, ZSTD(1))"
    integer = {pa.int8(): "Int8", pa.uint8(): "UInt8", pa.uint16(): "UInt16"}
    if kind in integer:
        return f"{nullable(integer[kind])} CODEC(T64, ZSTD(1))"
    if kind == pa.uint64():
        return f"{nullable('UInt64')} CODEC(T64, ZSTD(1))"
    raise ValueError(f"no ClickHouse type for column {field.name} ({kind})")


def _on(layout: Layout) -> str:
    return f" ON CLUSTER {_name(layout.cluster)}" if layout.cluster else ""


def _name(identifier: str) -> str:
    """A database or cluster name from settings, quoted as an identifier."""
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _engine(layout: Layout, table: str, kind: str = "MergeTree") -> str:
    if layout.cluster:
        path = f"/clickhouse/tables/{{shard}}/{layout.database}/{table}"
        return f"Replicated{kind}('{path}', '{{replica}}')"
    return f"{kind}()"


def _stored(layout: Layout, table: str) -> str:
    """The table holding rows: ``table`` alone, or its ``_local`` shard under a cluster."""
    return f"{table}_local" if layout.cluster else table


# How rows are spread over shards: by a hash of their content, not at random, so a retried
# batch splits into the same blocks per shard and each shard's deduplication drops its block.
SHARDING = {
    "flows": "cityHash64(src_ip, dst_ip, src_port, dst_port)",
    "flows_1m": "cityHash64(tenant_id, dimension, value)",
    "flows_1h": "cityHash64(tenant_id, dimension, value)",
    "ingest_batches": "cityHash64(tenant_id, idempotency_key)",
    "ingest_replays": "cityHash64(tenant_id, idempotency_key)",
}


def _distributed(layout: Layout, table: str) -> list[str]:
    if not layout.cluster:
        return []
    database, cluster = _name(layout.database), _name(layout.cluster)
    return [
        f"CREATE TABLE IF NOT EXISTS {database}.{table}{_on(layout)} "
        f"AS {database}.{table}_local "
        f"ENGINE = Distributed({cluster}, {database}, {table}_local, {SHARDING[table]})"
    ]


def _dedup(layout: Layout, lead: str) -> str:
    """Deduplication by token on a non-replicated table (replicated ones always have it); the
    rollups need it too, or a replayed insert's materialized-view blocks would count twice."""
    return "" if layout.cluster else f"{lead}non_replicated_deduplication_window = {DEDUP_WINDOW}"


def flows_ddl(layout: Layout) -> list[str]:
    database = _name(layout.database)
    table = _stored(layout, "flows")
    columns = [f"    {f.name} {column_type(f)}" for f in STORED_SCHEMA]
    indexes = [
        f"    INDEX {name}_bloom {name} TYPE bloom_filter(0.01) GRANULARITY 4" for name in SKIPPED
    ]
    return [
        f"CREATE TABLE IF NOT EXISTS {database}.{table}{_on(layout)} (\n"
        + ",\n".join(columns + indexes)
        + f"\n) ENGINE = {_engine(layout, table)}\n"
        "PARTITION BY toDate(time)\n"
        "ORDER BY (tenant_id, toStartOfHour(time), resource_id, time)\n"
        f"TTL toDateTime(time) + INTERVAL {int(layout.flows_days)} DAY\n"
        f"SETTINGS ttl_only_drop_parts = 1{_dedup(layout, ', ')}",
        *_distributed(layout, "flows"),
    ]


_REMOTE_COUNTRY = "if(direction = 'inbound', src_country, dst_country)"
# (dimension code, value, protocol, condition): the rollups of ``rollups.py`` in ClickHouse.
_PARTS = (
    (rollups.SERIES, "''", "0", "1"),
    (rollups.TALKERS, "src", "0", "1"),
    (rollups.PORTS, "toString(dst_port)", "protocol", "1"),
    (rollups.COUNTRIES, f"assumeNotNull({_REMOTE_COUNTRY})", "0", f"{_REMOTE_COUNTRY} IS NOT NULL"),
    (rollups.RULES, "assumeNotNull(rule)", "0", "rule IS NOT NULL"),
    (rollups.DENIED_SOURCES, "src", "0", "decision = 'deny'"),
)


def rollup_ddl(layout: Layout, name: str, seconds: int, days: int) -> list[str]:
    """A rollup table, and the view that fills it on every insert into its source.

    One row per (tenant, bucket, dimension, value, protocol); ``protocol`` is 0 except for
    ports, and ``value`` is '' for the series. The minute rollup unfolds each inserted flow into
    its dimensions (one ``arrayJoin``, the source address turned to text once); the hour
    rollup sums the minute rollup's new rows, a small fraction of the flows.
    """
    database = _name(layout.database)
    table = _stored(layout, name)
    create = (
        f"CREATE TABLE IF NOT EXISTS {database}.{table}{_on(layout)} (\n"
        "    tenant_id LowCardinality(String),\n"
        "    bucket DateTime('UTC') CODEC(DoubleDelta, ZSTD(1)),\n"
        "    dimension UInt8,\n"
        "    value String CODEC(ZSTD(1)),\n"
        "    protocol UInt8,\n"
        "    flows UInt64 CODEC(T64, ZSTD(1)),\n"
        "    bytes UInt64 CODEC(T64, ZSTD(1)),\n"
        "    denied UInt64 CODEC(T64, ZSTD(1))\n"
        f") ENGINE = {_engine(layout, table, 'SummingMergeTree')}\n"
        "PARTITION BY toYYYYMM(bucket)\n"
        "ORDER BY (tenant_id, dimension, bucket, value, protocol)\n"
        f"TTL bucket + INTERVAL {int(days)} DAY{_dedup(layout, ' SETTINGS ')}"
    )
    view = f"CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{table}_mv{_on(layout)} "
    interval = f"INTERVAL {int(seconds)} SECOND"
    if name == FINEST:
        dimensions = ", ".join(
            f"({code}, toString({value}), toUInt8({protocol}), toUInt8({condition}))"
            for code, value, protocol, condition in _PARTS
        )
        # The dimensions are unfolded in a subquery: the outer aliases (protocol, value)
        # would otherwise shadow the columns the dimensions are computed from.
        select = (
            "SELECT tenant_id, bucket, tupleElement(d, 1) AS dimension, "  # noqa: S608 - names checked by Layout
            "tupleElement(d, 2) AS value, tupleElement(d, 3) AS protocol, count() AS flows, "
            "sum(b) AS bytes, sum(deny) AS denied\n"
            f"FROM (SELECT tenant_id, toStartOfInterval(time, {interval}) AS bucket, "
            "coalesce(src_bytes, 0) + coalesce(dst_bytes, 0) AS b, "
            "toUInt64(decision = 'deny') AS deny, "
            f"arrayJoin([{dimensions}]) AS d "
            f"FROM (SELECT *, {address_text('src_ip')} AS src "
            f"FROM {database}.{_stored(layout, 'flows')}))\n"
            "WHERE tupleElement(d, 4) = 1\n"
            "GROUP BY tenant_id, bucket, dimension, value, protocol"
        )
    else:
        # Summed by the coarser bucket under another name, which becomes ``bucket`` only
        # in the output: the minute rollup's own ``bucket`` column is in scope too.
        select = (
            "SELECT tenant_id, coarse AS bucket, dimension, value, protocol, "  # noqa: S608 - names checked by Layout
            "sum(flows) AS flows, sum(bytes) AS bytes, sum(denied) AS denied\n"
            f"FROM (SELECT tenant_id, toStartOfInterval(bucket, {interval}) AS coarse, "
            "dimension, value, protocol, flows, bytes, denied "
            f"FROM {database}.{_stored(layout, FINEST)})\n"
            "GROUP BY tenant_id, coarse, dimension, value, protocol"
        )
    return [create, f"{view}TO {database}.{table} AS\n{select}", *_distributed(layout, name)]


def batches_ddl(layout: Layout) -> list[str]:
    """Admitted batches (idempotency keys with their answers) and replays of them.

    A ReplacingMergeTree keyed by (tenant, key): two gateways admitting the same key at once
    both write it, and the copies fold into one; readers use ``FINAL`` or ``any``. Replays are
    rows of their own, counted by readers, so nothing is ever updated in place.
    """
    database = _name(layout.database)
    batches, replays = _stored(layout, "ingest_batches"), _stored(layout, "ingest_replays")
    return [
        f"CREATE TABLE IF NOT EXISTS {database}.{batches}{_on(layout)} (\n"
        "    tenant_id String,\n"
        "    idempotency_key String,\n"
        "    connector_id Nullable(String),\n"
        "    source String,\n"
        "    admitted_at DateTime64(6, 'UTC'),\n"
        "    answer String,\n"
        "    flows UInt64,\n"
        "    rejected UInt64\n"
        f") ENGINE = {_engine(layout, batches, 'ReplacingMergeTree')}\n"
        "ORDER BY (tenant_id, idempotency_key)",
        f"CREATE TABLE IF NOT EXISTS {database}.{replays}{_on(layout)} (\n"
        "    tenant_id String,\n"
        "    idempotency_key String,\n"
        "    replayed_at DateTime64(6, 'UTC')\n"
        f") ENGINE = {_engine(layout, replays)}\n"
        "ORDER BY (tenant_id, idempotency_key)",
        *_distributed(layout, "ingest_batches"),
        *_distributed(layout, "ingest_replays"),
    ]


def ddl(layout: Layout) -> list[str]:
    """Every statement that creates the store, in order; each is idempotent."""
    return [
        f"CREATE DATABASE IF NOT EXISTS {_name(layout.database)}{_on(layout)}",
        *flows_ddl(layout),
        *rollup_ddl(layout, "flows_1m", ROLLUPS["flows_1m"], layout.minute_days),
        *rollup_ddl(layout, "flows_1h", ROLLUPS["flows_1h"], layout.hour_days),
        *batches_ddl(layout),
    ]
