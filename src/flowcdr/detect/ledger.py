"""The gateway's findings: what the rules found, kept with its lifecycle in the control database.

A stored finding is the sum of its hits (one per rule window that fired). ``record`` is told
which windows of a rule were evaluated and which hits they gave; it replaces the hits of those
windows, so a window evaluated again after late flows changes its finding instead of adding a
second one, and a window that no longer fires gives its hit back. A new hit joins the finding
with the same rule and dedup key whose windows it falls within the rule's dedup time of
(design.md: a re-firing finding extends the open one); otherwise it opens a new finding,
``suppressed`` at once when a tenant's suppression covers it. Resolved findings are never
extended: the same thing happening again afterwards is a new finding.

Lifecycle changes (acknowledge, resolve, suppress, reopen) record who and when.
"""

import datetime as dt
import json
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from flowcdr.detect.finding import (
    POSTURE_PREFIX,
    STATUSES,
    Finding,
    FindingKind,
    FindingStatus,
    Hit,
    dedup_key,
    iso,
)
from flowcdr.detect.rule import SEVERITIES, Rule, RuleMeta
from flowcdr.detect.settings import Suppression
from flowcdr.errors import FlowcdrError
from flowcdr.store.control import ControlStore
from flowcdr.store.schema import finding_hits, findings, suppressions

_ACTIVE = ("open", "acknowledged", "suppressed")


class LedgerError(FlowcdrError):
    """A lifecycle change that cannot be made."""


@dataclass(frozen=True)
class Tracked:
    """A stored finding and its lifecycle: who changed its status last, when, and why."""

    finding: Finding
    status_by: str | None
    status_at: str | None
    note: str | None
    created_at: str
    updated_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.finding.as_dict(),
            "status_by": self.status_by,
            "status_at": self.status_at,
            "note": self.note,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class StoredSuppression:
    id: str
    rule: Suppression
    created_by: str
    created_at: str


@dataclass(frozen=True)
class Reconciled:
    """What a state check's reconciliation did: findings opened, extended and resolved."""

    opened: int
    extended: int
    resolved: int
    changed: tuple[str, ...] = ()
    """Ids of the findings opened or extended: what webhooks may announce."""


