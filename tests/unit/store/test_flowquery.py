"""flowquery against DuckDB, checked against the same questions answered in Python.

The data is seeded flows of two tenants over two hours: few distinct timestamps (so many rows
tie), exact duplicate rows, and addresses chosen to be awkward for text-based CIDR matching
(IPv6 zero runs in every position, IPv4-mapped addresses, ``::``, prefixes near boundaries).
"""

import datetime as dt
import ipaddress
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowcdr.formats.schema import STORED_SCHEMA
from flowcdr.store import flowquery
from flowcdr.store.flowquery import Dimension, FilterError, FlowFilter, Measure, parse_network
from flowcdr.store.flows import Batch, DuckFlowStore

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
SPAN = dt.timedelta(hours=2)
TENANT, OTHER = "contoso", "fabrikam"
SUB, SUB2 = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e", "cccc0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
RESOURCES = tuple(
    f"/subscriptions/{sub}/resourcegroups/rg-{n}/providers/microsoft.network/"
    f"networksecuritygroups/nsg-{n}"
    for sub, n in ((SUB, "web"), (SUB, "db"), (SUB2, "jump"))
)
RULES = ("DefaultRule_DenyAllInBound", "UserRule_AllowHttps", "DefaultRule_AllowVnetOutBound")
ADDRESSES = (
    "10.0.0.4", "10.0.1.9", "10.255.255.255", "11.0.0.1", "9.255.255.255", "172.16.0.1",
    "172.31.255.254", "172.32.0.1", "192.168.1.1", "192.169.0.1", "0.0.0.0", "255.255.255.255",
    "100.64.0.1", "52.239.184.180", "94.102.49.190", "13.67.143.117", "1.2.3.4",
    "::", "::1", "1::", "::ffff:10.0.0.4", "::ffff:94.102.49.190", "::ffff:0.0.0.1",
    "64:ff9b::102:304",
    "2001:db8::1", "2001:db8:0:1::5", "2001:db8:1::", "2001:db9::1", "2001::1", "2001:0:1::1",
    "fd00::1", "fd00:db8:5::4", "fdff:ffff::1", "fe80::1", "fc00::", "2a01:4f8:c17:1::2",
    "2a01:4f8::", "a000::a0", "abc:0:0:1::", "0:0:1::1", "1:2:3:4:5:6:7:8", "ff02::1",
)  # fmt: skip
COUNTRIES = ("DE", "US", "NL", None)


def flow_rows(count: int, seed: int, tenant: str) -> list[dict[str, Any]]:
    """``count`` stored rows; one in ten is an exact copy of an earlier row."""
    rng = random.Random(seed)
    stamps = [
        T0 + dt.timedelta(seconds=rng.randrange(int(SPAN.total_seconds()))) for _ in range(25)
    ]
    rows: list[dict[str, Any]] = []
    while len(rows) < count:
        if rows and rng.random() < 0.1:
            rows.append(dict(rng.choice(rows)))
            continue
        decision = rng.choice(("allow", "deny"))
        counted = decision == "allow" and rng.random() < 0.7
        resource = rng.choice(RESOURCES)
        rows.append({
            "time": rng.choice(stamps), "log_type": "nsg", "log_version": 2,
            "subscription_id": resource.split("/")[2], "resource_group": resource.split("/")[4],
            "resource_id": resource, "acl_id": None, "rule": rng.choice((*RULES, None)),
            "mac": "000D3AF87856", "src_ip": rng.choice(ADDRESSES),
            "dst_ip": rng.choice(ADDRESSES), "src_port": rng.choice((22, 443, 50000, 0)),
            "dst_port": rng.choice((22, 443, 3389, 53)), "protocol": rng.choice((6, 17, 1)),
            "direction": rng.choice(("inbound", "outbound")), "decision": decision,
            "state": rng.choice(("begin", "end", "deny", None)), "encryption": None,
            "src_packets": rng.randrange(1, 50) if counted else None,
            "src_bytes": rng.randrange(40, 10**6) if counted else None,
            "dst_packets": rng.randrange(0, 50) if counted else None,
            "dst_bytes": rng.randrange(0, 10**12) if counted and rng.random() < 0.8 else None,
            "src_scope": rng.choice(("private", "public")),
            "dst_scope": rng.choice(("private", "public", "azure_platform")),
            "src_country": rng.choice(COUNTRIES), "dst_country": rng.choice(COUNTRIES),
            "flow_type": rng.choice(("intra_vnet", "external_public", "malicious")),
            "intel_match": None, "tenant_id": tenant, "connector_id": "conn-1",
            "ingested_at": T0 + SPAN,
        })  # fmt: skip
    return rows


