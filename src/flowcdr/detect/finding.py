"""Findings (design.md section 6; the field names are a contract) and how hits become findings.

A rule's query yields *hits*: one row per window in which it fired, keyed by the rule's dedup
columns. A finding is a run of hits with the same key, each starting within ``dedup_seconds``
of the previous one's end: a scan that goes on for three hours is one finding whose
``last_seen`` moves on, not 180. ``FindingBook`` keeps hits by (rule, key, window), so adding
the same window again (a streaming runner re-evaluating it after late flows) replaces it, and
the findings it lists depend only on the set of hits, never on the order they came in. That is
what lets a streaming run and an offline run over the same flows agree exactly.

The gateway's finding store keeps lifecycle (``status``, who and when); ``extend`` is the rule
it applies when a new finding arrives whose dedup key matches an open one.
"""

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from flowcdr.detect.rule import SEVERITIES, Rule, Severity

FindingStatus = Literal["open", "acknowledged", "resolved", "suppressed"]
FindingKind = Literal["detection", "posture"]
KINDS: tuple[FindingKind, ...] = ("detection", "posture")
POSTURE_PREFIX = "posture."
"""A finding's kind is its rule's: the posture audit's rules are named ``posture.<check>``."""
STATUSES: tuple[FindingStatus, ...] = ("open", "acknowledged", "resolved", "suppressed")
_NAMESPACE = uuid.UUID("6f1c3a52-9f3e-4d53-9a43-1e4f0c2b7d11")


@dataclass(frozen=True)
class Hit:
    """One rule row: what fired in one window."""

    rule_id: str
    bucket: dt.datetime
    bucket_end: dt.datetime
    key: tuple[Any, ...]
    src_ip: str | None
    dst_ip: str | None
    dst_port: int | None
    protocol: int | None
    resource_id: str | None
    subscription_id: str | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    flow_count: int
    bytes: int | None
    severity: Severity
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Finding:
    id: str
    rule_id: str
    title: str
    severity: Severity
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]
    src_ip: str | None
    dst_ip: str | None
    dst_port: int | None
    protocol: int | None
    resource_id: str | None
    subscription_id: str | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    flow_count: int
    bytes: int | None
    evidence: dict[str, Any]
    dedup_key: str
    tenant_id: str | None = None
    status: FindingStatus = "open"
    windows: int = 1
    """How many rule windows fired into this finding."""
    related_rules: tuple[str, ...] = ()
    """Corroborating rules whose findings on the same addresses were folded into this one."""

    @property
    def kind(self) -> FindingKind:
        return "posture" if self.rule_id.startswith(POSTURE_PREFIX) else "detection"

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, times as ISO 8601 UTC with a ``Z``, and the ``kind``."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = iso(value) if isinstance(value, dt.datetime) else value
        out["tactics"], out["techniques"] = list(self.tactics), list(self.techniques)
        out["related_rules"] = list(self.related_rules)
        out["kind"] = self.kind
        return out


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dedup_key(rule_id: str, key: Iterable[Any]) -> str:
    """The text that says two findings are the same thing: the rule and its key values."""
    return json.dumps([rule_id, *key], separators=(",", ":"), default=str)


def extend(open_finding: Finding, newer: Finding) -> Finding:
    """A re-firing finding folded into the open one with the same dedup key: the id, status
    and first evidence stay; times widen, counts add, severity keeps the highest."""
    if open_finding.dedup_key != newer.dedup_key:
        raise ValueError("only findings with the same dedup key extend each other")
    return replace(
        open_finding,
        severity=_highest(open_finding.severity, newer.severity),
        first_seen=min(open_finding.first_seen, newer.first_seen),
        last_seen=max(open_finding.last_seen, newer.last_seen),
        flow_count=open_finding.flow_count + newer.flow_count,
        bytes=_add(open_finding.bytes, newer.bytes),
        evidence={**open_finding.evidence, "latest": newer.evidence},
        windows=open_finding.windows + newer.windows,
    )


def _highest(one: Severity, other: Severity) -> Severity:
    return max(one, other, key=SEVERITIES.index)


def _add(one: int | None, other: int | None) -> int | None:
    return None if one is None and other is None else (one or 0) + (other or 0)