class FindingLedger:
    """Findings, hits and suppressions of every tenant; every call names its tenant."""

    def __init__(self, control: ControlStore) -> None:
        self._control = control

    # Recording what the rules found ------------------------------------------------------

    def record(
        self,
        tenant_id: str,
        rule: Rule,
        *,
        start: dt.datetime,
        end: dt.datetime,
        hits: Iterable[Hit],
        now: dt.datetime,
    ) -> set[str]:
        """The rule's windows in ``[start, end)`` were evaluated and gave ``hits``; returns the
        ids of the findings that changed."""
        new = {(dedup_key(rule.id, hit.key), iso(hit.bucket)): hit for hit in hits}
        touched: set[str] = set()
        stamp = iso(now)
        with self._control.write() as c:
            old = {
                (row.dedup_key, row.bucket): row.finding_id
                for row in c.execute(
                    sa.select(finding_hits.c.dedup_key, finding_hits.c.bucket,
                              finding_hits.c.finding_id).where(
                        finding_hits.c.tenant_id == tenant_id,
                        finding_hits.c.rule_id == rule.id,
                        finding_hits.c.bucket >= iso(start),
                        finding_hits.c.bucket < iso(end),
                    )
                )
            }  # fmt: skip
            for (key, bucket), finding_id in old.items():
                if (key, bucket) not in new:
                    c.execute(
                        finding_hits.delete().where(*_hit_key(tenant_id, rule.id, key, bucket))
                    )
                    touched.add(finding_id)
            active = self._suppressions(c, tenant_id)
            for (key, bucket), hit in sorted(new.items(), key=lambda item: item[0][1]):
                finding_id = old.get((key, bucket))
                if finding_id is not None:
                    c.execute(
                        finding_hits.update()
                        .where(*_hit_key(tenant_id, rule.id, key, bucket))
                        .values(bucket_end=iso(hit.bucket_end), hit=_hit_json(hit))
                    )
                else:
                    finding_id = self._owner(c, tenant_id, rule, key, hit)
                    if finding_id is None:
                        finding_id = self._open(
                            c, tenant_id, rule.meta, key, hit, active=active, now=now
                        )
                    c.execute(
                        finding_hits.insert().values(
                            tenant_id=tenant_id,
                            rule_id=rule.id,
                            dedup_key=key,
                            bucket=bucket,
                            finding_id=finding_id,
                            bucket_end=iso(hit.bucket_end),
                            hit=_hit_json(hit),
                        )
                    )
                touched.add(finding_id)
            for finding_id in touched:
                _refresh(c, finding_id, stamp)
        return touched

    def fold(
        self,
        tenant_id: str,
        finding_ids: Collection[str],
        rules: Mapping[str, Rule],
        *,
        now: dt.datetime,
    ) -> set[str]:
        """Fold corroborating findings (``RuleMeta.corroborating``: a threat-intel match) into
        the more specific findings that cover them, as ``finding.fold_corroboration`` does
        offline, for the findings ``finding_ids`` that a ``record`` just changed. Stored
        findings keep their hits, so a folded one is not deleted: it is ``suppressed`` by
        ``correlation:<id of the specific finding>``, its note naming that finding. Only open
        ones are folded (a person's triage stands). Returns the ids suppressed."""
        generic = [rule_id for rule_id, rule in rules.items() if rule.meta.corroborating]
        attacks = [
            rule_id
            for rule_id, rule in rules.items()
            if not (rule.meta.corroborating or rule.meta.insight)
        ]
        if not generic or not finding_ids:
            return set()
        stamp = iso(now)
        folded: set[str] = set()
        with self._control.write() as c:
            changed = c.execute(
                sa.select(findings).where(
                    findings.c.tenant_id == tenant_id,
                    findings.c.id.in_(list(finding_ids)),
                    findings.c.status.in_(_ACTIVE),
                )
            ).mappings()
            for row in list(changed):
                if row["rule_id"] in generic:
                    pairs = [(row, owner) for owner in _covering(c, row, attacks, owners=True)]
                else:
                    pairs = [(other, row) for other in _covering(c, row, generic, owners=False)]
                for item, owner in pairs:
                    if item["status"] != "open" or item["id"] in folded:
                        continue
                    c.execute(
                        findings.update()
                        .where(findings.c.id == item["id"])
                        .values(
                            status="suppressed",
                            status_by=f"correlation:{owner['id']}",
                            status_at=stamp,
                            note=f"folded into {owner['rule_id']} finding {owner['id']}",
                            updated_at=stamp,
                        )
                    )
                    folded.add(item["id"])
        return folded

    def reconcile(
        self,
        tenant_id: str,
        check: RuleMeta,
        *,
        subscription_id: str,
        hits: Iterable[Hit],
        now: dt.datetime,
        resolve: bool = True,
    ) -> Reconciled:
        """A state check (the posture audit of one subscription) found ``hits``: one per issue
        present now, ``key`` naming the issue. An issue with an active finding of the same
        dedup key extends it: ``last_seen`` moves to now and severity, counts and evidence
        become the current ones (a state is as bad as it is now, not as it once was). A new
        issue opens a finding, suppressed at once when a suppression covers it. An open or
        acknowledged finding of ``check`` in the subscription whose issue is gone is resolved
        by ``audit``; a suppressed one stays suppressed (someone decided so, and the issue
        coming back extends it). ``resolve=False`` (a partial view) resolves nothing. State
        checks keep no per-window hits: their findings are never re-evaluated by ``record``."""
        seen: dict[str, Hit] = {}
        for hit in hits:
            if hit.subscription_id != subscription_id:
                raise LedgerError(
                    f"{check.id}: a hit of subscription {hit.subscription_id!r} in the "
                    f"reconciliation of {subscription_id!r}"
                )
            seen[dedup_key(check.id, hit.key)] = hit
        stamp = iso(now)
        with self._control.write() as c:
            active = {
                row.dedup_key: row
                for row in c.execute(
                    sa.select(findings.c.id, findings.c.dedup_key, findings.c.status,
                              findings.c.windows)
                    .where(
                        findings.c.tenant_id == tenant_id,
                        findings.c.rule_id == check.id,
                        findings.c.subscription_id == subscription_id,
                        findings.c.status.in_(_ACTIVE),
                    )
                    .order_by(findings.c.created_at)
                )
            }  # fmt: skip
            covering = self._suppressions(c, tenant_id)
            opened_rows, extended_rows = [], []
            for key, hit in seen.items():
                row = active.get(key)
                if row is None:
                    opened_rows.append(
                        _new_row(tenant_id, check, key, hit, active=covering, now=now)
                    )
                else:
                    extended_rows.append({
                        "finding": row.id, "v_severity": hit.severity,
                        "v_last_seen": iso(hit.last_seen), "v_flow_count": hit.flow_count,
                        "v_bytes": hit.bytes, "v_evidence": json.dumps(hit.evidence),
                        "v_windows": row.windows + 1, "v_last_bucket_end": iso(hit.bucket_end),
                    })  # fmt: skip
            gone = [
                {"finding": row.id}
                for key, row in active.items()
                if resolve and key not in seen and row.status != "suppressed"
            ]
            # One statement per kind of change, run for all its rows (an audit of a large
            # estate changes thousands of findings at once).
            if opened_rows:
                c.execute(findings.insert(), opened_rows)
            if extended_rows:
                c.execute(
                    findings.update()
                    .where(findings.c.id == sa.bindparam("finding"))
                    .values(
                        {  # bound names may not be column names in an UPDATE's SET
                            **{
                                name.removeprefix("v_"): sa.bindparam(name)
                                for name in extended_rows[0]
                                if name != "finding"
                            },
                            "updated_at": stamp,
                        }
                    ),
                    extended_rows,
                )
            if gone:
                c.execute(
                    findings.update()
                    .where(findings.c.id == sa.bindparam("finding"))
                    .values(
                        status="resolved",
                        status_by="audit",
                        status_at=stamp,
                        note=f"no longer present at the audit of {stamp}",
                        updated_at=stamp,
                    ),
                    gone,
                )
            opened, extended, resolved = len(opened_rows), len(extended_rows), len(gone)
        changed = tuple(row["id"] for row in opened_rows) + tuple(
            row["finding"] for row in extended_rows
        )
        return Reconciled(opened, extended, resolved, changed)

    def _owner(
        self, c: sa.Connection, tenant_id: str, rule: Rule, key: str, hit: Hit
    ) -> str | None:
        gap = dt.timedelta(seconds=rule.dedup_seconds)
        found = c.execute(
            sa.select(findings.c.id)
            .where(
                findings.c.tenant_id == tenant_id,
                findings.c.rule_id == rule.id,
                findings.c.dedup_key == key,
                findings.c.status.in_(_ACTIVE),
                findings.c.first_bucket <= iso(hit.bucket_end + gap),
                findings.c.last_bucket_end >= iso(hit.bucket - gap),
            )
            .order_by(findings.c.last_bucket_end.desc())
            .limit(1)
        ).scalar_one_or_none()
        return None if found is None else str(found)

    def _open(
        self,
        c: sa.Connection,
        tenant_id: str,
        rule: RuleMeta,
        key: str,
        hit: Hit,
        *,
        active: Sequence[StoredSuppression],
        now: dt.datetime,
    ) -> str:
        row = _new_row(tenant_id, rule, key, hit, active=active, now=now)
        c.execute(findings.insert().values(**row))
        return str(row["id"])

    # Reading and triage ------------------------------------------------------------------

    def findings(
        self,
        tenant_id: str,
        *,
        status: FindingStatus | None = None,
        severity: str | None = None,
        rule_id: str | None = None,
        kind: FindingKind | None = None,
        ip: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
        before: tuple[str, str] | None = None,
    ) -> list[Tracked]:
        """Newest activity first (``last_seen``, then id); ``before`` is the last page's end."""
        query = sa.select(findings).where(findings.c.tenant_id == tenant_id)
        if status is not None:
            query = query.where(findings.c.status == status)
        if severity is not None:
            query = query.where(findings.c.severity == severity)
        if rule_id is not None:
            query = query.where(findings.c.rule_id == rule_id)
        if kind is not None:
            query = query.where(of_kind(kind))
        if ip is not None:
            query = query.where(sa.or_(findings.c.src_ip == ip, findings.c.dst_ip == ip))
        if since is not None:
            query = query.where(findings.c.last_seen >= iso(since))
        if until is not None:
            query = query.where(findings.c.first_seen < iso(until))
        if before is not None:
            query = query.where(sa.tuple_(findings.c.last_seen, findings.c.id) < sa.tuple_(*before))
        query = query.order_by(findings.c.last_seen.desc(), findings.c.id.desc()).limit(limit)
        with self._control.engine.connect() as c:
            return [_tracked(row) for row in c.execute(query).mappings()]

    def finding(self, tenant_id: str, finding_id: str) -> Tracked | None:
        with self._control.engine.connect() as c:
            row = (
                c.execute(
                    sa.select(findings).where(
                        findings.c.tenant_id == tenant_id, findings.c.id == finding_id
                    )
                )
                .mappings()
                .one_or_none()
            )
        return None if row is None else _tracked(row)

    def set_status(
        self,
        tenant_id: str,
        finding_id: str,
        *,
        status: FindingStatus,
        actor: str,
        note: str | None,
        now: dt.datetime,
    ) -> Tracked | None:
        """Move a finding in its lifecycle; None when the tenant has no such finding."""
        if status not in STATUSES:
            raise LedgerError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        with self._control.write() as c:
            changed = c.execute(
                findings.update()
                .where(findings.c.tenant_id == tenant_id, findings.c.id == finding_id)
                .values(
                    status=status,
                    status_by=actor,
                    status_at=iso(now),
                    note=note,
                    updated_at=iso(now),
                )
            ).rowcount
        return self.finding(tenant_id, finding_id) if changed else None

    # Suppressions ------------------------------------------------------------------------

    def add_suppression(
        self, tenant_id: str, rule: Suppression, actor: str, now: dt.datetime
    ) -> StoredSuppression:
        """Keep a suppression; findings opened from now on that it covers start suppressed."""
        stored = StoredSuppression(str(uuid.uuid4()), rule, actor, iso(now))
        with self._control.write() as c:
            c.execute(
                suppressions.insert().values(
                    id=stored.id,
                    tenant_id=tenant_id,
                    cidr=rule.cidr,
                    port=rule.port,
                    rule_id=rule.rule,
                    resource_id=rule.resource,
                    reason=rule.reason,
                    created_by=actor,
                    created_at=stored.created_at,
                    expires_at=iso(rule.expires) if rule.expires else None,
                )
            )
        return stored

    def suppressions(self, tenant_id: str) -> list[StoredSuppression]:
        with self._control.engine.connect() as c:
            return self._suppressions(c, tenant_id)

    def delete_suppression(self, tenant_id: str, suppression_id: str) -> bool:
        with self._control.write() as c:
            deleted = c.execute(
                suppressions.delete().where(
                    suppressions.c.tenant_id == tenant_id, suppressions.c.id == suppression_id
                )
            ).rowcount
        return bool(deleted)

    @staticmethod
    def _suppressions(c: sa.Connection, tenant_id: str) -> list[StoredSuppression]:
        rows = c.execute(
            sa.select(suppressions)
            .where(suppressions.c.tenant_id == tenant_id)
            .order_by(suppressions.c.created_at, suppressions.c.id)
        ).mappings()
        return [
            StoredSuppression(
                row["id"],
                Suppression(
                    cidr=row["cidr"],
                    port=row["port"],
                    rule=row["rule_id"],
                    resource=row["resource_id"],
                    expires=dt.datetime.fromisoformat(row["expires_at"])
                    if row["expires_at"]
                    else None,
                    reason=row["reason"],
                ),
                row["created_by"],
                row["created_at"],
            )
            for row in rows
        ]


