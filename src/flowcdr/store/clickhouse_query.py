"""The read side of the flow store on ClickHouse: what ``flowquery`` answers on DuckDB, with
the same filters, results, ordering and cursors (the parity tests hold the two together).

The dataclasses, filter validation, cursors and time steps are ``flowquery``'s own; this module
only writes the SQL. Values travel as ``{name:Type}`` parameters; SQL text is put together from
column names of ``formats.schema`` and fixed fragments of this module.

Addresses are IPv6 columns: a filter compares them as addresses (a network is a range, the
bloom-filter index serves a single address), results show them as text. Insights read the
rollups where they can answer: with no filter but the time range, whole hours come from
``flows_1h``, whole minutes from ``flows_1m``, and only the partial minutes at the ends from
the flows.
"""

import datetime as dt
import ipaddress
import itertools
import json
from collections.abc import Iterator
from dataclasses import fields, replace
from typing import Any, Literal

import pyarrow as pa

from flowcdr.formats.schema import CLOSED_VALUES, DECISIONS, DIRECTIONS, STORED_SCHEMA
from flowcdr.store import flowquery as fq
from flowcdr.store import rollups
from flowcdr.store.clickhouse import Connection
from flowcdr.store.clickhouse_schema import ADDRESSES, address_text
from flowcdr.store.flows import ConnectorHealth, ResourceHealth

_INBOUND, _ = DIRECTIONS
_, _DENY = DECISIONS
_TIME = "DateTime64(6, 'UTC')"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAPPED_V4 = ipaddress.IPv6Network("::ffff:0:0/96")


class _Params:
    """Numbered ``{pN:Type}`` placeholders and the values they bind."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._names = (f"p{n}" for n in itertools.count())

    def add(self, value: Any, kind: str) -> str:
        name = next(self._names)
        self.values[name] = value
        return f"{{{name}:{kind}}}"


def _kind(name: str) -> str:
    """The parameter type a filter value of column ``name`` binds as."""
    field = STORED_SCHEMA.field(name)
    if pa.types.is_integer(field.type):
        return "Int64"
    return "String"


def _where(tenant_id: str, flow_filter: fq.FlowFilter, params: _Params) -> str:
    clauses = [
        f"tenant_id = {params.add(tenant_id, 'String')}",
        f"time >= {params.add(flow_filter.start, _TIME)}",
        f"time < {params.add(flow_filter.end, _TIME)}",
    ]
    for name in fq._EQUALS:
        value = getattr(flow_filter, name)
        if value is not None:
            clauses.append(f"{name} = {params.add(fq._stored_form(name, value), _kind(name))}")
    for column, network in (("src_ip", flow_filter.src), ("dst_ip", flow_filter.dst)):
        if network is not None:
            clauses.append(_in_network(column, network, params))
    if flow_filter.hosts is not None:
        marks = ", ".join(
            f"toIPv6({params.add(_as_v6(address), 'String')})" for address in flow_filter.hosts
        )
        clauses.append(f"(src_ip IN ({marks}) OR dst_ip IN ({marks}))")
    return " AND ".join(clauses)


def _as_v6(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return f"::ffff:{address}" if address.version == 4 else str(address)


def _in_network(column: str, network: fq.Network, params: _Params) -> str:
    """True where the address is in ``network``. IPv4 is stored IPv4-mapped, so an IPv4
    network is a range of mapped addresses; an IPv6 network leaves the mapped range out, as
    DuckDB's text matching never takes IPv4 text for an IPv6 network."""
    low = params.add(_as_v6(network.network_address), "String")
    if network.num_addresses == 1:
        return f"{column} = toIPv6({low})"
    high = params.add(_as_v6(network.broadcast_address), "String")
    clause = f"{column} BETWEEN toIPv6({low}) AND toIPv6({high})"
    if isinstance(network, ipaddress.IPv6Network) and network.overlaps(_MAPPED_V4):
        first = params.add(str(_MAPPED_V4.network_address), "String")
        last = params.add(str(_MAPPED_V4.broadcast_address), "String")
        clause += f" AND {column} NOT BETWEEN toIPv6({first}) AND toIPv6({last})"
    return f"({clause})"