@dataclass
class FindingBook:
    """Hits gathered from any number of runs, and the findings they make."""

    rules: dict[str, Rule]
    tenant_id: str | None = None
    _hits: dict[tuple[str, str], dict[dt.datetime, Hit]] = field(default_factory=dict)

    def add(self, hits: Iterable[Hit]) -> None:
        for hit in hits:
            key = (hit.rule_id, dedup_key(hit.rule_id, hit.key))
            self._hits.setdefault(key, {})[hit.bucket] = hit

    def replace(
        self, rule_id: str, start: dt.datetime, end: dt.datetime, hits: Iterable[Hit]
    ) -> None:
        """The rule's windows in ``[start, end)`` were evaluated again: their hits become
        ``hits``, so a window that no longer fires loses its old hit."""
        for (owner, key), by_bucket in list(self._hits.items()):
            if owner != rule_id:
                continue
            for bucket in [b for b in by_bucket if start <= b < end]:
                del by_bucket[bucket]
            if not by_bucket:
                del self._hits[(owner, key)]
        self.add(hits)

    def findings(self) -> Iterator[Finding]:
        """Findings ordered by first_seen, then rule and key."""
        found: list[Finding] = []
        for (rule_id, key), by_bucket in self._hits.items():
            rule = self.rules[rule_id]
            run: list[Hit] = []
            for hit in (by_bucket[bucket] for bucket in sorted(by_bucket)):
                gap = dt.timedelta(seconds=rule.dedup_seconds)
                if run and hit.bucket - run[-1].bucket_end > gap:
                    found.append(self._finding(rule, key, run))
                    run = []
                run.append(hit)
            found.append(self._finding(rule, key, run))
        found.sort(key=lambda f: (f.first_seen, f.rule_id, f.dedup_key))
        return iter(fold_corroboration(found, self.rules))

    def _finding(self, rule: Rule, key: str, run: list[Hit]) -> Finding:
        first = run[0]
        identity = f"{self.tenant_id}|{key}|{first.bucket.isoformat()}"
        strongest = max(run, key=lambda hit: SEVERITIES.index(hit.severity))
        byte_counts = [hit.bytes for hit in run if hit.bytes is not None]
        return Finding(
            id=str(uuid.uuid5(_NAMESPACE, identity)),
            rule_id=rule.id,
            title=rule.meta.title,
            severity=strongest.severity,
            tactics=rule.meta.tactics,
            techniques=rule.meta.techniques,
            src_ip=first.src_ip,
            dst_ip=first.dst_ip,
            dst_port=first.dst_port,
            protocol=first.protocol,
            resource_id=first.resource_id,
            subscription_id=first.subscription_id,
            first_seen=min(hit.first_seen for hit in run),
            last_seen=max(hit.last_seen for hit in run),
            flow_count=sum(hit.flow_count for hit in run),
            bytes=sum(byte_counts) if byte_counts else None,
            evidence=strongest.evidence,
            dedup_key=key,
            tenant_id=self.tenant_id,
            windows=len(run),
        )


def covers(specific: Finding, generic: Finding) -> bool:
    """Whether ``specific`` is about what ``generic`` saw: the same two ends (an end neither
    names, such as the many sources of a spray, counts as the same), the same port when both
    name one, and overlapping times."""
    return (
        specific.src_ip == generic.src_ip
        and specific.dst_ip == generic.dst_ip
        and (None in (specific.dst_port, generic.dst_port) or specific.dst_port == generic.dst_port)
        and specific.first_seen <= generic.last_seen
        and generic.first_seen <= specific.last_seen
    )


def fold_corroboration(found: list[Finding], rules: dict[str, Rule]) -> list[Finding]:
    """Findings of corroborating rules (``RuleMeta.corroborating``) folded into the more
    specific findings that cover them: the specific finding keeps its rule and key, takes the
    higher severity, adds the folded one's ATT&CK after its own (folding must not lose what a
    finding said: a long connection on a C2 port is still protocol tunnelling), names the
    folded rule in ``related_rules`` and its evidence under ``evidence.corroboration``. A
    corroborating finding no other covers stays as it is.

    This depends only on the set of findings, so offline and streaming runs fold alike.
    """

    def generic(finding: Finding) -> bool:
        return rules[finding.rule_id].meta.corroborating

    by_ends: dict[tuple[str | None, str | None], list[Finding]] = {}
    for f in found:
        if not generic(f) and not rules[f.rule_id].meta.insight:
            by_ends.setdefault((f.src_ip, f.dst_ip), []).append(f)
    folded: dict[str, list[Finding]] = {}
    kept: list[Finding] = []
    for finding in found:
        candidates = by_ends.get((finding.src_ip, finding.dst_ip), []) if generic(finding) else []
        owners = [s for s in candidates if covers(s, finding)]
        for owner in owners:
            folded.setdefault(owner.id, []).append(finding)
        if not owners:
            kept.append(finding)
    return [_absorb(f, folded[f.id]) if f.id in folded else f for f in kept]


def _absorb(finding: Finding, generic: list[Finding]) -> Finding:
    related = tuple(dict.fromkeys([*finding.related_rules, *(g.rule_id for g in generic)]))
    tactics = tuple(dict.fromkeys([*finding.tactics, *(t for g in generic for t in g.tactics)]))
    techniques = tuple(
        dict.fromkeys([*finding.techniques, *(t for g in generic for t in g.techniques)])
    )
    severity = finding.severity
    for other in generic:
        severity = _highest(severity, other.severity)
    evidence = {
        **finding.evidence,
        "corroboration": [
            {
                "rule_id": g.rule_id,
                "techniques": list(g.techniques),
                "severity": g.severity,
                "first_seen": iso(g.first_seen),
                "last_seen": iso(g.last_seen),
                "flow_count": g.flow_count,
                **{k: v for k, v in g.evidence.items() if k != "samples"},
            }
            for g in generic
        ],
    }
    return replace(
        finding,
        severity=severity,
        tactics=tactics,
        techniques=techniques,
        related_rules=related,
        evidence=evidence,
    )