def _new_row(
    tenant_id: str,
    rule: RuleMeta,
    key: str,
    hit: Hit,
    *,
    active: Sequence[StoredSuppression],
    now: dt.datetime,
) -> dict[str, Any]:
    """The ``findings`` row a new hit opens: suppressed at once when a suppression covers it."""
    finding = _finding_of(tenant_id, rule, key, hit)
    cover = next((s for s in active if s.rule.covers(finding, now)), None)
    return {
        "id": finding.id,
        "tenant_id": tenant_id,
        "rule_id": rule.id,
        "dedup_key": key,
        "title": rule.title,
        "severity": hit.severity,
        "tactics": json.dumps(list(rule.tactics)),
        "techniques": json.dumps(list(rule.techniques)),
        "src_ip": hit.src_ip,
        "dst_ip": hit.dst_ip,
        "dst_port": hit.dst_port,
        "protocol": hit.protocol,
        "resource_id": hit.resource_id,
        "subscription_id": hit.subscription_id,
        "first_seen": iso(hit.first_seen),
        "last_seen": iso(hit.last_seen),
        "flow_count": hit.flow_count,
        "bytes": hit.bytes,
        "windows": 1,
        "evidence": json.dumps(hit.evidence),
        "first_bucket": iso(hit.bucket),
        "last_bucket_end": iso(hit.bucket_end),
        "status": "suppressed" if cover else "open",
        "status_by": f"suppression:{cover.id}" if cover else None,
        "status_at": iso(now) if cover else None,
        "note": cover.rule.reason if cover else None,
        "created_at": iso(now),
        "updated_at": iso(now),
    }


