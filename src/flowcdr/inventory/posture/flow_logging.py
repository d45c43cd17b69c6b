"""Flow logging: traffic nobody logs, flow logs switched off, kept forever, stored far away, or of
the retiring NSG kind.

Coverage follows Azure: an NSG flow log logs the traffic its NSG decides; a VNet flow log on a
VNet, subnet or NIC logs all traffic there. A VNet is logged when any flow log (enabled) covers
it or anything in it; an NSG is logged when an NSG flow log targets it or a VNet flow log
covers one of the subnets or NICs it is attached to. An unlogged NSG whose attachments all lie
in unlogged VNets is left to the VNet's finding (one fix covers both).

NSG flow logs retire on 30 September 2027; none can be created after 30 June 2025 (Microsoft's
retirement notice, research/formats.md section 4). VNet flow logs replace them.
"""

import datetime as dt
from collections.abc import Iterator

from flowcdr.detect.rule import RuleMeta, Severity
from flowcdr.inventory.model import FlowLog, rid
from flowcdr.inventory.posture.check import Audited, Check, Issue

NSG_FLOW_LOGS_RETIRE = dt.date(2027, 9, 30)
NSG_FLOW_LOGS_FROZEN = dt.date(2025, 6, 30)
_SOON = dt.timedelta(days=183)


def _region(location: str) -> str:
    return location.replace(" ", "").lower()


class _Coverage:
    """Which resources the enabled flow logs cover, by ``rid``."""

    def __init__(self, audited: Audited) -> None:
        self.audited = audited
        enabled = [log for log in audited.snapshot.flow_logs if log.enabled]
        self.targets = {rid(log.target_id) for log in enabled}
        self.logs_by_target = {rid(log.target_id): log for log in enabled}

    def vnet_of_subnet(self, subnet_id: str) -> str | None:
        subnet = self.audited.subnets.get(rid(subnet_id))
        return rid(subnet.vnet_id) if subnet else None

    def subnet_logged(self, subnet_id: str) -> bool:
        return rid(subnet_id) in self.targets or self.vnet_of_subnet(subnet_id) in self.targets

    def nic_logged(self, nic_id: str) -> bool:
        nic = self.audited.nics.get(rid(nic_id))
        return rid(nic_id) in self.targets or (
            nic is not None and any(self.subnet_logged(s) for s in nic.subnet_ids)
        )

    def attachments(self, nsg_id: str) -> tuple[set[str], set[str]]:
        """The subnets and NICs an NSG is attached to, from both sides of the inventory."""
        key = rid(nsg_id)
        nsg = self.audited.nsgs.get(key)
        subnets = {rid(s) for s in nsg.subnet_ids} if nsg else set()
        nics = {rid(n) for n in nsg.nic_ids} if nsg else set()
        subnets |= {k for k, s in self.audited.subnets.items() if s.nsg_id and rid(s.nsg_id) == key}
        nics |= {k for k, n in self.audited.nics.items() if n.nsg_id and rid(n.nsg_id) == key}
        return subnets, nics

    def nsg_logged(self, nsg_id: str) -> bool:
        subnets, nics = self.attachments(nsg_id)
        return (
            rid(nsg_id) in self.targets
            or any(self.subnet_logged(s) for s in subnets)
            or any(self.nic_logged(n) for n in nics)
        )

    def vnets_of_nsg(self, nsg_id: str) -> set[str]:
        subnets, nics = self.attachments(nsg_id)
        for nic_id in nics:
            nic = self.audited.nics.get(nic_id)
            subnets |= {rid(s) for s in nic.subnet_ids} if nic else set()
        return {vnet for vnet in map(self.vnet_of_subnet, subnets) if vnet}

    def vnet_logged(self, vnet_id: str) -> bool:
        key = rid(vnet_id)
        if key in self.targets:
            return True
        subnets = [k for k, s in self.audited.subnets.items() if rid(s.vnet_id) == key]
        nics = [
            k
            for k, n in self.audited.nics.items()
            if any(self.vnet_of_subnet(s) == key for s in n.subnet_ids)
        ]
        nsg_logs = {t for t in self.targets if "/networksecuritygroups/" in t}
        return (
            any(s in self.targets for s in subnets)
            or any(n in self.targets for n in nics)
            or any(key in self.vnets_of_nsg(nsg) for nsg in nsg_logs)
        )


def _unlogged_vnets(audited: Audited) -> Iterator[Issue]:
    coverage = _Coverage(audited)
    for vnet in audited.snapshot.virtual_networks:
        if coverage.vnet_logged(vnet.id):
            continue
        yield Issue(
            vnet.id,
            None,
            f"VNet {vnet.name} (resource group {vnet.resource_group}, {vnet.location}) has no "
            f"flow log: none of its traffic is recorded or analysed",
            f"Create a VNet flow log targeting VNet {vnet.name} (Network Watcher in "
            f"{vnet.location}, a storage account in {vnet.location}, retention of 90 days).",
            "medium",
        )


