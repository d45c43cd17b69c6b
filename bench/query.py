"""Query benchmark: the flow API's queries over a day of flows, in DuckDB and in ClickHouse.

    .venv/bin/python bench/query.py [--flows 10000000] [--runs 20] [--seed 1] [--no-clickhouse]

Writes about ten million flows spread over the last 24 hours into a fresh gateway data dir
(build/bench/query/), through ``DuckFlowStore.admit`` as ingest would, and reports the store's
size per million flows. Then times every insights call and a filtered ``/flows`` page, for the
whole day and for one hour, calling ``flowquery`` directly (p50 and p95 over ``--runs`` runs
after a warm-up), and a few of the same through the ASGI app, to show what HTTP, sign-in
checks and JSON add.

The flows are built as Arrow columns with numpy, not by writing and parsing blobs (``parse.py``
measures that): generating ten million through JSON would take most of the time budget. The
traffic model is ``flowgen``'s, in bulk: about 40 resources with a few NICs each, internet
scanners hitting a deny rule, allowed inbound and outbound conversations with begin /
continue / end states, Zipf-like internet peers of which about 4% are IPv6, and 5% of the flows
belonging to a second tenant.

The same flows (same seed) then go into the ClickHouse store on chDB (``ClickFlowStore.admit``,
in this process, kept in build/bench/query/flows.chdb), and every call is timed there too and
printed beside DuckDB's with the ratio of the medians; its answers must equal DuckDB's. The
ClickHouse store's size is read from ``system.parts`` after ``OPTIMIZE TABLE ... FINAL`` (what
background merges reach), for the flows table alone and with the rollups.

Targets (p95: under 300 ms for a day, under 100 ms for an hour) are printed as PASS/MISS for
humans and never fail the run, as in ``parse.py``: a shared VM is too noisy for a timing gate.
A wrong answer (totals that disagree with what was generated, a page that breaks its filter,
the API disagreeing with the direct call) exits 1.
"""

import argparse
import datetime as dt
import ipaddress
import math
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi.testclient import TestClient

from flowcdr.api.app import create_app
from flowcdr.auth.passwords import hash_password
from flowcdr.config import Settings
from flowcdr.formats.schema import (
    DECISIONS,
    DIRECTIONS,
    FLOW_TYPES,
    SCOPES,
    STATES,
    STORED_SCHEMA,
    STRING,
    TIME,
)
from flowcdr.store import flowquery
from flowcdr.store.clickhouse import Connection
from flowcdr.store.clickhouse_flows import ClickFlowStore
from flowcdr.store.clickhouse_schema import Layout
from flowcdr.store.control import ControlStore
from flowcdr.store.flowquery import Dimension, FlowFilter
from flowcdr.store.flows import Batch, DuckFlowStore, StoreBusyError

DATA_DIR = Path(__file__).resolve().parent.parent / "build" / "bench" / "query"
BATCHES = 24
BUSY_WAIT_SECONDS = 0.2
"""One admitted batch per hour of the day, oldest first, as a collector would deliver."""
TARGETS_MS = {"day": 300.0, "hour": 100.0}
PASSWORD = "bench bench bench"
ASGI_RUNS = 10
DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)

RESOURCES = 40
SUBSCRIPTIONS = ("1f0e7a52-4d63-4f5a-9c1e-2b7d3c4a5e60", "2a1b8c63-5e74-4a6b-8d2f-3c8e4d5b6f71",
                 "3b2c9d74-6f85-4b7c-9e3a-4d9f5e6c7a82")  # fmt: skip
DENY_RULES = ("DefaultRule_DenyAllInBound", "UserRule_DenyRdpFromInternet")
IN_RULES = ("UserRule_AllowHttpsInBound", "UserRule_AllowSshFromCorp",
            "DefaultRule_AllowAzureLoadBalancerInBound")  # fmt: skip