def _covering(
    c: sa.Connection, row: sa.RowMapping, rule_ids: list[str], *, owners: bool
) -> list[sa.RowMapping]:
    """Active findings of ``rule_ids`` on the same ends as ``row`` (``finding.covers``): the
    specific findings covering a corroborating ``row`` (``owners``), or the open corroborating
    findings a specific ``row`` covers."""
    query = sa.select(findings).where(
        findings.c.tenant_id == row["tenant_id"],
        findings.c.rule_id.in_(rule_ids),
        findings.c.status.in_(_ACTIVE if owners else ("open",)),
        findings.c.src_ip.is_not_distinct_from(row["src_ip"]),
        findings.c.dst_ip.is_not_distinct_from(row["dst_ip"]),
        findings.c.first_seen <= row["last_seen"],
        findings.c.last_seen >= row["first_seen"],
    )
    if row["dst_port"] is not None:
        query = query.where(
            sa.or_(findings.c.dst_port.is_(None), findings.c.dst_port == row["dst_port"])
        )
    return list(c.execute(query.order_by(findings.c.created_at, findings.c.id)).mappings())


def of_kind(kind: FindingKind) -> sa.ColumnElement[bool]:
    """The findings of one kind (``finding.POSTURE_PREFIX``), as a condition on the table."""
    posture = findings.c.rule_id.startswith(POSTURE_PREFIX, autoescape=True)
    return posture if kind == "posture" else sa.not_(posture)