def admit(store: DuckFlowStore, rows: list[dict[str, Any]], key: str) -> None:
    table = pa.Table.from_pylist(rows, schema=STORED_SCHEMA)
    store.admit(Batch(rows[0]["tenant_id"], key, table, {"flows": len(rows)}, "test"))
    store.flush()


def shown(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as a page shows it."""
    return {
        name: value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if isinstance(value, dt.datetime) else value
        for name, value in row.items()
        if name != "tenant_id"
    }


def bag(items: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(sorted(item.items())) for item in items)


def window(**filters: Any) -> FlowFilter:
    return FlowFilter(T0, T0 + SPAN, **filters)


def matches(row: dict[str, Any], f: FlowFilter, tenant: str = TENANT) -> bool:
    """The filter's meaning, in Python."""
    if row["tenant_id"] != tenant or not f.start <= row["time"] < f.end:
        return False
    for column, network in (("src_ip", f.src), ("dst_ip", f.dst)):
        if network is not None and ipaddress.ip_address(row[column]) not in network:
            return False
    ends = {ipaddress.ip_address(row["src_ip"]), ipaddress.ip_address(row["dst_ip"])}
    if f.hosts is not None and not ends & set(f.hosts):
        return False
    return all(
        getattr(f, name) is None or row[name] == getattr(f, name)
        for name in flowquery._EQUALS
        if name not in ("resource_id", "subscription_id", "src_country", "dst_country")
    ) and all(
        getattr(f, name) is None or str(row[name]).lower() == getattr(f, name).lower()
        for name in ("resource_id", "subscription_id", "src_country", "dst_country")
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckFlowStore, list[Any]]]:
    store = DuckFlowStore.open(Path(tmp_path_factory.mktemp("flows")) / "flows.duckdb")
    mine, theirs = flow_rows(600, 1, TENANT), flow_rows(200, 2, OTHER)
    admit(store, mine[:300], "a")
    admit(store, theirs, "b")
    admit(store, mine[300:], "c")
    # One flow just outside the window on each side.
    edges = [dict(mine[0], time=T0 - dt.timedelta(microseconds=1)), dict(mine[0], time=T0 + SPAN)]
    admit(store, edges, "d")
    yield store, [*mine, *theirs, *edges]
    store.close()


