"""Labels tell the truth: every labelled address is in the tuples, in the right direction."""

import dataclasses
import datetime as dt
import ipaddress
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flowcdr.simulate import (
    SCENARIOS,
    Label,
    MemorySink,
    Simulation,
    tor_list,
    write_intel,
    write_labels,
)
from flowcdr.simulate.scenarios import inject
from flowcdr.simulate.topology import build_topology
from flowcdr.simulate.world import build_world

from .conftest import PLAN


def ours(address: str) -> bool:
    return ipaddress.ip_address(address).is_private


def labels(simulated: tuple[Simulation, MemorySink]) -> list[Label]:
    simulation, _ = simulated
    return simulation.labels


def test_every_scenario_is_injected_once(simulated) -> None:
    assert [label.scenario for label in labels(simulated)] == list(SCENARIOS)
    assert len({label.id for label in labels(simulated)}) == len(SCENARIOS)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_labelled_addresses_are_in_the_flows_in_the_right_direction(
    simulated, flows: pa.Table, name: str
) -> None:
    label = next(label for label in labels(simulated) if label.scenario == name)
    assert label.attackers
    assert label.victims
    assert label.techniques
    assert all(t.startswith("T1") for t in label.techniques)
    starts, ends = (label.attackers, label.victims)
    if label.initiator == "victim":
        starts, ends = ends, starts
    # The label's span, widened by a second: NSG tuple times are whole seconds.
    second = dt.timedelta(seconds=1)
    first = dt.datetime.fromisoformat(label.to_json()["start"]) - second
    last = dt.datetime.fromisoformat(label.to_json()["end"]) + second
    rows = flows.filter(
        pc.and_(
            pc.and_(
                pc.is_in(flows["src_ip"], pa.array(starts)),
                pc.is_in(flows["dst_ip"], pa.array(ends)),
            ),
            pc.and_(
                pc.greater_equal(flows["time"], pa.scalar(first, flows["time"].type)),
                pc.less_equal(flows["time"], pa.scalar(last, flows["time"].type)),
            ),
        )
    ).to_pylist()
    assert {row["src_ip"] for row in rows} == set(starts)
    assert {row["dst_ip"] for row in rows} == set(ends)
    assert {row["log_type"] for row in rows} == {"nsg", "vnet"}
    for address in ends:
        if ours(address):
            assert any(r["dst_ip"] == address and r["direction"] == "inbound" for r in rows)
    for address in starts:
        if ours(address):
            assert any(r["src_ip"] == address and r["direction"] == "outbound" for r in rows)


def test_labels_stay_inside_the_simulated_span(simulated) -> None:
    for label in labels(simulated):
        assert PLAN.start_ms <= label.start_ms < label.end_ms <= PLAN.end_ms


def test_labels_file_is_json_lines(simulated, tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    write_labels(path, labels(simulated))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["scenario"] for line in lines] == list(SCENARIOS)
    assert set(lines[0]) == {
        "id",
        "scenario",
        "techniques",
        "attackers",
        "victims",
        "initiator",
        "start",
        "end",
        "intel",
        "params",
    }


def test_intel_feed_hides_the_listed_attackers_among_others(simulated, tmp_path: Path) -> None:
    path = tmp_path / "intel.txt"
    listed = write_intel(path, labels(simulated), np.random.default_rng(0))
    entries = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    relays = [line for line in tor_list(path).read_text().splitlines() if line[0] != "#"]
    marked = [label for label in labels(simulated) if label.intel]
    wanted = {a for label in marked if label.scenario != "tor" for a in label.attackers}
    tor = {a for label in marked if label.scenario == "tor" for a in label.attackers}
    unlisted = {a for label in labels(simulated) if not label.intel for a in label.attackers}
    assert listed == len(wanted) + len(tor)
    assert wanted
    assert tor
    assert wanted <= set(entries)
    assert not tor & set(entries)
    assert tor <= set(relays)
    assert tor_list(path).name.startswith("tor")
    assert not (unlisted - wanted) & set(entries)
    assert len(entries) > 10 * len(wanted)
    assert all(not ours(entry) for entry in entries + relays)


@pytest.mark.parametrize("hours", [1, 26])
def test_every_seed_gives_labels_that_hold(hours: int) -> None:
    """Drawn parameters never push an attack out of the span or leave a side empty."""
    for seed in range(12):
        plan = dataclasses.replace(PLAN, seed=seed, hours=hours, vms=5 + seed * 7)
        simulation = Simulation(plan)
        for label in simulation.labels:
            assert plan.start_ms <= label.start_ms < label.end_ms <= plan.end_ms, label.id
            assert label.attackers, label.id
            assert label.victims, label.id
        assert len(simulation.labels) == len(SCENARIOS) * max(1, hours // 24)


def test_every_seed_gives_sessions_that_match_their_labels() -> None:
    """Each side's addresses are in the sessions, and the NIC of each of our addresses logs it."""
    for seed in range(12):
        rng = np.random.default_rng(seed)
        world = build_world(rng, build_topology(rng, 5 + seed * 9))
        for injection in inject(world, rng, PLAN.start_ms, PLAN.end_ms, list(SCENARIOS)):
            label, sessions = injection.label, injection.sessions
            starts, ends = (label.attackers, label.victims)
            if label.initiator == "victim":
                starts, ends = ends, starts
            assert set(sessions.src.tolist()) == set(starts), label.id
            assert set(sessions.dst.tolist()) == set(ends), label.id
            nics = set(world.ipv4.tolist())
            private_src = np.array([a in nics for a in sessions.src.tolist()])
            private_dst = np.array([a in nics for a in sessions.dst.tolist()])
            assert ((sessions.src_vm >= 0) == private_src).all(), label.id
            assert ((sessions.dst_vm >= 0) == private_dst).all(), label.id
            vm_addresses = world.ipv4
            observed = sessions.src_vm >= 0
            assert (vm_addresses[sessions.src_vm[observed]] == sessions.src[observed]).all()
            observed = sessions.dst_vm >= 0
            assert (vm_addresses[sessions.dst_vm[observed]] == sessions.dst[observed]).all()