OUT_RULE, VNET_IN_RULE, VNET_OUT_RULE = (
    "DefaultRule_AllowInternetOutBound", "DefaultRule_AllowVnetInBound",
    "DefaultRule_AllowVnetOutBound",
)  # fmt: skip
RULES = (*DENY_RULES, *IN_RULES, OUT_RULE, VNET_IN_RULE, VNET_OUT_RULE)
SCANNED_PORTS = np.array([22, 23, 80, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200])
IN_PORTS = np.array([443, 443, 80, 22, 3389])
OUT_PORTS = np.array([443, 443, 443, 80, 53, 123, 1433])
COUNTRIES = ("US", "CN", "RU", "DE", "NL", "GB", "FR", "BR", "IN", "JP", "KR", "SG", "IE", "SE")
DENY, ALLOW_IN, ALLOW_OUT, VNET = 0, 1, 2, 3
KIND_SHARES = (0.30, 0.25, 0.35, 0.10)


class World:
    """The seeded addresses, resources and NICs; ``flows`` draws rows from them in bulk.

    Every address is an entry of one dictionary (NIC IPv4, NIC IPv6, public IPv4, public
    IPv6), so the IP columns are dictionary indices, as ``formats`` produces them.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        nic_resource = np.repeat(np.arange(RESOURCES), rng.integers(1, 5, RESOURCES))
        self.nic_resource = nic_resource
        nics = len(nic_resource)
        subnet, host = rng.integers(0, 8, nics), rng.integers(4, 61, nics)
        where = list(zip(nic_resource, subnet, host, strict=True))
        nic_v4 = [f"10.{r}.{s}.{h}" for r, s, h in where]
        # IPv6 in the canonical text formats writes (RFC 5952), which both stores keep.
        nic_v6 = [str(ipaddress.IPv6Address(f"fd00:db8:{r:x}:{s:x}::{h:x}")) for r, s, h in where]
        v4_parts = rng.integers([1, 0, 0, 1], [224, 256, 256, 255], (50_000, 4))
        v6_parts = rng.integers([1, 0, 0, 1], [8, 65536, 65536, 65536], (2_500, 4))
        # Drawn addresses may repeat; a dictionary of distinct values is what formats makes.
        public_v4 = sorted({f"{a}.{b}.{c}.{d}" for a, b, c, d in v4_parts})
        public_v6 = sorted(
            {str(ipaddress.IPv6Address(f"2a0{a:x}:{b:x}:{c:x}::{d:x}")) for a, b, c, d in v6_parts}
        )
        self.nics, self.public_v4, self.public_v6 = nics, len(public_v4), len(public_v6)
        self.addresses = pa.array([*nic_v4, *nic_v6, *public_v4, *public_v6], pa.string())
        private = 2 * nics
        self.scope = np.full(len(self.addresses), SCOPES.index("public"), np.int8)
        self.scope[:private] = SCOPES.index("private")
        self.country = rng.integers(0, len(COUNTRIES), len(self.addresses)).astype(np.int32)
        self.country[:private] = -1
        self.macs = pa.array([f"000D3A{rng.integers(0, 1 << 24):06X}" for _ in range(nics)])
        self.resource_ids = pa.array(
            [
                f"/subscriptions/{SUBSCRIPTIONS[r % 3]}/resourcegroups/rg-app-{r % 7:02d}/providers"
                f"/microsoft.network/networksecuritygroups/nsg-app{r:03d}"
                for r in range(RESOURCES)
            ]
        )
        self.groups = pa.array([f"rg-app-{r % 7:02d}" for r in range(RESOURCES)])

    def _peer(self, n: int, v6: np.ndarray) -> np.ndarray:
        """Internet peers, Zipf-like: a few are in most flows, most in very few."""
        draw = self.rng.random(n) ** 3
        v4_index = 2 * self.nics + (draw * self.public_v4).astype(np.int32)
        v6_index = 2 * self.nics + self.public_v4 + (draw * self.public_v6).astype(np.int32)
        return np.where(v6, v6_index, v4_index)

    def flows(self, n: int, start_us: int, end_us: int, tenants: pa.Array) -> pa.Table:
        """``n`` stored rows with times in [start, end), oldest first."""
        rng = self.rng
        kind = rng.choice(4, n, p=KIND_SHARES)
        nic = rng.integers(0, self.nics, n)
        v6 = (rng.random(n) < 0.04) & (kind != VNET)
        local = np.where(v6, self.nics + nic, nic)
        peer = self._peer(n, v6)
        scanners = (kind == DENY) & (rng.random(n) < 0.3) & ~v6
        peer[scanners] = 2 * self.nics + rng.integers(0, 40, int(scanners.sum()))
        vnet = kind == VNET
        peer[vnet] = rng.integers(0, self.nics, int(vnet.sum()))
        inbound = (kind == DENY) | (kind == ALLOW_IN) | (vnet & (rng.random(n) < 0.5))
        src, dst = np.where(inbound, peer, local), np.where(inbound, local, peer)

        dst_port = np.where(inbound, rng.choice(IN_PORTS, n), rng.choice(OUT_PORTS, n))
        scanned = rng.random(n) < 0.7
        any_port = np.where(scanned, rng.choice(SCANNED_PORTS, n), rng.integers(1, 65536, n))
        dst_port = np.where(kind == DENY, any_port, dst_port)
        protocol = np.where(np.isin(dst_port, (53, 123)) | (rng.random(n) < 0.05), 17, 6)

        rule = np.select(
            [kind == DENY, kind == ALLOW_IN, kind == ALLOW_OUT, inbound],
            [(rng.random(n) < 0.2).astype(int), 2 + rng.integers(0, 3, n), 5, 6],
            7,
        )
        allowed = kind != DENY
        state = np.where(allowed, rng.choice(3, n, p=(0.4, 0.3, 0.3)), 0).astype(np.int8)
        counted = allowed & (state != 0)
        sent = 1 + (200 * rng.random(n) ** 3).astype(np.uint64)
        received = (400 * rng.random(n) ** 3).astype(np.uint64)
        intra, external = FLOW_TYPES.index("intra_vnet"), FLOW_TYPES.index("external_public")
        flow_type = np.where(vnet, intra, external).astype(np.int8)
        malicious = rng.random(n) < 0.005
        flow_type[malicious] = FLOW_TYPES.index("malicious")
        times = np.sort(rng.integers(start_us, end_us, n))
        ingested = np.full(n, end_us + 120_000_000, np.int64)
        tenant = (rng.random(n) < 0.05).astype(np.int32)

        def counter(values: np.ndarray) -> pa.Array:
            return pa.array(values, pa.uint64(), mask=~counted)

        def codes(indices: np.ndarray, words: tuple[str, ...]) -> pa.Array:
            return pa.DictionaryArray.from_arrays(
                pa.array(indices.astype(np.int8)), pa.array(words, pa.string())
            )

        def strings(indices: np.ndarray, dictionary: pa.Array) -> pa.Array:
            return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)

        resource = self.nic_resource[nic]
        country = self.country[np.stack([src, dst])]
        columns = {
            "time": pa.array(times).cast(TIME),
            "log_type": codes(np.zeros(n), ("nsg", "vnet")),
            "log_version": pa.array(np.full(n, 2, np.int8)),
            "subscription_id": strings(resource % 3, pa.array(SUBSCRIPTIONS)),
            "resource_group": strings(resource, self.groups),
            "resource_id": strings(resource, self.resource_ids),
            "acl_id": pa.nulls(n, STRING),
            "rule": strings(rule, pa.array(RULES)),
            "mac": strings(nic, self.macs),
            "src_ip": strings(src, self.addresses),
            "dst_ip": strings(dst, self.addresses),
            "src_port": pa.array(rng.integers(1024, 65536, n).astype(np.uint16)),
            "dst_port": pa.array(dst_port.astype(np.uint16)),
            "protocol": pa.array(protocol.astype(np.uint8)),
            "direction": codes(np.where(inbound, 0, 1), DIRECTIONS),
            "decision": codes(np.where(allowed, 0, 1), DECISIONS),
            "state": codes(state, STATES),
            "encryption": pa.nulls(n, STRING),
            "src_packets": counter(sent),
            "src_bytes": counter(sent * rng.integers(40, 1500, n).astype(np.uint64)),
            "dst_packets": counter(received),
            "dst_bytes": counter(received * rng.integers(40, 1500, n).astype(np.uint64)),
            "src_scope": codes(self.scope[src], SCOPES),
            "dst_scope": codes(self.scope[dst], SCOPES),
            "src_country": _countries(country[0]),
            "dst_country": _countries(country[1]),
            "flow_type": codes(flow_type, FLOW_TYPES),
            "intel_match": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32), mask=~malicious), pa.array(["feodo"])
            ),
            "tenant_id": strings(tenant, tenants),
            "connector_id": strings(np.zeros(n), pa.array(["bench"])),
            "ingested_at": pa.array(ingested).cast(TIME),
        }
        return pa.Table.from_arrays(list(columns.values()), schema=STORED_SCHEMA)


def _countries(indices: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, pa.int32(), mask=indices < 0), pa.array(COUNTRIES)
    )


@dataclass
class Truth:
    """What was generated for the benchmarked tenant, to check the answers against."""

    flows: int = 0
    bytes: int = 0
    denied: int = 0


def load(
    store: DuckFlowStore | ClickFlowStore,
    flows: int,
    seed: int,
    tenants: tuple[str, str],
    day: dt.datetime,
) -> Truth:
    """A day of flows, an hour a batch; returns the benchmarked tenant's totals."""
    world = World(np.random.default_rng(seed))
    tenant = tenants[0]
    truth = Truth()
    hour_us = 3_600_000_000
    start_us = int(day.timestamp()) * 1_000_000
    for index in range(BATCHES):
        low = start_us + index * hour_us
        table = world.flows(flows // BATCHES, low, low + hour_us, pa.array(tenants))
        mine = table.filter(pc.equal(table["tenant_id"].cast(pa.string()), tenant))
        truth.flows += mine.num_rows
        for column in ("src_bytes", "dst_bytes"):
            truth.bytes += pc.sum(mine[column]).as_py() or 0
        denied = pc.equal(mine["decision"].cast(pa.string()), "deny")
        truth.denied += pc.sum(denied).as_py()
        batch = Batch(tenant, f"bench-{index}", table, {"flows": table.num_rows}, "bench")
        while True:  # as a collector does on 503: wait for the merger, send the same batch
            try:
                store.admit(batch)
                break
            except StoreBusyError:
                time.sleep(BUSY_WAIT_SECONDS)
    store.flush()
    return truth


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds (p95 by nearest rank)."""
    ordered = sorted(seconds)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    result = call()  # warm-up, and the answer to check
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - began)
    return (*percentiles(seconds), result)


def calls(
    reader: Any, tenant: str, f: FlowFilter
) -> Iterator[tuple[str, FlowFilter, Callable[[], Any]]]:
    """The calls behind the dashboard and the flows page, with the filter each one uses."""
    yield "timeseries", f, lambda: flowquery.timeseries(reader, tenant, f)
    for dimension in Dimension:
        by: flowquery.Measure = "bytes" if dimension is Dimension.TALKERS else "flows"
        top = partial(flowquery.top, reader, tenant, f, dimension, by=by)
        yield f"top {dimension} by {by}", f, top
    yield "resources", f, lambda: flowquery.resources(reader, tenant, f)
    pages = {
        "deny, port 22": FlowFilter(f.start, f.end, dst_port=22, decision="deny"),
        "src 60.0.0.0/6": FlowFilter(f.start, f.end, src=ipaddress.ip_network("60.0.0.0/6")),
        "src 2a00::/13": FlowFilter(f.start, f.end, src=ipaddress.ip_network("2a00::/13")),
    }
    for name, page in pages.items():
        yield f"flows page: {name}", page, partial(flowquery.flows, reader, tenant, page)


def check(name: str, result: Any, f: FlowFilter, truth: Truth | None) -> list[str]:
    """What is wrong with an answer (nothing, usually)."""
    if name == "timeseries":
        points = result[1]
        got = Truth(
            sum(p.flows for p in points),
            sum(p.bytes for p in points),
            sum(p.denied for p in points),
        )
        return [f"timeseries totals {got}, generated {truth}"] if truth and got != truth else []
    if not name.startswith("flows page"):
        return [] if result else [f"{name}: empty"]
    items = result.items
    times = [item["time"] for item in items]
    wrong = [] if len(items) == 100 else [f"{name}: {len(items)} items"]
    if times != sorted(times, reverse=True):
        wrong.append(f"{name}: not newest first")
    for item in items:
        if (
            not f.start <= dt.datetime.fromisoformat(item["time"]) < f.end
            or (f.src is not None and ipaddress.ip_address(item["src_ip"]) not in f.src)
            or (f.dst_port is not None and item["dst_port"] != f.dst_port)
            or (f.decision is not None and item["decision"] != f.decision)
        ):
            wrong.append(f"{name}: {item} is not in the filter")
            break
    return wrong


def asgi(
    data_dir: Path, day: dt.datetime, runs: int, direct: dict[str, Any]
) -> tuple[list[tuple[str, float, float]], list[str]]:
    """A few calls through the app (sign-in check, FastAPI, JSON), to show their overhead."""
    hour, whole = (
        {"start": start.isoformat(), "end": (start + span).isoformat()}
        for start, span in ((day + dt.timedelta(hours=12), HOUR), (day, DAY))
    )
    deny_ssh: dict[str, str | int] = {**hour, "dst_port": 22, "decision": "deny"}
    paths: list[tuple[str, str, Mapping[str, str | int]]] = [
        ("day timeseries", "/cdr/v1/insights/timeseries", whole),
        ("day top talkers by bytes", "/cdr/v1/insights/top/talkers", {**whole, "by": "bytes"}),
        ("hour flows page: deny, port 22", "/cdr/v1/flows", deny_ssh),
    ]
    rows, wrong = [], []
    # Detection is kept out of the measurement: its first pass over the freshly loaded day
    # (bench/detect.py measures it) would compete with the queries timed here.
    settings = Settings(data_dir=data_dir, retention_days=3650, detect_interval_seconds=3600)
    with TestClient(create_app(settings)) as client:
        form = {"username": "bench", "password": PASSWORD, "token": "true"}
        headers = {"Authorization": f"Bearer {client.post('/auth', data=form).text}"}
        for name, path, params in paths:
            get = partial(client.get, path, params=params, headers=headers)
            p50, p95, response = timed(get, runs)
            rows.append((name, p50, p95))
            if response.status_code != 200:
                wrong.append(f"ASGI {name}: {response.status_code} {response.text}")
            elif _summary(response.json()) != _summary(direct[name]):
                wrong.append(f"ASGI {name}: differs from the direct call")
    return rows, wrong


def _summary(answer: Any) -> Any:
    """What the API and the direct call must agree on, in either's shape."""
    if isinstance(answer, dict):
        if "points" in answer:
            return [p["flows"] for p in answer["points"]]
        if "dimension" in answer:
            return [(i["value"], i["flows"], i["bytes"]) for i in answer["items"]]
        return answer["items"]
    if isinstance(answer, flowquery.Page):
        return answer.items
    if isinstance(answer, tuple):
        return [p.flows for p in answer[1]]
    return [(i.value, i.flows, i.bytes) for i in answer]


def load_clickhouse(
    flows: int, seed: int, tenants: tuple[str, str], day: dt.datetime
) -> tuple[ClickFlowStore, float]:
    """The same day into the ClickHouse store on chDB; returns it and the seconds it took."""
    began = time.perf_counter()
    layout = Layout(flows_days=3650, minute_days=3650, hour_days=3650)
    store = ClickFlowStore.open(layout, path=DATA_DIR / "flows.chdb")
    try:
        load(store, flows, seed, tenants, day)
    except BaseException:
        store.close()
        raise
    return store, time.perf_counter() - began


def clickhouse_sizes(reader: Connection) -> tuple[int, int, int]:
    """(flow rows, bytes of the flows table, bytes of every table) once parts are merged."""
    reader.command("OPTIMIZE TABLE flows FINAL")
    ((rows,),) = reader.rows("SELECT count() FROM flows")
    ((flows_bytes, all_bytes),) = reader.rows(
        "SELECT sumIf(bytes_on_disk, table = 'flows'), sum(bytes_on_disk) FROM system.parts "
        "WHERE active AND database = 'flowcdr'"
    )
    return int(rows), int(flows_bytes), int(all_bytes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-clickhouse", action="store_true", help="DuckDB only (no chDB run beside it)"
    )
    args = parser.parse_args()

    shutil.rmtree(DATA_DIR, ignore_errors=True)
    settings = Settings(data_dir=DATA_DIR, retention_days=3650)
    control = ControlStore.open(settings)
    user = control.add_user("bench", "contoso-bench", "analyst", hash_password(PASSWORD))
    other = control.add_user("bench-other", "fabrikam-bench", "analyst", hash_password(PASSWORD))
    tenant = user.tenant_id
    control.close()
    now = dt.datetime.now(dt.UTC)
    day = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=1)

    began = time.perf_counter()
    store = DuckFlowStore.open(DATA_DIR / "flows.duckdb")
    try:
        truth = load(store, args.flows, args.seed, (tenant, other.tenant_id), day)
    except BaseException:
        store.close()
        raise
    loaded = time.perf_counter() - began
    reader = store.reader()
    reader.execute("CHECKPOINT")
    total = reader.execute("SELECT count(*) FROM flows").fetchone()[0]  # type: ignore[index]
    size_mb = (DATA_DIR / "flows.duckdb").stat().st_size / 1e6
    print(f"{total:,} flows over 24 h ({truth.flows:,} of the benchmarked tenant) "
          f"written in {loaded:.0f} s")  # fmt: skip
    print(f"DuckDB store: {size_mb:.0f} MB, {size_mb / (total / 1e6):.1f} MB per million flows")
    loading: list[str] = []
    click: ClickFlowStore | None = None
    click_reader: Connection | None = None
    if not args.no_clickhouse:
        click, click_loaded = load_clickhouse(args.flows, args.seed, (tenant, other.tenant_id), day)
        click_reader = click.reader()
        rows, flows_bytes, all_bytes = clickhouse_sizes(click_reader)
        per_million = 1e6 / rows / 1e6
        print(
            f"ClickHouse (chDB) store: {rows:,} flows written in {click_loaded:.0f} s; "
            f"flows table {flows_bytes / 1e6:.0f} MB ({flows_bytes * per_million:.1f} MB per "
            f"million flows), with rollups and keys {all_bytes / 1e6:.0f} MB "
            f"({all_bytes * per_million:.1f} MB per million)"
        )
        if rows != total:
            loading.append(f"chDB holds {rows:,} flows, DuckDB {total:,}")
    print()

    noon = day + dt.timedelta(hours=12)
    scopes = {"day": FlowFilter(day, day + DAY), "hour": FlowFilter(noon, noon + HOUR)}
    wrong: list[str] = loading
    direct: dict[str, Any] = {}
    verdicts = []
    if click_reader is not None:
        print(f"{'':<50}{'DuckDB':>18}{'ClickHouse (chDB)':>22}")
    print(f"{'direct call (flowquery)':<44}{'p50 ms':>9}{'p95 ms':>9}", end="")
    print(f"{'':>6}{'p50 ms':>9}{'p95 ms':>9}{'chDB/DuckDB':>13}" if click_reader else "")
    for scope, f in scopes.items():
        expect = truth if scope == "day" else None
        for name, used, call in calls(reader, tenant, f):
            p50, p95, result = timed(call, args.runs)
            direct[f"{scope} {name}"] = result
            wrong += [f"{scope} {problem}" for problem in check(name, result, used, expect)]
            ok = p95 < TARGETS_MS[scope]
            verdicts.append(ok)
            line = f"{scope + ' ' + name:<44}{p50:>9.1f}{p95:>9.1f}  {'PASS' if ok else 'MISS'}"
            if click_reader is not None:
                same = dict((n, c) for n, _, c in calls(click_reader, tenant, f))[name]
                c50, c95, answer = timed(same, args.runs)
                line += f"{c50:>9.1f}{c95:>9.1f}{c50 / p50:>12.2f}x"
                if answer != result:
                    wrong.append(f"{scope} {name}: ClickHouse answers differently from DuckDB")
            print(line)
    reader.close()
    store.close()
    if click is not None:
        click.close()

    asgi_rows, asgi_wrong = asgi(DATA_DIR, day, ASGI_RUNS, direct)
    wrong += asgi_wrong
    print(f"\n{'through the ASGI app':<44}{'p50 ms':>9}{'p95 ms':>9}")
    for name, p50, p95 in asgi_rows:
        print(f"{name:<44}{p50:>9.1f}{p95:>9.1f}")

    print(f"\ntargets: p95 < {TARGETS_MS['day']:.0f} ms for a day, < {TARGETS_MS['hour']:.0f} ms "
          f"for an hour: {sum(verdicts)} of {len(verdicts)} PASS")  # fmt: skip
    print(f"whole run: {time.perf_counter() - began:.0f} s")
    for problem in wrong:
        print(f"WRONG: {problem}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