def _hit_key(
    tenant_id: str, rule_id: str, key: str, bucket: str
) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        finding_hits.c.tenant_id == tenant_id,
        finding_hits.c.rule_id == rule_id,
        finding_hits.c.dedup_key == key,
        finding_hits.c.bucket == bucket,
    )


def _hit_json(hit: Hit) -> str:
    return json.dumps(
        {
            "src_ip": hit.src_ip,
            "dst_ip": hit.dst_ip,
            "dst_port": hit.dst_port,
            "protocol": hit.protocol,
            "resource_id": hit.resource_id,
            "subscription_id": hit.subscription_id,
            "first_seen": iso(hit.first_seen),
            "last_seen": iso(hit.last_seen),
            "flow_count": hit.flow_count,
            "bytes": hit.bytes,
            "severity": hit.severity,
            "evidence": hit.evidence,
        }
    )


def _finding_of(tenant_id: str, rule: RuleMeta, key: str, hit: Hit) -> Finding:
    return Finding(
        id=str(uuid.uuid4()),
        rule_id=rule.id,
        title=rule.title,
        severity=hit.severity,
        tactics=rule.tactics,
        techniques=rule.techniques,
        src_ip=hit.src_ip,
        dst_ip=hit.dst_ip,
        dst_port=hit.dst_port,
        protocol=hit.protocol,
        resource_id=hit.resource_id,
        subscription_id=hit.subscription_id,
        first_seen=hit.first_seen,
        last_seen=hit.last_seen,
        flow_count=hit.flow_count,
        bytes=hit.bytes,
        evidence=hit.evidence,
        dedup_key=key,
        tenant_id=tenant_id,
    )