def _unlogged_nsgs(audited: Audited) -> Iterator[Issue]:
    coverage = _Coverage(audited)
    for nsg in audited.snapshot.security_groups:
        subnets, nics = coverage.attachments(nsg.id)
        if not (subnets or nics) or coverage.nsg_logged(nsg.id):
            continue
        vnets = coverage.vnets_of_nsg(nsg.id)
        if vnets and not any(coverage.vnet_logged(v) for v in vnets):
            continue  # the VNet's finding covers it
        yield Issue(
            nsg.id,
            None,
            f"NSG {nsg.name} (resource group {nsg.resource_group}) filters "
            f"{len(subnets)} subnets and {len(nics)} NICs whose traffic no flow log records",
            f"Create a VNet flow log on the VNet of NSG {nsg.name}'s subnets (or on the "
            f"subnets themselves), so the traffic its rules decide is logged.",
            "medium",
            details={"subnets": sorted(subnets), "nics": sorted(nics)},
        )


def _target_region(audited: Audited, log: FlowLog) -> str | None:
    key = rid(log.target_id)
    if log.target_kind == "nsg" and key in audited.nsgs:
        return audited.nsgs[key].location
    if log.target_kind == "vnet" and key in audited.vnets:
        return audited.vnets[key].location
    if log.target_kind == "subnet" and key in audited.subnets:
        vnet = audited.vnets.get(rid(audited.subnets[key].vnet_id))
        return vnet.location if vnet else None
    if log.target_kind == "nic" and key in audited.nics:
        return audited.nics[key].location
    return None


def _disabled(audited: Audited) -> Iterator[Issue]:
    for log in audited.snapshot.flow_logs:
        if not log.enabled:
            yield Issue(
                log.id,
                None,
                f"Flow log {log.name} of {log.target_id} is disabled: that traffic is not logged",
                f"Enable flow log {log.name} (properties.enabled = true), or delete it if "
                f"another flow log covers {log.target_id}.",
                "medium",
            )


def _kept_forever(audited: Audited) -> Iterator[Issue]:
    for log in audited.snapshot.flow_logs:
        if log.retention_enabled and log.retention_days == 0:
            yield Issue(
                log.id,
                None,
                f"Flow log {log.name} has retention enabled with 0 days: its blobs are kept "
                f"forever and the storage bill grows every day",
                f"Set flow log {log.name}'s retentionPolicy.days to the days you need (90 is "
                f"common; up to 365), or add a lifecycle rule deleting its blobs on the "
                f"storage account.",
                "low",
                details={"retention_days": 0},
            )


def _storage_elsewhere(audited: Audited) -> Iterator[Issue]:
    accounts = {rid(account.id): account for account in audited.snapshot.storage_accounts}
    for log in audited.snapshot.flow_logs:
        account = accounts.get(rid(log.storage_id))
        target = _target_region(audited, log)
        if account is None or target is None or _region(account.location) == _region(target):
            continue
        yield Issue(
            log.id,
            None,
            f"Flow log {log.name} writes to storage account {account.name} in "
            f"{account.location}, but its target is in {target}",
            f"Point flow log {log.name} at a storage account in {target} (Azure requires "
            f"the storage account in the target's region; cross-region data also costs "
            f"egress).",
            "medium",
            details={"storage_region": account.location, "target_region": target},
        )


def _retiring(audited: Audited) -> Iterator[Issue]:
    today = audited.now.date()
    coverage = _Coverage(audited)
    vnet_logged = {  # VNets a VNet flow log covers, wholly or in part
        rid(log.target_id) if log.target_kind == "vnet" else coverage.vnet_of_subnet(log.target_id)
        for log in audited.snapshot.flow_logs
        if log.enabled and log.target_kind in ("vnet", "subnet")
    }
    for log in audited.snapshot.flow_logs:
        if log.target_kind != "nsg":
            continue
        days_left = (NSG_FLOW_LOGS_RETIRE - today).days
        severity: Severity = "low"
        if days_left <= 0:
            severity = "high"
        elif dt.timedelta(days=days_left) <= _SOON:
            severity = "medium"
        vnets = sorted(coverage.vnets_of_nsg(log.target_id))
        covered = [v for v in vnets if v in vnet_logged]
        names = ", ".join(audited.vnets[v].name if v in audited.vnets else v for v in vnets)
        if covered:
            fix = (
                f"Delete NSG flow log {log.name}: a VNet flow log already covers its traffic, "
                f"and both together log the same flows twice."
            )
        else:
            fix = (
                f"Create a VNet flow log on {names or 'the VNet of the NSG'}, check that its "
                f"blobs arrive, then delete NSG flow log {log.name}."
            )
        when = (
            f"retired on {NSG_FLOW_LOGS_RETIRE:%d %B %Y}: it no longer writes"
            if days_left <= 0
            else f"retire on {NSG_FLOW_LOGS_RETIRE:%d %B %Y}, in {days_left} days"
        )
        yield Issue(
            log.id,
            None,
            f"Flow log {log.name} is an NSG flow log of {log.target_id}; NSG flow logs {when} "
            f"(none can be created since {NSG_FLOW_LOGS_FROZEN:%d %B %Y})",
            fix,
            severity,
            details={"retires": NSG_FLOW_LOGS_RETIRE.isoformat(), "days_left": days_left},
        )


