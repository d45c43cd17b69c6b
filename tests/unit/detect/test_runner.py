"""Streaming windows with a watermark give exactly the offline findings, late flows included."""

import datetime as dt
import random

import pyarrow as pa
import pyarrow.compute as pc

import flowcdr.detections
from flowcdr.detect.case import CASE_START, Case
from flowcdr.detect.catalogue import load_rules
from flowcdr.detect.dataset import OFFLINE_TENANT, add_flows, open_dataset
from flowcdr.detect.intel import Intel, build_list
from flowcdr.detect.runner import StreamRunner, detect_offline, floor_to

RULES = load_rules(flowcdr.detections)
ENABLED = {rule_id: rule.settings({}) for rule_id, rule in RULES.items()}
SPACING = dt.timedelta(minutes=13)  # not a multiple of any window: cases straddle boundaries


def timeline() -> tuple[pa.Table, Intel]:
    """Every case of the catalogue, one after another."""
    tables: list[pa.Table] = []
    listed: dict[str, list[str]] = {}
    for index, case in enumerate(c for rule in RULES.values() for c in rule.cases):
        shift = index * SPACING.total_seconds()
        moved = Case(case.name, tuple(f._replace(at=f.at + shift) for f in case.flows), 0)
        tables.append(moved.table())
        listed.setdefault(case.intel_list, []).extend(case.intel)
    return pa.concat_tables(tables), Intel(tuple(build_list(n, ips) for n, ips in listed.items()))


def test_streaming_with_late_flows_equals_offline() -> None:
    flows, intel = timeline()
    offline_db = open_dataset()
    add_flows(offline_db, flows, intel=intel)
    offline = [
        f.as_dict() for f in detect_offline(offline_db, RULES, ENABLED, OFFLINE_TENANT).findings()
    ]
    assert len(offline) >= 25  # most positive cases still fire when laid end to end

    # Each flow arrives up to 4 minutes late, so flows arrive out of order.
    rng = random.Random(3)
    delays = pa.array([rng.uniform(0, 240) * 1e6 for _ in range(flows.num_rows)], pa.float64())
    times = pc.cast(flows.column("time"), pa.int64())
    arrival = pc.add(pc.cast(times, pa.float64()), delays)
    stream_db = open_dataset()
    first = floor_to(CASE_START, 86_400)
    runner = StreamRunner(
        RULES, ENABLED, OFFLINE_TENANT, start=first, lateness=dt.timedelta(minutes=5)
    )
    clock, step = first, dt.timedelta(minutes=60)
    end = pc.max(arrival).as_py() / 1e6
    previous = clock - step
    while clock.timestamp() <= end + step.total_seconds():
        upper, lower = clock.timestamp() * 1e6, previous.timestamp() * 1e6
        due = pc.and_(pc.greater(arrival, lower), pc.less_equal(arrival, upper))
        if pc.any(due).as_py():
            add_flows(stream_db, flows.filter(due), intel=intel)
        runner.run_window(stream_db, clock - dt.timedelta(minutes=1))
        # Hour by hour, jumping over days with nothing arriving (one case spans 20 days).
        later = pc.filter(arrival, pc.greater(arrival, upper))
        soonest = pc.min(later).as_py() if len(later) else upper
        previous, clock = clock, max(clock + step, floor_to(_at(soonest), 3600))
    runner.run_window(stream_db, clock + dt.timedelta(days=2))
    streamed = [f.as_dict() for f in runner.book.findings()]
    assert streamed == offline


def _at(micros: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(micros / 1e6, dt.UTC)


def test_a_watermark_evaluates_only_closed_windows() -> None:
    rule = RULES["vertical_port_scan"]
    positive = next(case for case in rule.cases if case.expect)
    db = open_dataset()
    add_flows(db, positive.table())
    runner = StreamRunner(RULES, {rule.id: ENABLED[rule.id]}, OFFLINE_TENANT, start=CASE_START)
    assert runner.run_window(db, CASE_START + dt.timedelta(seconds=59)) == []
    hits = runner.run_window(db, CASE_START + dt.timedelta(seconds=60))
    assert [hit.src_ip for hit in hits] == [positive.check["src_ip"]]
