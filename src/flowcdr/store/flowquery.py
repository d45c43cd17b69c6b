"""The read side of the flow store: filtered pages of flows, whole-result exports, insights.

Sits between the DuckDB ``flows`` table (``store.flows``) and the query API and portal. Every
query is scoped to one tenant and takes one ``FlowFilter``, the same for pages, exports and
every chart, so a chart and the rows behind it always agree. Values only ever travel as
parameters; SQL text is put together in ``_select`` from column names of ``formats.schema``
and fixed fragments of this module.

IP addresses are stored as canonical text (``formats``), and CIDR filters need nothing more:
a single address is a text comparison, and a network a range over a sortable key computed in
SQL (a number for IPv4, 32 hex digits for IPv6), behind a text prefix that every member's
canonical text starts with, so the key is only computed for rows that may match.

Pages are newest first with keyset pagination (see ``flows`` for the cursor).
"""

import base64
import binascii
import datetime as dt
import enum
import ipaddress
import itertools
import json
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import duckdb
import pyarrow as pa

from flowcdr.errors import FlowcdrError
from flowcdr.formats.schema import CLOSED_VALUES, DECISIONS, DIRECTIONS, STORED_SCHEMA
from flowcdr.store import rollups
from flowcdr.store.clickhouse import Connection

PAGE_MAX = 1000
TOP_MAX = 100
DEFAULT_RANGE = dt.timedelta(hours=1)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Measure = Literal["flows", "bytes"]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
# The words the queries compare with (unpacking fails at import if the schema changes them).
_INBOUND, _ = DIRECTIONS
_, _DENY = DECISIONS