_HYGIENE_FP = ("A test estate whose traffic you choose not to log: suppress it.",)

UNLOGGED_VNET = Check(
    RuleMeta(
        id="posture.unlogged_vnet",
        title="VNet without flow logs",
        level="medium",
        description=(
            "Traffic of an unlogged VNet is invisible: no detection runs on it and an incident "
            "there cannot be investigated afterwards."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1047",),
        insight=True,
        false_positives=_HYGIENE_FP,
        runbook="Create a VNet flow log on the VNet.",
    ),
    _unlogged_vnets,
    reads=("virtual_networks", "subnets", "network_interfaces", "security_groups", "flow_logs"),
)

UNLOGGED_NSG = Check(
    RuleMeta(
        id="posture.unlogged_nsg",
        title="NSG whose traffic no flow log records",
        level="medium",
        description=(
            "The traffic an NSG decides is logged neither by an NSG flow log nor by a VNet "
            "flow log over its subnets or NICs: its rules' effect cannot be seen."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1047",),
        insight=True,
        false_positives=_HYGIENE_FP,
        runbook="Create a VNet flow log on the VNet (or subnets) the NSG filters.",
    ),
    _unlogged_nsgs,
    reads=("virtual_networks", "subnets", "network_interfaces", "security_groups", "flow_logs"),
)

DISABLED = Check(
    RuleMeta(
        id="posture.flow_log_disabled",
        title="Flow log disabled",
        level="medium",
        description="A disabled flow log looks like coverage in the portal but records nothing.",
        tactics=(),
        techniques=(),
        mitigations=("M1047",),
        insight=True,
        false_positives=_HYGIENE_FP,
        runbook="Enable the flow log, or delete it when another one covers its target.",
    ),
    _disabled,
    reads=("flow_logs",),
)

KEPT_FOREVER = Check(
    RuleMeta(
        id="posture.flow_log_kept_forever",
        title="Flow log retention of 0 days (kept forever)",
        level="low",
        description=(
            "Retention enabled with 0 days keeps every blob forever: a storage cost that grows "
            "without end. (Retention disabled is not reported: a storage lifecycle rule, which "
            "the inventory does not read, may delete the blobs.)"
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1047",),
        insight=True,
        false_positives=("Logs that regulation requires you to keep indefinitely.",),
        runbook="Set a retention in days, or a lifecycle rule on the storage account.",
    ),
    _kept_forever,
    reads=("flow_logs",),
)

STORAGE_ELSEWHERE = Check(
    RuleMeta(
        id="posture.flow_log_storage_region",
        title="Flow log storage in another region than its target",
        level="medium",
        description=(
            "Azure expects a flow log's storage account in its target's region; one elsewhere "
            "fails to write or costs cross-region transfer, and moves data out of its region."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1047",),
        insight=True,
        false_positives=("None known: a flow log's data belongs in its region.",),
        runbook="Point the flow log at a storage account in the target's region.",
    ),
    _storage_elsewhere,
    reads=("flow_logs", "storage_accounts"),
)

RETIRING = Check(
    RuleMeta(
        id="posture.nsg_flow_log_retiring",
        title="NSG flow log in use (retires 30 September 2027)",
        level="low",
        description=(
            "NSG flow logs retire on 30 September 2027 (no new ones since 30 June 2025); "
            "after that the traffic they log goes unrecorded. VNet flow logs replace them and "
            "also cover traffic no NSG filters."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1047",),
        insight=True,
        false_positives=("None: every NSG flow log has to be migrated.",),
        runbook="Create a VNet flow log over the same traffic, then delete the NSG flow log.",
        references=("https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-migrate",),
    ),
    _retiring,
    reads=("flow_logs",),
)
