"""DuckFlowEvidence on a real flow store holding simulated NSG and VNet flow logs, checked
against the same counts made in Python from the ingested rows."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from flowcdr.enrich import enrich, stamp
from flowcdr.formats import parse_blob
from flowcdr.inventory.model import rid
from flowcdr.inventory.posture.evidence import DuckFlowEvidence, NsgScope, RuleTraffic, rule_key
from flowcdr.simulate import LogFormat, MemorySink, Plan, Simulation
from flowcdr.store.flows import Batch, DuckFlowStore

START_MS = 1_795_000_000_000 // 3_600_000 * 3_600_000
START = dt.datetime.fromtimestamp(START_MS / 1000, dt.UTC)
HOURS = 3
PLAN = Plan(
    START_MS, HOURS, 5, 16, tuple(LogFormat), ("exposed_management_port", "exposed_database_port")
)
TENANT, OTHER = "contoso", "fabrikam"
UNTIL = START + dt.timedelta(hours=HOURS)
RECENT = UNTIL - dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, ...]]:
    simulation = Simulation(PLAN)
    sink = MemorySink()
    simulation.run(sink)
    parsed = pa.concat_tables(parse_blob(sink.content(*key)).table for key in sink.blobs)
    store = DuckFlowStore.open(Path(tmp_path_factory.mktemp("flows")) / "flows.duckdb")
    enriched = enrich(parsed)
    for index, tenant in enumerate((TENANT, OTHER)):
        table = stamp(enriched, tenant, None, UNTIL)
        store.admit(Batch(tenant, f"sim-{index}", table, {"flows": table.num_rows}, "test"))
    store.flush()
    needed = ("time", "log_type", "resource_id", "mac", "rule", "direction", "decision")
    columns = [*needed, "src_scope", "src_ip"]
    plain = pa.table({name: enriched[name].cast(_plain(enriched[name].type)) for name in columns})
    rows = plain.to_pylist()
    yield simulation.topology, store, rows
    store.close()


def _plain(kind: pa.DataType) -> pa.DataType:
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def scopes(topology: Any) -> list[NsgScope]:
    macs: dict[str, list[str]] = defaultdict(list)
    for vm in topology.vms:
        macs[vm.subnet.nsg_resource_id].append(vm.mac)
    return [NsgScope(nsg, tuple(found)) for nsg, found in macs.items()]


def reference(topology: Any, rows: list[dict[str, Any]]) -> dict[str, dict[str, RuleTraffic]]:
    """What the evidence must say, counted row by row."""
    by_mac = {vm.mac: rid(vm.subnet.nsg_resource_id) for vm in topology.vms}
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    last: dict[tuple[str, str], dt.datetime] = {}
    for row in rows:
        nsg = rid(row["resource_id"]) if row["log_type"] == "nsg" else by_mac[row["mac"]]
        key = (nsg, rule_key(row["rule"] or ""))
        tally = counts[(*key, row["log_type"])]
        tally[0] += 1
        recent = row["time"] >= RECENT
        tally[1] += recent
        last[key] = max(last.get(key, row["time"]), row["time"])
        inbound = row["direction"] == "inbound" and row["decision"] == "allow"
        if recent and inbound and row["src_scope"] == "public":
            sources[key].add(row["src_ip"])
    result: dict[str, dict[str, RuleTraffic]] = defaultdict(dict)
    for nsg, rule in {(nsg, rule) for nsg, rule, _ in counts}:
        kinds = [
            counts[(nsg, rule, kind)] for kind in ("nsg", "vnet") if (nsg, rule, kind) in counts
        ]
        result[nsg][rule] = RuleTraffic(
            max(k[0] for k in kinds),
            max(k[1] for k in kinds),
            len(sources[(nsg, rule)]),
            last[(nsg, rule)],
        )
    return result


def test_evidence_counts_what_the_flows_say_per_nsg_and_rule(estate: tuple[Any, ...]) -> None:
    topology, store, rows = estate
    evidence = DuckFlowEvidence(store.reader)
    found = evidence.nsg_traffic(TENANT, scopes(topology), since=START, recent=RECENT, until=UNTIL)
    expected = reference(topology, rows)
    assert {nsg: dict(t.rules) for nsg, t in found.items()} == expected
    assert all(t.first_seen >= START and t.last_seen < UNTIL for t in found.values())
    # The misconfiguration the scenarios use was reached by internet addresses.
    exposed = [
        traffic.rules["temporaryrdpsshanyinbound"]
        for traffic in found.values()
        if "temporaryrdpsshanyinbound" in traffic.rules
    ]
    assert exposed
    assert sum(rule.internet_sources for rule in exposed) > 0


def test_evidence_is_scoped_to_tenant_window_and_the_nsgs_asked(estate: tuple[Any, ...]) -> None:
    topology, store, _ = estate
    evidence = DuckFlowEvidence(store.reader)
    asked = scopes(topology)[:1]
    found = evidence.nsg_traffic(TENANT, asked, since=START, recent=RECENT, until=UNTIL)
    assert set(found) == {rid(asked[0].nsg_id)}
    assert evidence.nsg_traffic("nobody", asked, since=START, recent=RECENT, until=UNTIL) == {}
    later = UNTIL + dt.timedelta(days=1)
    assert evidence.nsg_traffic(TENANT, asked, since=UNTIL, recent=UNTIL, until=later) == {}
    assert evidence.nsg_traffic(TENANT, [], since=START, recent=RECENT, until=UNTIL) == {}


def test_a_tenant_sees_its_own_flows_only(estate: tuple[Any, ...]) -> None:
    topology, store, _ = estate
    evidence = DuckFlowEvidence(store.reader)
    mine = evidence.nsg_traffic(TENANT, scopes(topology), since=START, recent=RECENT, until=UNTIL)
    theirs = evidence.nsg_traffic(OTHER, scopes(topology), since=START, recent=RECENT, until=UNTIL)
    assert mine == theirs  # the same flows were ingested for both, and counted once each
