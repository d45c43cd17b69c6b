"""The posture audit of one subscription's snapshot, kept in the finding ledger.

Each check's issues become hits of its ``posture.`` rule: keyed by the resource and the NSG
rule, at the time of the audit. ``FindingLedger.reconcile`` then extends the finding of an
issue found again, opens one for a new issue, and resolves the open findings of the
subscription whose issue is gone. A check resolves nothing when the snapshot failed to list a
kind of resource it reads (``Check.complete_in``): an NSG missing from a partial listing is not
a fixed NSG.
"""

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flowcdr.detect.finding import Hit
from flowcdr.detect.ledger import FindingLedger
from flowcdr.inventory.model import Snapshot, rid
from flowcdr.inventory.posture.check import Audited, AuditSettings, Check, Issue
from flowcdr.inventory.posture.evidence import FlowEvidence
from flowcdr.inventory.posture.exposure import ANY_ANY, DATABASE, MANAGEMENT
from flowcdr.inventory.posture.flow_logging import (
    DISABLED,
    KEPT_FOREVER,
    RETIRING,
    STORAGE_ELSEWHERE,
    UNLOGGED_NSG,
    UNLOGGED_VNET,
)
from flowcdr.inventory.posture.public_vm import PUBLIC_VM
from flowcdr.inventory.posture.rule_hygiene import SHADOWED, UNUSED

CHECKS: tuple[Check, ...] = (
    MANAGEMENT,
    DATABASE,
    ANY_ANY,
    PUBLIC_VM,
    SHADOWED,
    UNUSED,
    UNLOGGED_VNET,
    UNLOGGED_NSG,
    DISABLED,
    KEPT_FOREVER,
    STORAGE_ELSEWHERE,
    RETIRING,
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditResult:
    subscription_id: str
    found: int
    """Issues present in the snapshot."""
    opened: int
    extended: int
    resolved: int
    by_check: dict[str, int] = field(default_factory=dict)
    changed: tuple[str, ...] = ()
    """Ids of the findings opened or extended (for the webhooks' notifier)."""


def _hit(check: Check, issue: Issue, snapshot: Snapshot, now: dt.datetime) -> Hit:
    evidence: dict[str, Any] = {
        "kind": "posture",
        "summary": issue.summary,
        "why": check.meta.description,
        "fix": issue.fix,
        "resource": issue.resource_id,
        "rule": issue.rule,
        **({"flows": issue.flow_evidence} if issue.flow_evidence else {}),
        **dict(issue.details),
    }
    return Hit(
        rule_id=check.id,
        bucket=now,
        bucket_end=now,
        key=issue.key,
        src_ip=None,
        dst_ip=None,
        dst_port=issue.port,
        protocol=None,
        resource_id=rid(issue.resource_id),
        subscription_id=snapshot.subscription_id,
        first_seen=now,
        last_seen=now,
        flow_count=issue.flow_count,
        bytes=None,
        severity=issue.severity,
        evidence=evidence,
    )


def find_issues(audited: Audited, checks: Sequence[Check] = CHECKS) -> dict[str, list[Issue]]:
    """Every check's issues, one per key (the first when a check repeats itself)."""
    found: dict[str, list[Issue]] = {}
    for check in checks:
        unique = {issue.key: issue for issue in reversed(list(check.find(audited)))}
        found[check.id] = list(reversed(unique.values()))
    return found


def audit(
    tenant_id: str,
    snapshot: Snapshot,
    evidence: FlowEvidence | None,
    ledger: FindingLedger,
    now: dt.datetime,
    *,
    settings: AuditSettings | None = None,
    checks: Sequence[Check] = CHECKS,
) -> AuditResult:
    """Audit ``snapshot`` for ``tenant_id`` at ``now`` and keep the findings in ``ledger``.

    ``evidence`` (None: audit configuration alone) is asked once, for the NSGs' traffic over
    the unused-rule window."""
    settings = settings or AuditSettings()
    audited = Audited(snapshot, now, None, settings)
    if evidence is not None:
        audited.traffic = evidence.nsg_traffic(
            tenant_id,
            audited.scopes(),
            since=now - dt.timedelta(days=settings.unused_days),
            recent=now - dt.timedelta(hours=settings.recent_hours),
            until=now,
        )
    issues = find_issues(audited, checks)
    opened = extended = resolved = 0
    changed: list[str] = []
    for check in checks:
        hits = [_hit(check, issue, snapshot, now) for issue in issues[check.id]]
        done = ledger.reconcile(
            tenant_id,
            check.meta,
            subscription_id=snapshot.subscription_id,
            hits=hits,
            now=now,
            resolve=check.complete_in(snapshot),
        )
        changed.extend(done.changed)
        opened, extended, resolved = (
            opened + done.opened,
            extended + done.extended,
            resolved + done.resolved,
        )
    result = AuditResult(
        snapshot.subscription_id,
        sum(len(found) for found in issues.values()),
        opened,
        extended,
        resolved,
        {check_id: len(found) for check_id, found in issues.items() if found},
        tuple(changed),
    )
    log.info(
        "posture audit of subscription %s: %d issues, %d opened, %d extended, %d resolved",
        snapshot.subscription_id,
        result.found,
        opened,
        extended,
        resolved,
    )
    return result