def _select(select: str, where: str, rest: str = "") -> str:
    """The one place SQL text is put together: ``select`` and ``rest`` are fixed fragments of
    this module, ``where`` comes from ``_where``; every value is a parameter."""
    return f"SELECT {select} FROM flows WHERE {where} {rest}"  # noqa: S608 - see above


# --- pages and exports -----------------------------------------------------------------------


def _shown(name: str) -> str:
    """SQL for a column as ``flowquery`` shows it: times as ISO 8601 UTC text with a Z,
    addresses as text, everything else as stored."""
    if name in fq._TIMES:
        return f"formatDateTime({name}, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC')"
    if name in ADDRESSES:
        return address_text(name)
    return name


def _sorted(name: str) -> str:
    """SQL for a column as DuckDB sorts it: addresses as text, closed values (DuckDB ENUMs) in
    the order of their words, the rest as stored."""
    if name in ADDRESSES:
        return address_text(name)
    if name in CLOSED_VALUES:
        words = ", ".join(f"'{word}'" for word in CLOSED_VALUES[name])
        return f"indexOf([{words}], {name})"
    return name


_SHOWN = ", ".join(f"{_shown(name)} AS {name}" for name in fq.ROW_COLUMNS)
_ORDER = ", ".join(
    [f"{_sorted(name)} DESC" for name in fq._KEY]
    + [f"{_sorted(name)} DESC NULLS LAST" for name in fq.ROW_COLUMNS if name not in fq._KEY]
)
_KEY_TUPLE = "tuple({})".format(", ".join(_sorted(name) for name in fq._KEY[1:]))


def flows(
    reader: Connection,
    tenant_id: str,
    flow_filter: fq.FlowFilter,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> fq.Page:
    """A page of the tenant's matching flows, newest first (``flowquery.flows``)."""
    if not 1 <= limit <= fq.PAGE_MAX:
        raise fq.FilterError("limit", f"limit must be between 1 and {fq.PAGE_MAX}")
    params = _Params()
    where = _where(tenant_id, flow_filter, params)
    after, skip = fq._decode(cursor) if cursor is not None else (None, 0)
    if after is not None:
        at = params.add(after[0], _TIME)
        kinds = ["String", "String", "Int64", "Int64", "Int64", "String"]
        marks = ", ".join(params.add(v, k) for v, k in zip(after[1:], kinds, strict=True))
        where += f" AND time <= {at} AND (time < {at} OR {_KEY_TUPLE} <= tuple({marks}))"
    oldest = _oldest_needed(
        reader, where, params, needed=skip + limit, flow_filter=flow_filter, after=after
    )
    if oldest is not None:
        where += f" AND time >= {params.add(oldest, _TIME)}"
    rows = reader.rows(
        _select(
            f"{_SHOWN}, toUnixTimestamp64Micro(time)",
            where,
            f"ORDER BY {_ORDER} LIMIT {params.add(limit + 1, 'UInt64')} "
            f"OFFSET {params.add(skip, 'UInt64')}",
        ),
        params.values,
    )
    items = [dict(zip(fq.ROW_COLUMNS, row[:-1], strict=True)) for row in rows[:limit]]
    if len(rows) <= limit:
        return fq.Page(items, None)
    keys = [fq._key(row) for row in rows[:limit]]
    last = keys[-1]
    sent = keys.count(last) + (skip if last == after else 0)
    return fq.Page(items, fq._encode(last, sent))


# The ranges a page's rows are first looked for in, back from its newest possible row: a page
# of a dense filter lies in the last minutes, and scanning a day for it is most of its cost.
_LOOKBACKS = (dt.timedelta(hours=1), dt.timedelta(hours=6), dt.timedelta(days=1))


def _oldest_needed(
    reader: Connection,
    where: str,
    params: _Params,
    *,
    needed: int,
    flow_filter: fq.FlowFilter,
    after: tuple[Any, ...] | None,
) -> dt.datetime | None:
    """The time of the ``needed``-th newest matching row (0 is the newest), the oldest a page
    may need; None when fewer rows match. Looked for in growing ranges back from the newest
    possible row: when a range holds that row, every newer row is in the range too, so the
    answer is the one the whole filter would give."""
    newest = after[0] if after is not None else flow_filter.end
    offset = params.add(needed, "UInt64")
    for lookback in (*_LOOKBACKS, None):
        since = None if lookback is None else newest - lookback
        if since is not None and since <= flow_filter.start:
            since = None
        bounded = where if since is None else f"{where} AND time >= {params.add(since, _TIME)}"
        found = reader.rows(
            _select(
                "toUnixTimestamp64Micro(time)",
                bounded,
                f"ORDER BY time DESC LIMIT 1 OFFSET {offset}",
            ),
            params.values,
        )
        if found:
            return _moment(found[0][0])
        if since is None:
            return None
    return None


def export(
    reader: Connection,
    tenant_id: str,
    flow_filter: fq.FlowFilter,
    shape: Literal["columns", "lines"],
    *,
    batch_rows: int = 65536,
) -> pa.RecordBatchReader:
    """Every matching flow in page order (``flowquery.export``). The result is read whole
    before the first batch is handed on; JSON lines are written here, as DuckDB's
    ``json_object`` writes them."""
    params = _Params()
    where = _where(tenant_id, flow_filter, params)
    table = reader.query(_select(_SHOWN, where, f"ORDER BY {_ORDER}"), params.values)
    if shape == "lines":
        table = pa.table({"line": pa.array(_json_lines(table), pa.string())})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_rows))


