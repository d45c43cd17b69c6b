"""A whole run: deterministic, parseable with zero rejects, laid out like the Azure containers."""

import dataclasses
import ipaddress
import json
import re

import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.formats import parse_blob
from flowcdr.simulate import LogFormat, MemorySink, Simulation

from .conftest import PLAN

NSG_BLOB = re.compile(
    r"resourceId=/SUBSCRIPTIONS/[0-9A-F-]{36}/RESOURCEGROUPS/[A-Z0-9-]+/PROVIDERS/"
    r"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/[A-Z0-9-]+/y=\d{4}/m=\d\d/d=\d\d/h=\d\d/m=00/"
    r"macAddress=[0-9A-F]{12}/PT1H.json"
)
VNET_BLOB = re.compile(
    r"flowLogResourceID=/SUBSCRIPTIONS/[0-9A-F-]{36}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/"
    r"MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_[A-Z0-9]+/FLOWLOGS/[A-Z0-9-]+/"
    r"y=\d{4}/m=\d\d/d=\d\d/h=\d\d/m=00/macAddress=[0-9A-F]{12}/PT1H.json"
)


def run(plan=PLAN) -> MemorySink:
    sink = MemorySink()
    Simulation(plan).run(sink)
    return sink


def test_same_seed_same_bytes_and_labels(simulated) -> None:
    simulation, sink = simulated
    again = Simulation(PLAN)
    second = MemorySink()
    again.run(second)
    assert second.blobs == sink.blobs
    assert [label.to_json() for label in again.labels] == [
        label.to_json() for label in simulation.labels
    ]


def test_another_seed_gives_other_traffic_and_attacks(simulated) -> None:
    simulation, sink = simulated
    other = Simulation(dataclasses.replace(PLAN, seed=PLAN.seed + 1))
    assert [label.params for label in other.labels] != [label.params for label in simulation.labels]
    assert run(dataclasses.replace(PLAN, seed=PLAN.seed + 1, hours=1)).blobs != sink.blobs


def test_traffic_does_not_depend_on_the_formats_written(simulated) -> None:
    _, both = simulated
    nsg_only = run(dataclasses.replace(PLAN, formats=(LogFormat.NSG,)))
    container = LogFormat.NSG.container
    assert nsg_only.blobs == {key: v for key, v in both.blobs.items() if key[0] == container}


def test_every_blob_parses_with_zero_rejects(simulated) -> None:
    _, sink = simulated
    for key in sink.blobs:
        report = parse_blob(sink.content(*key), source=key[1]).report
        assert (report.rejected, report.skipped, report.cut) == (0, 0, False), report.rejects
        assert report.flows > 0


def test_blob_names_and_record_identity_follow_azure(simulated) -> None:
    simulation, sink = simulated
    containers = {container for container, _ in sink.blobs}
    assert containers == {f.container for f in LogFormat}
    macs = {vm.mac for vm in simulation.topology.vms}
    hours = {f"{(PLAN.start_ms // 3_600_000 + h) % 24:02d}" for h in range(PLAN.hours)}
    for container, blob in sink.blobs:
        pattern = NSG_BLOB if container == LogFormat.NSG.container else VNET_BLOB
        assert pattern.fullmatch(blob), blob
        records = json.loads(sink.content(container, blob))["records"]
        mac = blob.split("macAddress=")[1][:12]
        assert mac in macs
        assert {record["macAddress"] for record in records} == {mac}
        hour = re.search(r"h=(\d\d)", blob)
        assert hour is not None
        assert {record["time"][11:13] for record in records} == {hour.group(1)}
        assert hour.group(1) in hours


def test_both_formats_carry_the_same_flows(flows: pa.Table) -> None:
    by_type = flows.group_by("log_type").aggregate([("src_bytes", "sum"), ("time", "count")])
    rows = {row["log_type"]: row for row in by_type.to_pylist()}
    assert rows["nsg"]["time_count"] == rows["vnet"]["time_count"]
    assert rows["nsg"]["src_bytes_sum"] == rows["vnet"]["src_bytes_sum"]


def test_states_counters_and_decisions_are_consistent(flows: pa.Table) -> None:
    nsg = flows.filter(pc.equal(flows["log_type"], "nsg"))
    begin_or_deny = pc.is_in(nsg["state"], pa.array(["begin", "deny"]))
    assert pc.all(pc.is_null(nsg.filter(begin_or_deny)["src_packets"])).as_py()
    counted = nsg.filter(pc.invert(begin_or_deny))
    assert pc.all(pc.is_valid(counted["src_packets"])).as_py()
    denied = flows.filter(pc.equal(flows["decision"], "deny"))
    assert denied.num_rows > 0
    assert set(denied["direction"].to_pylist()) == {"inbound"}
    assert set(pc.unique(flows["state"]).to_pylist()) >= {"begin", "continue", "end", "deny"}


def test_internal_traffic_is_logged_at_both_nics_and_platform_traffic_is_there(
    flows: pa.Table,
) -> None:
    vnet = flows.filter(pc.equal(flows["log_type"], "vnet"))
    internal = vnet.filter(
        pc.and_(
            pc.starts_with(vnet["src_ip"], "10."),
            pc.starts_with(vnet["dst_ip"], "10."),
        )
    )
    keys = {
        (r["src_ip"], r["dst_ip"], r["src_port"], r["state"], r["direction"], r["mac"])
        for r in internal.select(
            ["src_ip", "dst_ip", "src_port", "state", "direction", "mac"]
        ).to_pylist()
    }
    outbound = {k[:4] for k in keys if k[4] == "outbound"}
    inbound = {k[:4] for k in keys if k[4] == "inbound"}
    assert len(outbound & inbound) > 0.9 * len(outbound)
    assert "168.63.129.16" in set(pc.unique(vnet["dst_ip"]).to_pylist())
    assert "168.63.129.16" in set(pc.unique(vnet["src_ip"]).to_pylist())


def test_dual_stack_vnets_log_ipv6(flows: pa.Table) -> None:
    addresses = set(pc.unique(flows["dst_ip"]).to_pylist())
    assert any(ipaddress.ip_address(a).version == 6 for a in addresses)


def test_benign_flows_do_not_depend_on_the_scenarios_injected() -> None:
    plan = dataclasses.replace(PLAN, hours=1, vms=8, formats=(LogFormat.VNET,))
    columns = ["time", "src_ip", "dst_ip", "src_port", "dst_port", "state", "mac"]

    def flows(sink: MemorySink) -> set[tuple[object, ...]]:
        rows: set[tuple[object, ...]] = set()
        for key in sink.blobs:
            table = parse_blob(sink.content(*key)).table.select(columns)
            rows.update(zip(*(table[c].to_pylist() for c in columns), strict=True))
        return rows

    benign = flows(run(dataclasses.replace(plan, scenarios=())))
    with_attacks = flows(run(plan))
    assert benign < with_attacks
