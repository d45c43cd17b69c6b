"""What a posture check is: detection-rule metadata plus a pure function from a snapshot to issues.

A check reads an ``Audited`` (the snapshot, the time, the flow evidence when there is some) and
yields ``Issue`` values. The audit turns each issue into a hit of kind "posture" for the
finding ledger, keyed by the resource and the NSG rule, so the same issue found again by the
next audit extends its finding and an issue that is gone resolves it.
"""

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowcdr.detect.rule import SEVERITIES, RuleMeta, Severity
from flowcdr.inventory.model import (
    KINDS,
    NetworkInterface,
    NetworkSecurityGroup,
    SecurityRule,
    Snapshot,
    Subnet,
    VirtualNetwork,
    rid,
)
from flowcdr.inventory.posture.evidence import NsgScope, NsgTraffic, RuleTraffic, rule_key
from flowcdr.inventory.posture.nsg_rules import shadowing_rule

PREFIX = "posture."
_LOGGED_NAME = 64
"""NSG flow logs may truncate rule names longer than about this (research/formats.md)."""


@dataclass(frozen=True)
class AuditSettings:
    unused_days: int = 30
    """A rule no flow matched for this long, while its NSG's flows were logged, is unused."""
    recent_hours: int = 24
    """The window whose accepted internet sources confirm an exposure."""

    def __post_init__(self) -> None:
        if self.unused_days < 1 or self.recent_hours < 1:
            raise ValueError("audit windows must be at least 1 day and 1 hour")


@dataclass(frozen=True)
class Issue:
    """One posture problem: the resource at fault, the rule when it is about one, what is wrong
    (naming both), the exact change that fixes it, and what the flows said."""

    resource_id: str
    rule: str | None
    summary: str
    fix: str
    severity: Severity
    flow_evidence: str | None = None
    flow_count: int = 0
    port: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """What makes two audits' issues the same one: the resource and the rule."""
        return (rid(self.resource_id), (self.rule or "").lower())


