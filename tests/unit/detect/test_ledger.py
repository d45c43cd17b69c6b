"""Continuous detection into the ledger: the same findings as offline, kept with a lifecycle."""

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flowcdr.config import Settings
from flowcdr.detect.case import CASE_START
from flowcdr.detect.continuous import ContinuousDetector
from flowcdr.detect.dataset import OFFLINE_TENANT, add_flows, open_dataset
from flowcdr.detect.ledger import FindingLedger
from flowcdr.detect.runner import detect_offline
from flowcdr.detect.settings import Suppression
from flowcdr.store.control import ControlStore

from .test_runner import ENABLED, RULES, timeline

NOW = CASE_START + dt.timedelta(days=30)


class Clock:
    """Monotonic seconds that move only when told: every rule is due on every pass."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 86_400.0
        return self.now


@pytest.fixture
def control(tmp_path: Path, database_url: str | None) -> Iterator[ControlStore]:
    store = ControlStore.open(Settings(data_dir=tmp_path / "data", database_url=database_url))
    yield store
    store.close()


def tenant(control: ControlStore, name: str) -> str:
    return control.add_user(f"user-{name}", name, "admin", "x").tenant_id


def essence(found: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        found[k] for k in ("rule_id", "dedup_key", "first_seen", "last_seen", "flow_count", "bytes")
    )


def detector(ledger: FindingLedger) -> ContinuousDetector:
    return ContinuousDetector(
        RULES, ledger, lambda _tenant: ENABLED, min_rerun_seconds=0, clock=Clock()
    )


def test_flows_arriving_late_and_out_of_order_give_the_offline_findings(
    control: ControlStore,
) -> None:
    flows, intel = timeline()
    offline_db = open_dataset()
    add_flows(offline_db, flows, intel=intel)
    offline = {
        essence(f.as_dict())
        for f in detect_offline(offline_db, RULES, ENABLED, OFFLINE_TENANT).findings()
    }
    assert len(offline) >= 25

    contoso = tenant(control, "contoso")
    ledger = FindingLedger(control)
    continuous = detector(ledger)
    db = open_dataset()
    rng = random.Random(7)  # up to 20 minutes late, in batches of arrival order
    arrival = pc.add(
        pc.cast(pc.cast(flows.column("time"), pa.int64()), pa.float64()),
        pa.array([rng.uniform(0, 1200) * 1e6 for _ in range(flows.num_rows)]),
    )
    flows = flows.take(pc.sort_indices(arrival))
    for start in range(0, flows.num_rows, 97):
        batch = flows.slice(start, 97)
        add_flows(db, batch, intel=intel, tenant_id=contoso)
        span = pc.min_max(batch.column("time"))
        continuous.touched(contoso, span["min"].as_py(), span["max"].as_py())
        if start % (97 * 5) == 0:
            continuous.run(db, NOW)
    continuous.run(db, NOW)

    stored = ledger.findings(contoso, limit=10_000)
    # Offline, a threat-intel match that a specific finding covers is folded into it; the
    # ledger keeps the folded finding, suppressed by that correlation.
    folded = [item for item in stored if item.finding.status == "suppressed"]
    shown = [item for item in stored if item.finding.status != "suppressed"]
    assert {essence(item.finding.as_dict()) for item in shown} == offline
    assert len(shown) == len(offline)  # no finding twice
    assert all(item.finding.status == "open" for item in shown)
    assert folded
    assert all(
        item.finding.rule_id.startswith("threat_intel_")
        and (item.status_by or "").startswith("correlation:")
        for item in folded
    )


def test_a_finding_is_extended_until_resolved_then_a_new_one_opens(
    control: ControlStore,
) -> None:
    contoso, fabrikam = tenant(control, "contoso"), tenant(control, "fabrikam")
    rule = RULES["vertical_port_scan"]
    case = next(c for c in rule.cases if c.expect)
    ledger = FindingLedger(control)
    continuous = detector(ledger)
    db = open_dataset()

    def scan(days: float, tenant_id: str = contoso) -> None:
        moved = case.table()
        shift = pa.scalar(int(days * 86_400e6), pa.int64())
        times = pc.add(pc.cast(moved.column("time"), pa.int64()), shift)
        field = moved.schema.field("time")
        moved = moved.set_column(0, field, pc.cast(times, field.type))
        add_flows(db, moved, tenant_id=tenant_id)
        span = pc.min_max(moved.column("time"))
        continuous.touched(tenant_id, span["min"].as_py(), span["max"].as_py())
        continuous.run(db, NOW)

    scan(0)
    (first,) = ledger.findings(contoso, rule_id=rule.id)
    acknowledged = ledger.set_status(
        contoso, first.finding.id, status="acknowledged", actor="amy", note="looking", now=NOW
    )
    assert acknowledged is not None
    assert (acknowledged.status_by, acknowledged.note) == ("amy", "looking")
    scan(rule.dedup_seconds / 86_400 / 2)  # again within the dedup time: the same finding
    (extended,) = ledger.findings(contoso, rule_id=rule.id)
    assert extended.finding.id == first.finding.id
    assert extended.finding.status == "acknowledged"
    assert extended.finding.flow_count == 2 * first.finding.flow_count
    assert extended.finding.windows == 2

    ledger.set_status(contoso, first.finding.id, status="resolved", actor="amy", note=None, now=NOW)
    scan(rule.dedup_seconds / 86_400)  # once resolved, happening again is a new finding
    newest, resolved = ledger.findings(contoso, rule_id=rule.id)
    assert (newest.finding.status, resolved.finding.status) == ("open", "resolved")
    assert resolved.finding.id == first.finding.id

    assert ledger.findings(fabrikam) == []
    assert ledger.finding(fabrikam, first.finding.id) is None
    assert (
        ledger.set_status(fabrikam, first.finding.id, status="resolved", actor="x", note=None,
                          now=NOW) is None
    )  # fmt: skip


def test_a_suppression_opens_covered_findings_suppressed(control: ControlStore) -> None:
    contoso = tenant(control, "contoso")
    rule = RULES["vertical_port_scan"]
    case = next(c for c in rule.cases if c.expect)
    ledger = FindingLedger(control)
    scanner = f"{case.check['src_ip']}/32"
    kept = ledger.add_suppression(
        contoso, Suppression(cidr=scanner, reason="our Qualys scanner"), "alice", NOW
    )
    assert [s.id for s in ledger.suppressions(contoso)] == [kept.id]
    db = open_dataset()
    add_flows(db, case.table(), tenant_id=contoso)
    continuous = detector(ledger)
    continuous.touched(contoso, CASE_START, CASE_START + dt.timedelta(hours=1))
    continuous.run(db, NOW)
    (found,) = ledger.findings(contoso, rule_id=rule.id)
    assert found.finding.status == "suppressed"
    assert (found.status_by, found.note) == (f"suppression:{kept.id}", "our Qualys scanner")
    assert ledger.delete_suppression(contoso, kept.id)
    assert not ledger.delete_suppression(contoso, kept.id)
