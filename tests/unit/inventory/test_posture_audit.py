"""The audit in the finding ledger: posture findings open, extend on re-audit, resolve when the
issue is gone, and keep the detections' lifecycle (acknowledge, suppress) and tenant scoping."""

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from flowcdr.config import Settings
from flowcdr.detect.ledger import FindingLedger, Tracked
from flowcdr.detect.settings import Suppression
from flowcdr.inventory.model import Snapshot, rid
from flowcdr.inventory.posture import CHECKS, audit
from flowcdr.inventory.posture.evidence import NsgScope, NsgTraffic
from flowcdr.store.control import ControlStore

from .estate import NOW, NSG_WEB, estate, rule, with_rules
from .posture_helpers import traffic

RDP = rule("AllowAnyRDP", 200, ports=("3389",))
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def control(tmp_path: Path, database_url: str | None) -> Iterator[ControlStore]:
    store = ControlStore.open(Settings(data_dir=tmp_path / "data", database_url=database_url))
    yield store
    store.close()


@pytest.fixture
def ledger(control: ControlStore) -> FindingLedger:
    return FindingLedger(control)


def tenant(control: ControlStore, name: str) -> str:
    return control.add_user(f"user-{name}", name, "admin", "x").tenant_id


class Evidence:
    """A fixed answer (the DuckDB implementation is tested on real flows elsewhere)."""

    def __init__(self, answer: dict[str, NsgTraffic]) -> None:
        self.answer = answer
        self.asked: list[tuple[str, Sequence[NsgScope], dt.datetime, dt.datetime]] = []

    def nsg_traffic(
        self,
        tenant_id: str,
        scopes: Sequence[NsgScope],
        *,
        since: dt.datetime,
        recent: dt.datetime,
        until: dt.datetime,
    ) -> dict[str, NsgTraffic]:
        self.asked.append((tenant_id, scopes, since, recent))
        assert until == NOW or until > NOW
        return self.answer


def posture(ledger: FindingLedger, tenant_id: str, prefix: str = "posture.") -> list[Tracked]:
    found = ledger.findings(tenant_id, limit=1000)
    return [t for t in found if t.finding.rule_id.startswith(prefix)]


def test_every_check_is_a_posture_rule_with_the_detection_metadata() -> None:
    ids = [check.id for check in CHECKS]
    assert len(set(ids)) == len(ids) == 12
    for check in CHECKS:
        assert check.id.startswith("posture.")
        assert check.meta.description
        assert check.meta.runbook
        assert check.meta.tactics or check.meta.mitigations


def test_a_clean_estate_opens_nothing(control: ControlStore, ledger: FindingLedger) -> None:
    result = audit(tenant(control, "a"), estate(), None, ledger, NOW)
    assert (result.found, result.opened, result.extended, result.resolved) == (0, 0, 0, 0)


def test_open_extend_resolve_and_open_again(control: ControlStore, ledger: FindingLedger) -> None:
    me = tenant(control, "a")
    exposed = with_rules(estate(), NSG_WEB, RDP)
    first = audit(me, exposed, None, ledger, NOW)
    assert (first.opened, first.extended, first.resolved) == (1, 0, 0)
    assert first.by_check == {"posture.internet_management_port": 1}
    [tracked] = posture(ledger, me)
    finding = tracked.finding
    assert finding.status == "open"
    assert finding.resource_id == rid(NSG_WEB)
    assert finding.dst_port == 3389
    assert finding.subscription_id == exposed.subscription_id
    assert finding.evidence["kind"] == "posture"
    assert "AllowAnyRDP" in finding.evidence["summary"]
    assert "change rule AllowAnyRDP's source from *" in finding.evidence["fix"]
    assert finding.evidence["why"].startswith("Internet-wide SSH, RDP")

    again = audit(me, exposed, None, ledger, NOW + HOUR)
    assert (again.opened, again.extended, again.resolved) == (0, 1, 0)
    [extended] = posture(ledger, me)
    assert extended.finding.id == finding.id
    assert extended.finding.windows == 2
    assert extended.finding.first_seen == NOW
    assert extended.finding.last_seen == NOW + HOUR

    fixed = audit(me, estate(), None, ledger, NOW + 2 * HOUR)
    assert (fixed.opened, fixed.extended, fixed.resolved) == (0, 0, 1)
    [resolved] = posture(ledger, me)
    assert resolved.finding.status == "resolved"
    assert resolved.status_by == "audit"
    assert resolved.note is not None
    assert "no longer present" in resolved.note

    back = audit(me, exposed, None, ledger, NOW + 3 * HOUR)
    assert (back.opened, back.resolved) == (1, 0)
    assert len(posture(ledger, me)) == 2  # a resolved finding is never reopened by a re-audit