class FilterError(FlowcdrError):
    """A filter, cursor or limit the caller gave is not valid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _column(name: str) -> str:
    """A column name for SQL text; only names of the stored schema get through."""
    if name not in STORED_SCHEMA.names:
        raise ValueError(f"not a flow column: {name!r}")
    return name


# Filters that are one column equal to one value; the field and the column share the name.
_EQUALS = tuple(
    _column(name)
    for name in (
        "src_port", "dst_port", "protocol", "direction", "decision", "state", "rule",
        "resource_id", "subscription_id", "src_scope", "dst_scope", "src_country",
        "dst_country", "flow_type",
    )
)  # fmt: skip
_MAXIMA = {"src_port": 65535, "dst_port": 65535, "protocol": 255}


@dataclass(frozen=True)
class FlowFilter:
    """Which flows: ``start <= time < end`` and every other field that is set.

    ``src`` and ``dst`` are networks (a single address is a /32 or /128). ``hosts`` matches a
    flow with either end at one of its addresses: a machine's traffic both ways, as the
    inventory knows its addresses (``vm`` in the API). ARM ids match in any case (they are
    stored lower-case), country codes too (stored upper-case).
    """

    start: dt.datetime
    end: dt.datetime
    src: Network | None = None
    dst: Network | None = None
    src_port: int | None = None
    dst_port: int | None = None
    protocol: int | None = None
    direction: str | None = None
    decision: str | None = None
    state: str | None = None
    rule: str | None = None
    resource_id: str | None = None
    subscription_id: str | None = None
    src_scope: str | None = None
    dst_scope: str | None = None
    src_country: str | None = None
    dst_country: str | None = None
    flow_type: str | None = None
    hosts: tuple[Address, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            if getattr(self, name).utcoffset() is None:
                raise FilterError(name, f"{name} needs a time zone (Z for UTC)")
        if self.start >= self.end:
            raise FilterError("end", "end must be after start")
        if self.hosts is not None and not self.hosts:
            raise FilterError("hosts", "hosts needs at least one address")
        for name, words in CLOSED_VALUES.items():
            value = getattr(self, name, None)  # log_type is not a filter
            if value is not None and value not in words:
                raise FilterError(name, f"{name} must be one of {', '.join(words)}")
        for name, maximum in _MAXIMA.items():
            value = getattr(self, name)
            if value is not None and not 0 <= value <= maximum:
                raise FilterError(name, f"{name} must be between 0 and {maximum}")

    @classmethod
    def build(
        cls, start: dt.datetime | None = None, end: dt.datetime | None = None, **filters: Any
    ) -> "FlowFilter":
        """A filter whose missing ends default to the last hour (``end`` now, ``start`` an
        hour before ``end``); a time without a zone is taken as UTC."""
        end = _utc(end) if end else dt.datetime.now(dt.UTC)
        if start is None and end - dt.datetime.min.replace(tzinfo=dt.UTC) < DEFAULT_RANGE:
            raise FilterError("end", f"end: {end.isoformat()} leaves no hour before it")
        start = _utc(start) if start else end - DEFAULT_RANGE
        return cls(start, end, **filters)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=dt.UTC)


def parse_network(text: str, field: str) -> Network:
    """An address or CIDR (IPv4 or IPv6) from a caller. Host bits are ignored, so
    ``10.1.2.3/8`` means ``10.0.0.0/8``, as in most firewall consoles. Zone ids
    (``fe80::1%eth0``) are refused: flow logs never carry them."""
    if "%" in text:
        raise FilterError(field, f"{field}: {text!r} has a zone id; flow logs carry none")
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as error:
        raise FilterError(field, f"{field}: {error}") from None


# --- SQL text ------------------------------------------------------------------------------


def _select(select: str, where: str, rest: str = "") -> str:
    """The one place SQL text is put together: ``select`` and ``rest`` are fixed fragments of
    this module, ``where`` comes from ``_where``; every value is a ``?`` parameter."""
    return f"SELECT {select} FROM flows WHERE {where} {rest}"  # noqa: S608 - see above


def _where(tenant_id: str, flow_filter: FlowFilter) -> tuple[str, list[Any]]:
    clauses = ["tenant_id = ?", "time >= ?", "time < ?"]
    params: list[Any] = [tenant_id, flow_filter.start, flow_filter.end]
    for name in _EQUALS:
        value = getattr(flow_filter, name)
        if value is not None:
            clauses.append(f"{name} = ?")
            params.append(_stored_form(name, value))
    for column, network in (("src_ip", flow_filter.src), ("dst_ip", flow_filter.dst)):
        if network is not None:
            clause, values = _in_network(_column(column), network)
            clauses.append(clause)
            params.extend(values)
    if flow_filter.hosts is not None:
        texts = [_canonical(address) for address in flow_filter.hosts]
        marks = ", ".join("?" * len(texts))
        clauses.append(f"(src_ip IN ({marks}) OR dst_ip IN ({marks}))")
        params.extend([*texts, *texts])
    return " AND ".join(clauses), params


def _stored_form(name: str, value: Any) -> Any:
    if name in ("resource_id", "subscription_id"):
        return str(value).lower()
    if name in ("src_country", "dst_country"):
        return str(value).upper()
    return value


def _in_network(column: str, network: Network) -> tuple[str, list[Any]]:
    """SQL that is true when the address text in ``column`` is in ``network``.

    A single address is compared as canonical text. A network fixes some leading octets or
    groups and bounds the next one: the fixed ones are a text prefix (``10.1.`` or
    ``2001:db8:``), and the bounded one is read from the text after it, so a row costs a
    prefix test and at most one small number parsed. One case needs the whole address as a
    key: an IPv6 network whose fixed groups include a zero group, which the text may
    compress to ``::``; there the key is computed only for rows past the prefix before it.
    An IPv4 network never matches IPv6 text, IPv4-mapped ``::ffff:a.b.c.d`` included, as
    with Python's ``ipaddress``.
    """
    if network.num_addresses == 1:
        return f"{column} = ?", [_canonical(network.network_address)]
    if isinstance(network, ipaddress.IPv4Network):
        return _in_v4(column, network)
    return _in_v6(column, network)


def _canonical(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The text ``formats`` stores for an address (RFC 5952, IPv4-mapped in mixed notation)."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(address) if mapped is None else f"::ffff:{mapped}"


def _in_v4(column: str, network: ipaddress.IPv4Network) -> tuple[str, list[Any]]:
    whole, bits = divmod(network.prefixlen, 8)
    low, high = network.network_address.packed, network.broadcast_address.packed
    prefix = "".join(f"{octet}." for octet in low[:whole])
    clauses: list[str] = []
    params: list[Any] = []
    if prefix:
        clauses.append(f"starts_with({column}, ?)")
        params.append(prefix)
    if bits:
        # The octet after the prefix, as text; NULL (no match) for IPv6 text.
        octet = f"TRY_CAST(split_part({column}, '.', {whole + 1}) AS UTINYINT)"
        clauses.append(f"{octet} BETWEEN ? AND ?")
        params += [low[whole], high[whole]]
    return " AND ".join(clauses) or f"NOT contains({column}, ':')", params


def _in_v6(column: str, network: ipaddress.IPv6Network) -> tuple[str, list[Any]]:
    whole, bits = divmod(network.prefixlen, 16)
    low, high = (_groups(address) for address in (network[0], network[-1]))
    fixed = list(itertools.takewhile(bool, low[:whole]))
    prefix = "".join(f"{group:x}:" for group in fixed)
    guard = f"starts_with({column}, ?)" if prefix else f"contains({column}, ':')"
    params: list[Any] = [prefix] if prefix else []
    if len(fixed) < whole:  # a fixed zero group, which the text may write as ``::``
        bounds = [f"{int(address):032x}" for address in (network[0], network[-1])]
        return f"(CASE WHEN {guard} THEN {_v6_key(column)} END) BETWEEN ? AND ?", params + bounds
    if not bits:
        return guard, params
    # The group after the prefix: its hex digits, or 0 where ``::`` begins there.
    rest = f"substr({column}, {len(prefix) + 1})"
    value = (
        f"CASE WHEN starts_with({rest}, ':') THEN 0 "
        f"ELSE TRY_CAST('0x' || split_part({rest}, ':', 1) AS INTEGER) END"
    )
    return f"{guard} AND ({value}) BETWEEN ? AND ?", [*params, low[whole], high[whole]]


def _groups(address: ipaddress.IPv6Address) -> list[int]:
    return [int.from_bytes(address.packed[i : i + 2]) for i in range(0, 16, 2)]


def _v6_key(column: str) -> str:
    """SQL: IPv6 text as 32 lower-case hex digits, which sort as the addresses do.

    A dotted tail (``::ffff:1.2.3.4``) becomes two hex groups, ``::`` the zero groups it
    stands for, and every group is padded to four digits. Lambdas over one-element lists
    bind a value once where an expression would otherwise be repeated.
    """
    dotted = f"regexp_extract({column}, '[0-9.]+$')"
    octets = [f"CAST(split_part({dotted}, '.', {i}) AS INTEGER)" for i in range(1, 5)]
    tail = f"printf('%x:%x', {octets[0]} * 256 + {octets[1]}, {octets[2]} * 256 + {octets[3]})"
    hexed = (
        f"CASE WHEN contains({column}, '.') "
        f"THEN left({column}, length({column}) - length({dotted})) || {tail} ELSE {column} END"
    )
    present = "len(list_filter(string_split(a, ':'), lambda g: g <> ''))"
    full = f"trim(replace(a, '::', ':' || repeat('0:', 8 - {present})), ':')"
    padded = "array_to_string(list_transform(string_split(f, ':'), lambda g: lpad(g, 4, '0')), '')"
    return (
        f"list_transform([{hexed}], lambda a: list_transform([{full}], lambda f: {padded})[1])[1]"
    )


# --- pages and exports -----------------------------------------------------------------------

# What a flow row shows: every stored column but the tenant, which is the caller's own.
ROW_COLUMNS = tuple(name for name in STORED_SCHEMA.names if name != "tenant_id")
_TIMES = frozenset(field.name for field in STORED_SCHEMA if pa.types.is_timestamp(field.type))
# The keyset: newest first, then enough of the flow that ties are rare. Rows that tie on it
# are told apart by the count in the cursor (see ``flows``).
_KEY = tuple(
    _column(name)
    for name in ("time", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "resource_id")
)
_KEY_AT = tuple(ROW_COLUMNS.index(name) for name in _KEY[1:])
_ORDER = ", ".join(
    [f"{name} DESC" for name in _KEY]
    + [f"{name} DESC NULLS LAST" for name in ROW_COLUMNS if name not in _KEY]
)


def _shown(name: str) -> str:
    """SQL for a column as text formats show it: times in ISO 8601 UTC with a Z (whatever
    the connection's time zone), everything else as stored."""
    if name in _TIMES:
        return f"strftime(make_timestamp(epoch_us({name})), '%Y-%m-%dT%H:%M:%S.%fZ')"
    return name


_SHOWN = ", ".join(f"{_shown(name)} AS {name}" for name in ROW_COLUMNS)
_JSON_LINE = "json_object({}) || chr(10) AS line".format(
    ", ".join(f"'{name}', {_shown(name)}" for name in ROW_COLUMNS)
)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: str | None
    """The cursor of the following page; None on the last one."""


def flows(
    reader: duckdb.DuckDBPyConnection | Connection,
    tenant_id: str,
    flow_filter: FlowFilter,
    *,
    cursor: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of the tenant's matching flows, newest first.

    The cursor holds the key of the last row sent and how many rows with exactly that key
    were sent so far: the next page is the rows at or below that key, skipping that many.
    The order goes on over every column, so rows that tie on the key come in the same order
    every time, and rows alike in every column are interchangeable. A walk thus never
    repeats or skips a row, and newer flows arriving meanwhile do not shift it (as they
    would an offset). DuckDB's rowid is not used: it is not stable once retention deletes.
    """
    if isinstance(reader, Connection):  # the ClickHouse flow store
        from flowcdr.store import clickhouse_query

        return clickhouse_query.flows(reader, tenant_id, flow_filter, cursor=cursor, limit=limit)
    if not 1 <= limit <= PAGE_MAX:
        raise FilterError("limit", f"limit must be between 1 and {PAGE_MAX}")
    where, params = _where(tenant_id, flow_filter)
    after, skip = _decode(cursor) if cursor is not None else (None, 0)
    if after is not None:
        marks = ", ".join("?" for _ in _KEY[1:])
        where += f" AND time <= ? AND (time < ? OR ({', '.join(_KEY[1:])}) <= ({marks}))"
        params += [after[0], *after]
    # Sorting every match on every column is slow over a day; the page lies among the rows no
    # older than the last one it may need, which a sort on time alone finds in a few ms.
    needed = _select("epoch_us(time)", where, "ORDER BY time DESC LIMIT 1 OFFSET ?")
    oldest = reader.execute(needed, [*params, skip + limit]).fetchone()
    if oldest is not None:
        where += " AND time >= ?"
        params.append(_EPOCH + oldest[0] * _MICROSECOND)
    sql = _select(f"{_SHOWN}, epoch_us(time)", where, f"ORDER BY {_ORDER} LIMIT ? OFFSET ?")
    rows = reader.execute(sql, [*params, limit + 1, skip]).fetchall()
    items = [dict(zip(ROW_COLUMNS, row[:-1], strict=True)) for row in rows[:limit]]
    if len(rows) <= limit:
        return Page(items, None)
    keys = [_key(row) for row in rows[:limit]]
    last = keys[-1]
    sent = keys.count(last) + (skip if last == after else 0)
    return Page(items, _encode(last, sent))


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The keyset values of a page row (whose last value is its time in microseconds)."""
    return (_EPOCH + row[-1] * _MICROSECOND, *(row[i] for i in _KEY_AT))


def _encode(key: tuple[Any, ...], sent: int) -> str:
    text = json.dumps([_micros(key[0]), *key[1:], sent], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[tuple[Any, ...], int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        time, src_ip, dst_ip, src_port, dst_port, protocol, resource_id, sent = json.loads(text)
        numbers, texts = (time, src_port, dst_port, protocol, sent), (src_ip, dst_ip, resource_id)
        if not all(type(n) is int and abs(n) < 2**62 for n in numbers) or sent < 1:
            raise ValueError(cursor)
        if not all(type(t) is str for t in texts):
            raise ValueError(cursor)
        moment = _EPOCH + time * _MICROSECOND
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise FilterError("cursor", "cursor is not one this API gave") from None
    return (moment, src_ip, dst_ip, src_port, dst_port, protocol, resource_id), sent


def export(
    reader: duckdb.DuckDBPyConnection | Connection,
    tenant_id: str,
    flow_filter: FlowFilter,
    shape: Literal["columns", "lines"],
    *,
    batch_rows: int = 65536,
) -> pa.RecordBatchReader:
    """Every matching flow in page order, as Arrow batches DuckDB produces as they are read.

    ``columns``: the row columns, times as text (for CSV). ``lines``: one string column,
    ``line``, each value a JSON object and a newline, so NDJSON is the batches' bytes end to
    end and no row ever becomes a Python object.
    """
    if isinstance(reader, Connection):
        from flowcdr.store import clickhouse_query

        return clickhouse_query.export(reader, tenant_id, flow_filter, shape, batch_rows=batch_rows)
    where, params = _where(tenant_id, flow_filter)
    sql = _select(_SHOWN if shape == "columns" else _JSON_LINE, where, f"ORDER BY {_ORDER}")
    return reader.sql(sql, params=params).to_arrow_reader(batch_rows)


# --- insights --------------------------------------------------------------------------------

# Bytes of a group: two sums, not a sum of per-row coalesce and addition, which costs more.
_BYTES = "coalesce(sum(src_bytes), 0) + coalesce(sum(dst_bytes), 0)"
# (range up to, step): a chart gets between about 24 and 360 points.
_BUCKETS = (
    (dt.timedelta(hours=1), dt.timedelta(minutes=1)),
    (dt.timedelta(hours=6), dt.timedelta(minutes=5)),
    (dt.timedelta(days=7), dt.timedelta(hours=1)),
)


# A chart's steps: more than ten years of days (the longest retention), while a caller's
# range of millennia would be millions of points built in memory and sent.
MAX_POINTS = 4000


def bucket_for(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """The time-series step of a range: 1 min up to 1 h, 5 min up to 6 h, 1 h up to 7 d,
    else 1 day."""
    return next((step for upto, step in _BUCKETS if end - start <= upto), dt.timedelta(days=1))


@dataclass(frozen=True)
class Point:
    time: dt.datetime
    flows: int
    bytes: int
    allowed: int
    denied: int


def timeseries(
    reader: duckdb.DuckDBPyConnection | Connection, tenant_id: str, flow_filter: FlowFilter
) -> tuple[dt.timedelta, list[Point]]:
    """Flows, bytes, allowed and denied flows per step, for every step from the one holding
    ``start`` to the one holding the end, empty ones as zeros (a chart needs no gaps). Steps
    are aligned on the Unix epoch, in UTC whatever the connection's time zone."""
    if isinstance(reader, Connection):
        from flowcdr.store import clickhouse_query

        return clickhouse_query.timeseries(reader, tenant_id, flow_filter)
    step = bucket_for(flow_filter.start, flow_filter.end)
    if flow_filter.end - flow_filter.start > step * MAX_POINTS:
        raise FilterError("start", f"start: a time series has at most {MAX_POINTS} steps of"
                          f" {step}; narrow the range")  # fmt: skip
    size = step // _MICROSECOND
    hours = _whole_hours(flow_filter) if size % rollups.HOUR_US == 0 else None
    found: dict[int, tuple[int, int, int]] = {}
    for part in _edges(flow_filter, hours):
        where, params = _where(tenant_id, part)
        sql = _select(
            f"epoch_us(time) // ? * ? AS bucket, count(*), {_BYTES}, "
            "count(*) FILTER (WHERE decision = ?)",
            where,
            "GROUP BY bucket",
        )
        # Decisions are allow or deny, so counting the denied ones is enough.
        _add_points(found, reader.execute(sql, [size, size, _DENY, *params]).fetchall())
    if hours is not None:
        rows = reader.execute(
            "SELECT hour * ? // ? * ? AS bucket, sum(flows), sum(bytes), sum(denied) "
            "FROM flows_hourly WHERE tenant_id = ? AND dimension = ? AND hour >= ? AND hour < ? "
            "GROUP BY bucket",
            [rollups.HOUR_US, size, size, tenant_id, rollups.SERIES, *hours],
        ).fetchall()
        _add_points(found, rows)
    first = _micros(flow_filter.start) // size * size
    stop = -(-_micros(flow_filter.end) // size) * size
    points = []
    for bucket in range(first, stop, size):
        flows_, bytes_, denied = found.get(bucket, (0, 0, 0))
        moment = _EPOCH + bucket * _MICROSECOND
        points.append(Point(moment, flows_, int(bytes_), flows_ - denied, denied))
    return step, points


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _add_points(found: dict[int, tuple[int, int, int]], rows: list[tuple[Any, ...]]) -> None:
    for bucket, flows_, bytes_, denied in rows:
        had = found.get(bucket, (0, 0, 0))
        found[bucket] = (had[0] + int(flows_), had[1] + int(bytes_), had[2] + int(denied))


# Fields of a filter other than its time range: when none is set, whole hours of the range
# can be read from the hourly rollups instead of the flows.
_NARROWING = tuple(f.name for f in fields(FlowFilter) if f.name not in ("start", "end"))


def _whole_hours(flow_filter: FlowFilter) -> tuple[int, int] | None:
    """``[first, last)`` hours (since the epoch) wholly inside the range, when the rollups can
    answer for them: nothing but tenant and time filters, and at least one whole hour."""
    if any(getattr(flow_filter, name) is not None for name in _NARROWING):
        return None
    first = -(-_micros(flow_filter.start) // rollups.HOUR_US)
    last = _micros(flow_filter.end) // rollups.HOUR_US
    return (first, last) if first < last else None


def _edges(flow_filter: FlowFilter, hours: tuple[int, int] | None) -> list[FlowFilter]:
    """The parts of the range read from the flows: all of it, or the partial hours at either
    end of the whole hours the rollups answer for."""
    if hours is None:
        return [flow_filter]
    first = _EPOCH + hours[0] * rollups.HOUR_US * _MICROSECOND
    last = _EPOCH + hours[1] * rollups.HOUR_US * _MICROSECOND
    parts = []
    if flow_filter.start < first:
        parts.append(replace(flow_filter, end=first))
    if last < flow_filter.end:
        parts.append(replace(flow_filter, start=last))
    return parts


class Dimension(enum.StrEnum):
    """What a top list ranks."""

    TALKERS = "talkers"
    """Source addresses."""
    PORTS = "ports"
    """Destination ports, with their protocol."""
    COUNTRIES = "countries"
    """Country of the remote end: the source of inbound flows, the destination of outbound."""
    RULES = "rules"
    DENIED_SOURCES = "denied-sources"
    """Source addresses of denied flows."""


@dataclass(frozen=True)
class _Group:
    """How a dimension groups: value (and protocol) expressions and a condition, fixed SQL
    over schema columns, each with the parameters it takes."""

    value: str
    condition: str = "TRUE"
    protocol: str = "NULL"
    value_params: tuple[str, ...] = ()
    condition_params: tuple[str, ...] = ()


_COUNTRY = "CASE WHEN direction = ? THEN src_country ELSE dst_country END"
_GROUPS = {
    Dimension.TALKERS: _Group("src_ip"),
    Dimension.PORTS: _Group("dst_port", protocol="protocol"),
    Dimension.COUNTRIES: _Group(
        _COUNTRY, f"{_COUNTRY} IS NOT NULL", value_params=(_INBOUND,), condition_params=(_INBOUND,)
    ),
    Dimension.RULES: _Group("rule", "rule IS NOT NULL"),
    Dimension.DENIED_SOURCES: _Group("src_ip", "decision = ?", condition_params=(_DENY,)),
}


_ROLLUP_OF = {
    Dimension.TALKERS: rollups.TALKERS,
    Dimension.PORTS: rollups.PORTS,
    Dimension.COUNTRIES: rollups.COUNTRIES,
    Dimension.RULES: rollups.RULES,
    Dimension.DENIED_SOURCES: rollups.DENIED_SOURCES,
}


@dataclass(frozen=True)
class Top:
    value: str | int
    protocol: int | None
    """The protocol of a destination port; None in other dimensions."""
    flows: int
    bytes: int


def top(
    reader: duckdb.DuckDBPyConnection | Connection,
    tenant_id: str,
    flow_filter: FlowFilter,
    dimension: Dimension,
    *,
    by: Measure = "flows",
    limit: int = 10,
) -> list[Top]:
    """The first ``limit`` values of a dimension by flows or by bytes (ties by value)."""
    if isinstance(reader, Connection):
        from flowcdr.store import clickhouse_query

        return clickhouse_query.top(reader, tenant_id, flow_filter, dimension, by=by, limit=limit)
    _check_top_limit(limit)
    group = _GROUPS[dimension]
    order = "flows DESC, bytes DESC" if by == "flows" else "bytes DESC, flows DESC"
    hours = _whole_hours(flow_filter)
    parts: list[str] = []
    values: list[Any] = []
    for part in _edges(flow_filter, hours):
        where, params = _where(tenant_id, part)
        parts.append(
            _select(
                f"CAST({group.value} AS VARCHAR) AS value, {group.protocol} AS protocol, "
                f"count(*) AS flows, {_BYTES} AS bytes",
                f"{where} AND {group.condition}",
                "GROUP BY ALL",
            )
        )
        values += [*group.value_params, *params, *group.condition_params]
    if hours is not None:
        parts.append(
            "SELECT value, protocol, flows, bytes FROM flows_hourly "
            "WHERE tenant_id = ? AND dimension = ? AND hour >= ? AND hour < ?"
        )
        values += [tenant_id, _ROLLUP_OF[dimension], *hours]
    # Rollups keep values as text; ports are ranked and returned as numbers, as stored.
    value = "CAST(value AS INTEGER)" if dimension is Dimension.PORTS else "value"
    sql = (
        f"SELECT {value} AS value, protocol, sum(flows) AS flows, sum(bytes) AS bytes "  # noqa: S608 - parts from _select and constants
        f"FROM ({' UNION ALL '.join(parts)}) "
        f"GROUP BY ALL ORDER BY {order}, value, protocol LIMIT ?"
    )
    rows = reader.execute(sql, [*values, limit]).fetchall()
    return [Top(row[0], row[1], int(row[2]), int(row[3])) for row in rows]


@dataclass(frozen=True)
class ResourceTraffic:
    """Bytes into and out of a resource: for an inbound flow the source's bytes come in, for
    an outbound flow they go out."""

    resource_id: str
    flows: int
    bytes_in: int
    bytes_out: int


def resources(
    reader: duckdb.DuckDBPyConnection | Connection,
    tenant_id: str,
    flow_filter: FlowFilter,
    *,
    limit: int = 10,
) -> list[ResourceTraffic]:
    """The resources that moved the most bytes (in and out together), ties by flows and id.

    DuckDB sums per resource and direction (a choice per row between two columns costs more
    than a group), and the two directions of each resource are put together here: there are
    two rows per resource at most."""
    if isinstance(reader, Connection):
        from flowcdr.store import clickhouse_query

        return clickhouse_query.resources(reader, tenant_id, flow_filter, limit=limit)
    _check_top_limit(limit)
    where, params = _where(tenant_id, flow_filter)
    sql = _select(
        "resource_id, direction, count(*), coalesce(sum(src_bytes), 0), "
        "coalesce(sum(dst_bytes), 0)",
        where,
        "GROUP BY ALL",
    )
    totals: dict[str, list[int]] = {}
    for resource_id, direction, flows_, sent, received in reader.execute(sql, params).fetchall():
        total = totals.setdefault(resource_id, [0, 0, 0])
        inbound = direction == _INBOUND
        total[0] += flows_
        total[1] += int(sent if inbound else received)
        total[2] += int(received if inbound else sent)
    ranked = sorted(
        totals.items(), key=lambda item: (-item[1][1] - item[1][2], -item[1][0], item[0])
    )
    return [ResourceTraffic(resource_id, *total) for resource_id, total in ranked[:limit]]


def _check_top_limit(limit: int) -> None:
    if not 1 <= limit <= TOP_MAX:
        raise FilterError("limit", f"limit must be between 1 and {TOP_MAX}")