def _json_lines(table: pa.Table) -> Iterator[str]:
    for row in table.to_pylist():
        yield json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n"


# --- insights --------------------------------------------------------------------------------

_BYTES = "sum(coalesce(src_bytes, 0)) + sum(coalesce(dst_bytes, 0))"
_RESOLUTIONS = (("flows_1h", rollups.HOUR_US), ("flows_1m", 60_000_000))
"""Rollup tables, coarsest first, with their bucket in microseconds."""
_NARROWING = tuple(f.name for f in fields(fq.FlowFilter) if f.name not in ("start", "end"))


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // fq._MICROSECOND


def _moment(micros: int) -> dt.datetime:
    return _EPOCH + micros * fq._MICROSECOND


def _plan(
    flow_filter: fq.FlowFilter, finest: int
) -> tuple[list[tuple[str, int, int]], list[fq.FlowFilter]]:
    """Which parts of the range each source answers: ``(rollup, first, end)`` spans in
    microseconds, coarsest rollup first, and the filters of what is left for the flows.

    Rollups answer only a filter of tenant and time, and only buckets no finer than
    ``finest`` microseconds (a chart's step) and wholly inside the range.
    """
    if any(getattr(flow_filter, name) is not None for name in _NARROWING):
        return [], [flow_filter]
    spans: list[tuple[str, int, int]] = []
    left = [(_micros(flow_filter.start), _micros(flow_filter.end))]
    for table, size in _RESOLUTIONS:
        if finest % size:
            continue
        rest = []
        for start, end in left:
            first, last = -(-start // size) * size, end // size * size
            if first >= last:
                rest.append((start, end))
                continue
            spans.append((table, first, last))
            rest += [(a, b) for a, b in ((start, first), (last, end)) if a < b]
        left = rest
    return spans, [replace(flow_filter, start=_moment(a), end=_moment(b)) for a, b in left]


def timeseries(
    reader: Connection, tenant_id: str, flow_filter: fq.FlowFilter
) -> tuple[dt.timedelta, list[fq.Point]]:
    """Flows, bytes, allowed and denied per step (``flowquery.timeseries``)."""
    step = fq.bucket_for(flow_filter.start, flow_filter.end)
    size = step // fq._MICROSECOND
    spans, parts = _plan(flow_filter, size)
    found: dict[int, tuple[int, int, int]] = {}
    for part in parts:
        params = _Params()
        where = _where(tenant_id, part, params)
        step_us = params.add(size, "Int64")
        sql = _select(
            f"intDiv(toUnixTimestamp64Micro(time), {step_us}) * {step_us} AS b, count(), "
            f"{_BYTES}, countIf(decision = {params.add(_DENY, 'String')})",
            where,
            "GROUP BY b",
        )
        fq._add_points(found, reader.rows(sql, params.values))
    for table, first, end in spans:
        params = _Params()
        step_us = params.add(size, "Int64")
        sql = (
            f"SELECT intDiv(toInt64(toUnixTimestamp(bucket)) * 1000000, {step_us}) * {step_us} "  # noqa: S608 - table names of this module
            f"AS b, sum(flows), sum(bytes), sum(denied) FROM {table} "
            f"WHERE tenant_id = {params.add(tenant_id, 'String')} "
            f"AND dimension = {params.add(rollups.SERIES, 'UInt8')} "
            f"AND bucket >= {params.add(_moment(first), _TIME)} "
            f"AND bucket < {params.add(_moment(end), _TIME)} GROUP BY b"
        )
        fq._add_points(found, reader.rows(sql, params.values))
    first = _micros(flow_filter.start) // size * size
    stop = -(-_micros(flow_filter.end) // size) * size
    points = []
    for bucket in range(first, stop, size):
        flows_, bytes_, denied = found.get(bucket, (0, 0, 0))
        points.append(fq.Point(_moment(bucket), flows_, int(bytes_), flows_ - denied, denied))
    return step, points


_COUNTRY = "if(direction = {inbound:String}, src_country, dst_country)"
# Dimension -> (value, protocol, condition): fixed SQL over schema columns. ``{inbound}`` and
# ``{deny}`` are bound by ``top``.
_GROUPS = {
    fq.Dimension.TALKERS: (address_text("src_ip"), "NULL", "1"),
    fq.Dimension.PORTS: ("toString(dst_port)", "protocol", "1"),
    fq.Dimension.COUNTRIES: (f"toString({_COUNTRY})", "NULL", f"{_COUNTRY} IS NOT NULL"),
    fq.Dimension.RULES: ("toString(rule)", "NULL", "rule IS NOT NULL"),
    fq.Dimension.DENIED_SOURCES: (address_text("src_ip"), "NULL", "decision = {deny:String}"),
}


def top(
    reader: Connection,
    tenant_id: str,
    flow_filter: fq.FlowFilter,
    dimension: fq.Dimension,
    *,
    by: fq.Measure = "flows",
    limit: int = 10,
) -> list[fq.Top]:
    """The first ``limit`` values of a dimension by flows or bytes (``flowquery.top``)."""
    fq._check_top_limit(limit)
    value, protocol, condition = _GROUPS[dimension]
    # Outer names differ from the inner columns: ClickHouse is told to prefer a column to an
    # alias of the same name (``SESSION_SETTINGS``), so ``sum(flows) AS flows`` would not sort.
    order = "n DESC, v DESC" if by == "flows" else "v DESC, n DESC"
    params = _Params()
    params.values |= {"inbound": _INBOUND, "deny": _DENY}
    spans, parts_ = _plan(flow_filter, rollups.HOUR_US)
    parts = [
        _select(
            f"{value} AS value, CAST({protocol} AS Nullable(UInt8)) AS protocol, "
            f"count() AS flows, {_BYTES} AS bytes",
            f"{_where(tenant_id, part, params)} AND {condition}",
            "GROUP BY value, protocol",
        )
        for part in parts_
    ]
    code = fq._ROLLUP_OF[dimension]
    shown_protocol = "protocol" if dimension is fq.Dimension.PORTS else "NULL"
    parts += [
        f"SELECT value, CAST({shown_protocol} AS Nullable(UInt8)) AS protocol, "  # noqa: S608 - table names of this module
        f"flows, bytes FROM {table} "
        f"WHERE tenant_id = {params.add(tenant_id, 'String')} "
        f"AND dimension = {params.add(code, 'UInt8')} "
        f"AND bucket >= {params.add(_moment(first), _TIME)} "
        f"AND bucket < {params.add(_moment(end), _TIME)}"
        for table, first, end in spans
    ]
    shown = "toInt64(value)" if dimension is fq.Dimension.PORTS else "value"
    sql = (
        f"SELECT {shown} AS shown, protocol, sum(flows) AS n, sum(bytes) AS v "  # noqa: S608 - parts from _select and constants
        f"FROM ({' UNION ALL '.join(parts)}) "
        f"GROUP BY shown, protocol ORDER BY {order}, shown, protocol "
        f"LIMIT {params.add(limit, 'UInt64')}"
    )
    rows = reader.rows(sql, params.values)
    return [fq.Top(row[0], row[1], int(row[2]), int(row[3])) for row in rows]


def resources(
    reader: Connection, tenant_id: str, flow_filter: fq.FlowFilter, *, limit: int = 10
) -> list[fq.ResourceTraffic]:
    """The resources that moved the most bytes (``flowquery.resources``)."""
    fq._check_top_limit(limit)
    params = _Params()
    inbound = params.add(_INBOUND, "String")
    sql = _select(
        "resource_id, count() AS n, "
        f"sum(if(direction = {inbound}, coalesce(src_bytes, 0), coalesce(dst_bytes, 0))) AS i, "
        f"sum(if(direction = {inbound}, coalesce(dst_bytes, 0), coalesce(src_bytes, 0))) AS o",
        _where(tenant_id, flow_filter, params),
        "GROUP BY resource_id ORDER BY i + o DESC, n DESC, resource_id "
        f"LIMIT {params.add(limit, 'UInt64')}",
    )
    return [
        fq.ResourceTraffic(resource_id, int(flows_), int(in_), int(out))
        for resource_id, flows_, in_, out in reader.rows(sql, params.values)
    ]


# --- data health -----------------------------------------------------------------------------


def source_health(
    reader: Connection, tenant_id: str
) -> tuple[list[ConnectorHealth], list[ResourceHealth]]:
    """What each connector delivered and how fresh each resource is (``flows.source_health``).

    A batch admitted by two gateways at once has two rows until they fold: each key counts once.
    """
    params = {"tenant": tenant_id}
    connectors = [
        ConnectorHealth(connector, int(batches), int(flows_), int(rejected), int(replays), at)
        for connector, batches, flows_, rejected, replays, at in reader.rows(
            "SELECT connector_id, count(), sum(flows), sum(rejected), "
            "sum(coalesce(replays, 0)), max(admitted_at) FROM ("
            "  SELECT idempotency_key, any(connector_id) AS connector_id, any(flows) AS flows, "
            "  any(rejected) AS rejected, min(admitted_at) AS admitted_at FROM ingest_batches "
            "  WHERE tenant_id = {tenant:String} GROUP BY idempotency_key"
            ") AS b LEFT JOIN ("
            "  SELECT idempotency_key, count() AS replays FROM ingest_replays "
            "  WHERE tenant_id = {tenant:String} GROUP BY idempotency_key"
            ") AS r USING (idempotency_key) "
            "GROUP BY connector_id ORDER BY connector_id NULLS FIRST",
            params,
        )
    ]
    resources = [
        ResourceHealth(connector, resource, int(count), last, ingested, float(lag))
        for connector, resource, count, last, ingested, lag in reader.rows(
            "SELECT connector_id, resource_id, count(), max(time), max(ingested_at), "
            "(toUnixTimestamp64Micro(argMax(ingested_at, time)) "
            "- toUnixTimestamp64Micro(max(time))) / 1e6 "
            "FROM flows WHERE tenant_id = {tenant:String} GROUP BY connector_id, resource_id "
            "ORDER BY connector_id NULLS FIRST, resource_id",
            params,
        )
    ]
    return connectors, resources