@pytest.fixture(scope="module")
def reader(data: tuple[DuckFlowStore, list[Any]]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = data[0].reader()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def rows(data: tuple[DuckFlowStore, list[Any]]) -> list[dict[str, Any]]:
    return data[1]


def walk(
    reader: duckdb.DuckDBPyConnection, f: FlowFilter, limit: int, tenant: str = TENANT,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """Every page of a result (from ``cursor`` on), and how many pages it took."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = flowquery.flows(reader, tenant, f, cursor=cursor, limit=limit)
        items += page.items
        pages += 1
        if page.next is None:
            return items, pages
        cursor = page.next


def expected(
    rows: list[dict[str, Any]], f: FlowFilter, tenant: str = TENANT
) -> list[dict[str, Any]]:
    return [shown(row) for row in rows if matches(row, f, tenant)]


@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_paging_walks_the_whole_result_once_newest_first(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], limit: int
) -> None:
    items, pages = walk(reader, window(), limit)
    want = expected(rows, window())
    assert bag(items) == bag(want)
    assert max(Counter(r["time"] for r in want).values()) > 20  # many rows share a time
    assert max(bag(want).values()) > 1  # and some rows are identical
    times = [item["time"] for item in items]
    assert times == sorted(times, reverse=True)
    assert pages == max(1, -(-len(want) // limit))


def test_paging_is_not_shifted_by_flows_arriving_meanwhile(
    tmp_path: Path, rows: list[dict[str, Any]]
) -> None:
    store = DuckFlowStore.open(tmp_path / "flows.duckdb")
    mine = [row for row in rows if row["tenant_id"] == TENANT][:200]
    admit(store, mine, "first")
    reader = store.reader()
    first = flowquery.flows(reader, TENANT, window(), limit=50)
    newer = [dict(row, time=T0 + SPAN - dt.timedelta(microseconds=1)) for row in mine[:30]]
    admit(store, newer, "second")
    rest, _ = walk(reader, window(), 50, cursor=first.next)
    assert bag(first.items + rest) == bag(expected(mine, window()))
    reader.close()
    store.close()


def test_a_tenant_sees_only_its_flows(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]
) -> None:
    theirs, _ = walk(reader, window(), 1000, tenant=OTHER)
    assert bag(theirs) == bag(expected(rows, window(), OTHER))
    assert walk(reader, window(), 1000, tenant="nobody")[0] == []
    for dimension in Dimension:
        assert flowquery.top(reader, "nobody", window(), dimension) == []
    assert flowquery.resources(reader, "nobody", window()) == []


FILTERS: list[tuple[str, Any, Any]] = [
    ("src_port", 22, 1),
    ("dst_port", 3389, 80),
    ("protocol", 17, 50),
    ("direction", "inbound", None),
    ("decision", "deny", None),
    ("state", "end", "continue"),
    ("rule", RULES[1], "NoSuchRule"),
    ("resource_id", RESOURCES[0].upper(), RESOURCES[0] + "x"),
    ("subscription_id", SUB.upper(), "bbbb0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"),
    ("src_scope", "public", "multicast"),
    ("dst_scope", "azure_platform", "loopback"),
    ("src_country", "de", "FR"),
    ("dst_country", "NL", "FR"),
    ("flow_type", "malicious", "azure_public"),
    ("src", parse_network("10.0.0.0/8", "src"), parse_network("10.0.0.5", "src")),
    ("dst", parse_network("2001:db8::/32", "dst"), parse_network("2001:db8::2", "dst")),
]


@pytest.mark.parametrize(("name", "present", "absent"), FILTERS, ids=[f[0] for f in FILTERS])
def test_every_filter(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], name: str, present: Any,
    absent: Any,
) -> None:  # fmt: skip
    total = len(expected(rows, window()))
    f = window(**{name: present})
    items, _ = walk(reader, f, 1000)
    assert bag(items) == bag(expected(rows, f))
    assert 0 < len(items) < total
    if absent is not None:
        assert walk(reader, window(**{name: absent}), 1000)[0] == []


def test_filters_combine(reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    f = window(decision="allow", dst_port=443, src=parse_network("0.0.0.0/0", "src"))
    items, _ = walk(reader, f, 1000)
    assert bag(items) == bag(expected(rows, f))
    assert items


NETWORKS = [
    "0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/7", "10.0.0.0/8", "172.16.0.0/12",
    "192.168.0.0/16", "192.168.0.0/15", "10.0.0.0/23", "10.0.0.4/31", "10.0.0.4/32",
    "255.255.255.255/32", "9.255.255.255/32", "::/0", "::/1", "8000::/1", "::/96", "::/127",
    "::ffff:0:0/96", "::ffff:10.0.0.0/104", "2001:db8::/32", "2001:db8::/33", "2001:db8::/48",
    "2001:db8:0:1::/64", "2001::/16", "2001::/32", "2000::/3", "fc00::/7", "fd00::/8",
    "fdff::/16", "fe80::/10", "a000::/4", "a000::/16", "abc::/16", "abc::/17", "0:0:1::/48",
    "2a01:4f8::/29", "2a01:4f8:c17::/48", "1:2:3:4:5:6:7:8/128", "1:2:3:4:5:6:7:0/125",
    "64:ff9b::/96", "ff00::/8", "2001:0:1::/48", "2001:db8::/31", "1::/16", "::1/127",
]  # fmt: skip


@pytest.mark.parametrize("text", NETWORKS)
def test_cidr_matches_as_ipaddress_does(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], text: str
) -> None:
    for f in (window(src=parse_network(text, "src")), window(dst=parse_network(text, "dst"))):
        assert bag(walk(reader, f, 1000)[0]) == bag(expected(rows, f))


@settings(max_examples=150, deadline=None)
@given(address=st.one_of(st.sampled_from(ADDRESSES), st.ip_addresses().map(str)), bits=st.data())
def test_any_network_matches_as_ipaddress_does(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], address: str, bits: st.DataObject
) -> None:
    width = ipaddress.ip_address(address).max_prefixlen
    prefix = bits.draw(st.integers(0, width))
    f = window(src=parse_network(f"{address}/{prefix}", "src"))
    assert bag(walk(reader, f, 1000)[0]) == bag(expected(rows, f))


def test_a_single_address_is_matched_in_its_canonical_form(
    reader: duckdb.DuckDBPyConnection,
) -> None:
    for text in ("::FFFF:0A00:0004", "::ffff:10.0.0.4", "2001:0db8:0000::0001"):
        items, _ = walk(reader, window(src=parse_network(text, "src")), 1000)
        assert items
        assert {item["src_ip"] for item in items} == {
            "::ffff:10.0.0.4" if "ffff" in text.lower() else "2001:db8::1"
        }


def test_the_window_is_start_inclusive_end_exclusive(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]
) -> None:
    early = FlowFilter(T0 - dt.timedelta(microseconds=1), T0)
    late = FlowFilter(T0 + SPAN, T0 + SPAN + dt.timedelta(microseconds=1))
    assert len(walk(reader, early, 10)[0]) == 1
    assert len(walk(reader, late, 10)[0]) == 1


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: window(direction="sideways"), "direction"),
        (lambda: window(src_scope="moon"), "src_scope"),
        (lambda: window(dst_port=65536), "dst_port"),
        (lambda: window(protocol=-1), "protocol"),
        (lambda: FlowFilter(T0, T0), "end"),
        (lambda: window(hosts=()), "hosts"),
        (lambda: FlowFilter(T0.replace(tzinfo=None), T0 + SPAN), "start"),
        (lambda: parse_network("10.0.0.0/33", "src"), "src"),
        (lambda: parse_network("fe80::1%eth0", "dst"), "dst"),
        (lambda: parse_network("10.0.0", "src"), "src"),
    ],
)
def test_bad_filters_name_their_field(build: Any, field: str) -> None:
    with pytest.raises(FilterError) as raised:
        build()
    assert raised.value.field == field


def test_missing_ends_default_to_the_last_hour() -> None:
    f = FlowFilter.build()
    assert f.end - f.start == dt.timedelta(hours=1)
    assert abs(f.end - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    naive = FlowFilter.build(end=dt.datetime(2026, 3, 1, 12))
    assert naive.start == dt.datetime(2026, 3, 1, 11, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "cursor", ["", "x", "bm90IGpzb24", "WzEsMiwzXQ", "WyJ4IiwxLDIsMyw0LDUsNiw3XQ"]
)
def test_a_bad_cursor_or_limit_is_refused(reader: duckdb.DuckDBPyConnection, cursor: str) -> None:
    with pytest.raises(FilterError) as raised:
        flowquery.flows(reader, TENANT, window(), cursor=cursor or "!!!")
    assert raised.value.field == "cursor"
    for limit in (0, flowquery.PAGE_MAX + 1):
        with pytest.raises(FilterError, match="limit"):
            flowquery.flows(reader, TENANT, window(), limit=limit)


# --- insights, against the same numbers computed in Python -----------------------------------


def volume(row: dict[str, Any]) -> int:
    return (row["src_bytes"] or 0) + (row["dst_bytes"] or 0)


def test_hosts_match_either_end(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]
) -> None:
    one, other = (ipaddress.ip_address(rows[i][end]) for i, end in ((0, "src_ip"), (5, "dst_ip")))
    f = window(hosts=(one, other))
    want = expected(rows, f)
    assert 0 < len(want) < len(expected(rows, window()))
    assert bag(walk(reader, f, 1000)[0]) == bag(want)


@pytest.mark.parametrize("f", [window(), window(decision="allow", src_scope="public")])
def test_timeseries(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], f: FlowFilter
) -> None:
    step, points = flowquery.timeseries(reader, TENANT, f)
    assert step == dt.timedelta(minutes=5)
    want = {T0 + n * step: [0, 0, 0, 0] for n in range(24)}
    for row in rows:
        if matches(row, f):
            time = row["time"]
            bucket = want[time.replace(minute=time.minute // 5 * 5, second=0, microsecond=0)]
            bucket[0] += 1
            bucket[1] += volume(row)
            bucket[2 if row["decision"] == "allow" else 3] += 1
    assert [(p.time, [p.flows, p.bytes, p.allowed, p.denied]) for p in points] == list(want.items())
    assert sum(p.flows for p in points) == len(expected(rows, f))


@pytest.mark.parametrize(
    "f",
    [
        FlowFilter(T0 - dt.timedelta(hours=5), T0 + SPAN + dt.timedelta(minutes=30)),
        FlowFilter(T0 - dt.timedelta(hours=5, minutes=10), T0 + dt.timedelta(minutes=70)),
        FlowFilter(T0 - dt.timedelta(hours=5), T0 + SPAN, decision="deny"),
    ],
)
def test_hourly_timeseries_from_rollups_and_flows(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], f: FlowFilter
) -> None:
    step, points = flowquery.timeseries(reader, TENANT, f)
    assert step == dt.timedelta(hours=1)
    want: dict[dt.datetime, list[int]] = {p.time: [0, 0, 0, 0] for p in points}
    for row in rows:
        if matches(row, f):
            bucket = want[row["time"].replace(minute=0, second=0, microsecond=0)]
            bucket[0] += 1
            bucket[1] += volume(row)
            bucket[2 if row["decision"] == "allow" else 3] += 1
    assert [[p.flows, p.bytes, p.allowed, p.denied] for p in points] == list(want.values())
    assert sum(p.flows for p in points) == len(expected(rows, f)) > 0


def test_timeseries_fills_every_bucket_of_an_odd_range(reader: duckdb.DuckDBPyConnection) -> None:
    f = FlowFilter(T0 + dt.timedelta(seconds=90), T0 + dt.timedelta(minutes=20, seconds=1))
    step, points = flowquery.timeseries(reader, TENANT, f)
    assert step == dt.timedelta(minutes=1)
    assert [p.time for p in points] == [T0 + dt.timedelta(minutes=m) for m in range(1, 21)]


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (dt.timedelta(minutes=1), dt.timedelta(minutes=1)),
        (dt.timedelta(hours=1), dt.timedelta(minutes=1)),
        (dt.timedelta(hours=1, seconds=1), dt.timedelta(minutes=5)),
        (dt.timedelta(hours=6), dt.timedelta(minutes=5)),
        (dt.timedelta(hours=7), dt.timedelta(hours=1)),
        (dt.timedelta(days=7), dt.timedelta(hours=1)),
        (dt.timedelta(days=8), dt.timedelta(days=1)),
    ],
)
def test_the_bucket_follows_the_range(span: dt.timedelta, step: dt.timedelta) -> None:
    assert flowquery.bucket_for(T0, T0 + span) == step


def python_top(
    rows: list[dict[str, Any]], f: FlowFilter, dimension: Dimension, by: Measure,
    tenant: str = TENANT,
) -> list[flowquery.Top]:  # fmt: skip
    totals: dict[tuple[Any, Any], list[int]] = {}
    for row in rows:
        if not matches(row, f, tenant):
            continue
        remote = row["src_country"] if row["direction"] == "inbound" else row["dst_country"]
        key = {
            Dimension.TALKERS: (row["src_ip"], None),
            Dimension.PORTS: (row["dst_port"], row["protocol"]),
            Dimension.COUNTRIES: (remote, None),
            Dimension.RULES: (row["rule"], None),
            Dimension.DENIED_SOURCES: (row["src_ip"] if row["decision"] == "deny" else None, None),
        }[dimension]
        if key[0] is not None:
            total = totals.setdefault(key, [0, 0])
            total[0] += 1
            total[1] += volume(row)
    first, second = (0, 1) if by == "flows" else (1, 0)
    ranked = sorted(
        totals.items(), key=lambda kv: (-kv[1][first], -kv[1][second], kv[0][0], kv[0][1] or 0)
    )
    return [flowquery.Top(key[0], key[1], n[0], n[1]) for key, n in ranked[:10]]


# Whole hours come from the hourly rollups and partial ones from the flows, unless another
# filter is set: aligned, unaligned at one end or both, and narrowed ranges cover every mix.
ROLLUP_MIXES = [
    window(),
    window(direction="outbound"),
    FlowFilter(T0 + dt.timedelta(minutes=17), T0 + SPAN),
    FlowFilter(T0 - dt.timedelta(hours=3), T0 + SPAN - dt.timedelta(minutes=1)),
    FlowFilter(T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=55)),
]


@pytest.mark.parametrize("dimension", list(Dimension))
@pytest.mark.parametrize("by", ["flows", "bytes"])
@pytest.mark.parametrize("f", ROLLUP_MIXES)
def test_top(
    reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], dimension: Dimension,
    by: Measure, f: FlowFilter,
) -> None:  # fmt: skip
    got = flowquery.top(reader, TENANT, f, dimension, by=by)
    assert got == python_top(rows, f, dimension, by)
    assert got


def python_resources(
    rows: list[dict[str, Any]], f: FlowFilter, tenant: str = TENANT
) -> list[flowquery.ResourceTraffic]:
    totals: dict[str, list[int]] = {}
    for row in rows:
        if matches(row, f, tenant):
            src, dst = row["src_bytes"] or 0, row["dst_bytes"] or 0
            inbound = row["direction"] == "inbound"
            total = totals.setdefault(row["resource_id"], [0, 0, 0])
            total[0] += 1
            total[1] += src if inbound else dst
            total[2] += dst if inbound else src
    want = [flowquery.ResourceTraffic(r, *n) for r, n in totals.items()]
    return sorted(want, key=lambda t: (-(t.bytes_in + t.bytes_out), -t.flows, t.resource_id))


def test_resources(reader: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    f = window(decision="allow")
    want = python_resources(rows, f)
    assert flowquery.resources(reader, TENANT, f) == want
    assert flowquery.resources(reader, TENANT, f, limit=1) == want[:1]
    with pytest.raises(FilterError, match="limit"):
        flowquery.resources(reader, TENANT, f, limit=flowquery.TOP_MAX + 1)