@dataclass
class Audited:
    """A snapshot being audited, with lookups by resource id and the flow evidence."""

    snapshot: Snapshot
    now: dt.datetime
    traffic: Mapping[str, NsgTraffic] | None = None
    """Flows per NSG from the evidence; None when the audit ran without flow evidence."""
    settings: AuditSettings = field(default_factory=AuditSettings)
    _shadows: dict[tuple[str, str, str, int], SecurityRule | None] = field(
        default_factory=dict, repr=False
    )

    @functools.cached_property
    def nsgs(self) -> dict[str, NetworkSecurityGroup]:
        return {rid(nsg.id): nsg for nsg in self.snapshot.security_groups}

    @functools.cached_property
    def subnets(self) -> dict[str, Subnet]:
        return {rid(subnet.id): subnet for subnet in self.snapshot.subnets}

    @functools.cached_property
    def vnets(self) -> dict[str, VirtualNetwork]:
        return {rid(vnet.id): vnet for vnet in self.snapshot.virtual_networks}

    @functools.cached_property
    def nics(self) -> dict[str, NetworkInterface]:
        return {rid(nic.id): nic for nic in self.snapshot.network_interfaces}

    def nsgs_of(self, nic: NetworkInterface) -> set[str]:
        """The NSGs filtering a NIC's traffic: its own and its subnets' (by ``rid``)."""
        found = {rid(nic.nsg_id)} if nic.nsg_id else set()
        for subnet_id in nic.subnet_ids:
            subnet = self.subnets.get(rid(subnet_id))
            if subnet is not None and subnet.nsg_id:
                found.add(rid(subnet.nsg_id))
        return found

    @functools.cached_property
    def public_ips(self) -> dict[str, list[str]]:
        """Public addresses (or, while unallocated, their resource names) by NIC ``rid``, from
        the NIC's list and from the address's own side."""
        by_nic: dict[str, list[str]] = {}
        addresses = {rid(ip.id): ip for ip in self.snapshot.public_ips}
        for nic_key, nic in self.nics.items():
            for ip_id in nic.public_ip_ids:
                ip = addresses.get(rid(ip_id))
                by_nic.setdefault(nic_key, []).append(ip.ip_address or ip.name if ip else ip_id)
        for ip in self.snapshot.public_ips:
            nic_key = rid(ip.ip_configuration_id or "").split("/ipconfigurations/")[0]
            listed = (
                {rid(i) for i in self.nics[nic_key].public_ip_ids}
                if nic_key in self.nics
                else set()
            )
            if nic_key in self.nics and rid(ip.id) not in listed:
                by_nic.setdefault(nic_key, []).append(ip.ip_address or ip.name)
        return by_nic

    @functools.cached_property
    def _vms_by_nsg(self) -> dict[str, set[str]]:
        vms = {rid(vm.id): vm for vm in self.snapshot.virtual_machines}
        found: dict[str, set[str]] = {}
        for key, nic in self.nics.items():
            vm = vms.get(rid(nic.vm_id or ""))
            if vm is None:
                continue
            public = ", ".join(self.public_ips.get(key, []))
            named = f"{vm.name} ({vm.resource_group}{', public IP ' + public if public else ''})"
            for nsg in self.nsgs_of(nic):
                found.setdefault(nsg, set()).add(named)
        return found

    def vms_behind(self, nsg_id: str) -> list[str]:
        """The VMs an NSG filters, as people know them: ``name (resource group, public IP)``."""
        return sorted(self._vms_by_nsg.get(rid(nsg_id), set()))

    def scopes(self) -> list[NsgScope]:
        """Every NSG with the MACs it filters: what the flow evidence is asked about."""
        macs: dict[str, set[str]] = {key: set() for key in self.nsgs}
        for nic in self.snapshot.network_interfaces:
            for nsg in self.nsgs_of(nic):
                if nic.mac:
                    macs.setdefault(nsg, set()).add(nic.mac)
        ids = {key: nsg.id for key, nsg in self.nsgs.items()}
        return [NsgScope(ids.get(key, key), tuple(sorted(found))) for key, found in macs.items()]

    def shadowed_by(self, nsg: NetworkSecurityGroup, rule: SecurityRule) -> SecurityRule | None:
        """``nsg_rules.shadowing_rule``, computed once per rule for all the checks asking."""
        key = (rid(nsg.id), rule.name, rule.direction, rule.priority)
        if key not in self._shadows:
            self._shadows[key] = shadowing_rule(rule, nsg.rules)
        return self._shadows[key]

    def rule_traffic(self, nsg_id: str, rule: str) -> tuple[NsgTraffic | None, RuleTraffic | None]:
        """The NSG's logged traffic and the rule's share of it (None when there is none)."""
        nsg = (self.traffic or {}).get(rid(nsg_id))
        if nsg is None:
            return None, None
        key = rule_key(rule)
        if key in nsg.rules or len(key) <= _LOGGED_NAME:
            return nsg, nsg.rules.get(key)
        # Flow logs cut long rule names: the logged name is then a prefix of the rule's.
        cut = [
            traffic
            for logged, traffic in nsg.rules.items()
            if len(logged) >= _LOGGED_NAME and key.startswith(logged)
        ]
        return nsg, max(cut, key=lambda traffic: traffic.flows, default=None)


@dataclass(frozen=True)
class Check:
    """A posture check: metadata as a detection rule has (``description`` says why it matters,
    ``runbook`` how to fix it) and the function finding its issues."""

    meta: RuleMeta
    find: Callable[[Audited], Iterable[Issue]]
    reads: tuple[str, ...]
    """The snapshot fields (``model.KINDS``) whose absence could make an issue look fixed."""

    def __post_init__(self) -> None:
        if not self.meta.id.startswith(PREFIX):
            raise ValueError(f"posture check {self.meta.id!r} must be named {PREFIX}<name>")
        unknown = set(self.reads) - set(KINDS)
        if unknown or not self.reads:
            raise ValueError(f"posture check {self.meta.id!r} reads unknown kinds {unknown}")

    def complete_in(self, snapshot: Snapshot) -> bool:
        """Whether the snapshot listed everything this check reads, so that an issue missing
        from it is fixed. Errors without ``failed_kinds`` (a reader that does not say which
        kinds failed) make every check incomplete."""
        if snapshot.errors and not snapshot.failed_kinds:
            return False
        return not set(self.reads) & set(snapshot.failed_kinds)

    @property
    def id(self) -> str:
        return self.meta.id


def stronger(severity: Severity) -> Severity:
    return SEVERITIES[min(SEVERITIES.index(severity) + 1, len(SEVERITIES) - 1)]


def weaker(severity: Severity) -> Severity:
    return SEVERITIES[max(SEVERITIES.index(severity) - 1, 0)]
