"""Rule hygiene: rules that can never match (shadowed) and allows that nothing uses (unused).

Shadowed: Azure evaluates an NSG's rules of one direction by priority, lowest number first,
and stops at the first match; a rule whose every packet an earlier rule already matches never
decides anything. Only a single earlier rule that certainly covers it is reported
(``nsg_rules.rule_covers``): a union of several rules covering it is not proven here. A deny
that an earlier allow shadows is the dangerous case: the block someone wrote does nothing.

Unused: a custom allow rule that no flow matched for ``unused_days`` while the NSG's flows were
being logged that whole time is access nobody needs (least privilege says remove it). A deny
without hits is left alone: it may just mean nobody tried.
"""

import datetime as dt
from collections.abc import Iterator

from flowcdr.detect.rule import RuleMeta, Severity
from flowcdr.inventory.posture.check import Audited, Check, Issue
from flowcdr.inventory.posture.nsg_rules import describe

# Flows reach the store minutes after they happen; coverage that starts within this of the
# window's start counts as the whole window.
_COVERAGE_SLACK = dt.timedelta(days=1)


def _shadowed(audited: Audited) -> Iterator[Issue]:
    for nsg in audited.snapshot.security_groups:
        for rule in nsg.rules:
            if rule.default:
                continue
            earlier = audited.shadowed_by(nsg, rule)
            if earlier is None:
                continue
            severity: Severity = "low"
            effect = "never matches"
            if rule.access == "Deny" and earlier.access == "Allow":
                severity, effect = (
                    "medium",
                    "never blocks anything: the traffic it denies is allowed",
                )
            elif rule.access == "Allow" and earlier.access == "Deny":
                effect = "never allows anything: the traffic it allows is denied"
            nsg_traffic, used = audited.rule_traffic(nsg.id, rule.name)
            sentence = None
            if nsg_traffic is not None:
                sentence = f"{used.flows if used else 0} logged flows were decided by it"
            yield Issue(
                nsg.id,
                rule.name,
                f"NSG {nsg.name} (resource group {nsg.resource_group}) rule {rule.name} "
                f"{effect} by rule {earlier.name} (priority {earlier.priority}), which is "
                f"evaluated first and covers all its traffic: {describe(rule)}",
                f"In NSG {nsg.name}, "
                + (
                    f"give rule {rule.name} a priority number below {earlier.priority} or "
                    f"narrow rule {earlier.name} so that it no longer covers it."
                    if rule.access != earlier.access
                    else f"delete rule {rule.name}: rule {earlier.name} already does its work."
                ),
                severity,
                sentence,
                details={"rule": describe(rule), "shadowed_by": describe(earlier)},
            )


def _unused(audited: Audited) -> Iterator[Issue]:
    if audited.traffic is None:
        return
    days = audited.settings.unused_days
    since = audited.now - dt.timedelta(days=days)
    for nsg in audited.snapshot.security_groups:
        nsg_traffic, _ = audited.rule_traffic(nsg.id, "")
        if nsg_traffic is None or nsg_traffic.first_seen > since + _COVERAGE_SLACK:
            continue  # not logged long enough to say what went unused
        for rule in nsg.rules:
            if rule.default or rule.access != "Allow":
                continue
            _, used = audited.rule_traffic(nsg.id, rule.name)
            if used is not None and used.flows:
                continue
            yield Issue(
                nsg.id,
                rule.name,
                f"NSG {nsg.name} (resource group {nsg.resource_group}) rule {rule.name} "
                f"matched no flow in {days} days while the NSG's flows were logged: "
                f"{describe(rule)}",
                f"In NSG {nsg.name}, delete rule {rule.name} (note its settings first, to "
                f"restore it if something turns out to need it).",
                "low",
                f"0 of the NSG's flows since {nsg_traffic.first_seen:%Y-%m-%d} matched it",
                details={"rule": describe(rule), "days": days},
            )


SHADOWED = Check(
    RuleMeta(
        id="posture.shadowed_rule",
        title="NSG rule shadowed by a higher-priority rule",
        level="low",
        description=(
            "A rule that an earlier rule fully covers never decides anything: it misleads "
            "whoever reads the NSG, and a shadowed deny means traffic someone meant to block "
            "is allowed."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1037",),
        insight=True,
        false_positives=("A rule kept on purpose as documentation of intent.",),
        runbook="Reorder the rules, narrow the covering rule, or delete the shadowed one.",
    ),
    _shadowed,
    reads=("security_groups",),
)

UNUSED = Check(
    RuleMeta(
        id="posture.unused_rule",
        title="NSG allow rule with no traffic",
        level="low",
        description=(
            "An allow rule nothing used for weeks is access nobody needs; every such rule is "
            "an opening an attacker may find before you remember it."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1037",),
        insight=True,
        false_positives=(
            "Rules for rare events (disaster recovery, quarterly jobs): suppress them.",
        ),
        runbook="Delete the rule, keeping a record of it to restore if needed.",
    ),
    _unused,
    reads=("security_groups",),
)