def _refresh(c: sa.Connection, finding_id: str, stamp: str) -> None:
    """Make a finding the sum of its hits again; an open finding left without hits goes."""
    rows = c.execute(
        sa.select(finding_hits.c.bucket, finding_hits.c.bucket_end, finding_hits.c.hit)
        .where(finding_hits.c.finding_id == finding_id)
        .order_by(finding_hits.c.bucket)
    ).all()
    if not rows:
        c.execute(findings.delete().where(findings.c.id == finding_id, findings.c.status == "open"))
        return
    hits = [json.loads(row.hit) for row in rows]
    first = hits[0]
    strongest = max(hits, key=lambda hit: SEVERITIES.index(hit["severity"]))
    counted = [hit["bytes"] for hit in hits if hit["bytes"] is not None]
    c.execute(
        findings.update()
        .where(findings.c.id == finding_id)
        .values(
            severity=strongest["severity"],
            src_ip=first["src_ip"],
            dst_ip=first["dst_ip"],
            dst_port=first["dst_port"],
            protocol=first["protocol"],
            resource_id=first["resource_id"],
            subscription_id=first["subscription_id"],
            first_seen=min(hit["first_seen"] for hit in hits),
            last_seen=max(hit["last_seen"] for hit in hits),
            flow_count=sum(hit["flow_count"] for hit in hits),
            bytes=sum(counted) if counted else None,
            windows=len(hits),
            evidence=json.dumps(
                {**strongest["evidence"], "latest": hits[-1]["evidence"]}
                if len(hits) > 1
                else strongest["evidence"]
            ),
            first_bucket=rows[0].bucket,
            last_bucket_end=max(row.bucket_end for row in rows),
            updated_at=stamp,
        )
    )


def _tracked(row: sa.RowMapping) -> Tracked:
    finding = Finding(
        id=row["id"],
        rule_id=row["rule_id"],
        title=row["title"],
        severity=row["severity"],
        tactics=tuple(json.loads(row["tactics"])),
        techniques=tuple(json.loads(row["techniques"])),
        src_ip=row["src_ip"],
        dst_ip=row["dst_ip"],
        dst_port=row["dst_port"],
        protocol=row["protocol"],
        resource_id=row["resource_id"],
        subscription_id=row["subscription_id"],
        first_seen=_time(row["first_seen"]),
        last_seen=_time(row["last_seen"]),
        flow_count=row["flow_count"],
        bytes=row["bytes"],
        evidence=json.loads(row["evidence"]),
        dedup_key=row["dedup_key"],
        tenant_id=row["tenant_id"],
        status=row["status"],
        windows=row["windows"],
    )
    return Tracked(
        finding,
        row["status_by"],
        row["status_at"],
        row["note"],
        row["created_at"],
        row["updated_at"],
    )


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