def test_flow_evidence_changes_the_severity_of_the_kept_finding(
    control: ControlStore, ledger: FindingLedger
) -> None:
    me = tenant(control, "a")
    exposed = with_rules(estate(), NSG_WEB, RDP)
    confirmed = Evidence(traffic(NSG_WEB, AllowAnyRDP=(900, 500, 412)))
    audit(me, exposed, confirmed, ledger, NOW)
    # The web NSG's other allows had no flows in the 40 logged days: unused.
    unused = posture(ledger, me, "posture.unused_rule")
    assert sorted(t.finding.dedup_key for t in unused) == [
        f'["posture.unused_rule","{rid(NSG_WEB)}","allowhttpsinbound"]',
        f'["posture.unused_rule","{rid(NSG_WEB)}","allowsshfromcorp"]',
    ]
    [tracked] = posture(ledger, me, "posture.internet")
    assert tracked.finding.severity == "critical"
    assert tracked.finding.flow_count == 500
    assert tracked.finding.evidence["flows"].startswith("412 internet addresses were accepted")
    [(asked_tenant, scopes, since, recent)] = confirmed.asked
    assert asked_tenant == me
    assert since == NOW - dt.timedelta(days=30)
    assert recent == NOW - dt.timedelta(hours=24)
    assert {rid(s.nsg_id): s.macs for s in scopes} == {
        rid(NSG_WEB): ("000D3A0A0001",),
        rid(estate().security_groups[1].id): ("000D3A0A0002",),
    }
    audit(me, exposed, Evidence(traffic(NSG_WEB, AllowAnyRDP=(900, 0, 0))), ledger, NOW + HOUR)
    [quiet] = posture(ledger, me, "posture.internet")
    assert quiet.finding.severity == "medium"  # the current state, not the worst one seen


def test_a_partial_snapshot_resolves_nothing(control: ControlStore, ledger: FindingLedger) -> None:
    me = tenant(control, "a")
    audit(me, with_rules(estate(), NSG_WEB, RDP), None, ledger, NOW)
    partial = estate(security_groups=(), errors=("networkSecurityGroups: 503 after 5 tries",))
    result = audit(me, partial, None, ledger, NOW + HOUR)
    assert result.resolved == 0
    assert [t.finding.status for t in posture(ledger, me)] == ["open"]


def test_acknowledged_resolves_suppressed_stays(
    control: ControlStore, ledger: FindingLedger
) -> None:
    me = tenant(control, "a")
    both = with_rules(estate(), NSG_WEB, RDP, rule("AllowAnySql", 210, ports=("1433",)))
    audit(me, both, None, ledger, NOW)
    by_rule = {t.finding.rule_id: t.finding.id for t in posture(ledger, me)}
    ledger.set_status(
        me, by_rule["posture.internet_management_port"], status="acknowledged",
        actor="alice", note=None, now=NOW,
    )  # fmt: skip
    ledger.set_status(
        me, by_rule["posture.internet_database_port"], status="suppressed",
        actor="alice", note="honeypot", now=NOW,
    )  # fmt: skip
    result = audit(me, estate(), None, ledger, NOW + HOUR)
    assert result.resolved == 1
    statuses = {t.finding.rule_id: t.finding.status for t in posture(ledger, me)}
    assert statuses == {
        "posture.internet_management_port": "resolved",
        "posture.internet_database_port": "suppressed",
    }


def test_a_suppression_covers_a_new_posture_finding(
    control: ControlStore, ledger: FindingLedger
) -> None:
    me = tenant(control, "a")
    ledger.add_suppression(
        me,
        Suppression(rule="posture.internet_management_port", resource=NSG_WEB, reason="lab"),
        "alice",
        NOW,
    )
    audit(me, with_rules(estate(), NSG_WEB, RDP), None, ledger, NOW)
    [tracked] = posture(ledger, me)
    assert tracked.finding.status == "suppressed"


def test_subscriptions_and_tenants_do_not_touch_each_other(
    control: ControlStore, ledger: FindingLedger
) -> None:
    me, them = tenant(control, "a"), tenant(control, "b")
    exposed = with_rules(estate(), NSG_WEB, RDP)
    audit(me, exposed, None, ledger, NOW)
    other_subscription = dataclasses.replace(
        estate(), subscription_id="99999999-1111-2222-3333-444444444444"
    )
    assert audit(me, other_subscription, None, ledger, NOW + HOUR).resolved == 0
    assert audit(them, estate(), None, ledger, NOW + HOUR).resolved == 0
    assert posture(ledger, them) == []
    assert [t.finding.status for t in posture(ledger, me)] == ["open"]


def test_one_issue_per_resource_and_rule(control: ControlStore, ledger: FindingLedger) -> None:
    me = tenant(control, "a")
    snapshot: Snapshot = with_rules(estate(), NSG_WEB, RDP)
    twice = dataclasses.replace(snapshot, security_groups=snapshot.security_groups * 2)
    assert audit(me, twice, None, ledger, NOW).opened == 1


def test_a_failed_kind_keeps_only_the_findings_of_checks_reading_it(
    control: ControlStore, ledger: FindingLedger
) -> None:
    me = tenant(control, "a")
    forever = dataclasses.replace(estate().flow_logs[0], retention_days=0)
    audit(me, with_rules(estate(flow_logs=(forever,)), NSG_WEB, RDP), None, ledger, NOW)
    assert {t.finding.rule_id for t in posture(ledger, me)} == {
        "posture.internet_management_port",
        "posture.flow_log_kept_forever",
    }
    # Both gone from this snapshot, but its flow logs could not be listed.
    failed = estate(flow_logs=(), errors=("flow_logs: 403",), failed_kinds=("flow_logs",))
    assert audit(me, failed, None, ledger, NOW + HOUR).resolved == 1
    statuses = {t.finding.rule_id: t.finding.status for t in posture(ledger, me)}
    assert statuses["posture.internet_management_port"] == "resolved"
    assert statuses["posture.flow_log_kept_forever"] == "open"
