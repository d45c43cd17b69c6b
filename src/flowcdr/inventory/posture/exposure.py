"""Exposure: NSG rules that let the whole internet in, to management ports, to databases, or to
everything. The flows then say whether the internet is using the opening: internet addresses
accepted under the rule in the last day raise the finding a level, none lower it a level, and
without flows of the NSG it stays as configuration alone says.

A rule that a higher-priority rule fully shadows exposes nothing (``shadowed`` reports it), and
an any-any rule is reported once as such, not again per port family.
"""

from collections.abc import Iterator
from typing import NamedTuple

from flowcdr.detect.rule import RuleMeta, Severity
from flowcdr.inventory.model import NetworkSecurityGroup, SecurityRule
from flowcdr.inventory.posture.check import Audited, Check, Issue, stronger, weaker
from flowcdr.inventory.posture.nsg_rules import (
    allows_internet,
    carries_ports,
    describe,
    is_any,
    ports_cover,
    ports_in,
)

MANAGEMENT_PORTS = {
    22: "SSH",
    23: "Telnet",
    135: "RPC",
    445: "SMB",
    1270: "SCOM",
    3389: "RDP",
    5900: "VNC",
    5901: "VNC",
    5985: "WinRM",
    5986: "WinRM over HTTPS",
}
DATABASE_PORTS = {
    1433: "SQL Server",
    1434: "SQL Server browser",
    1521: "Oracle",
    2049: "NFS",
    2375: "Docker",
    2376: "Docker",
    3306: "MySQL",
    5432: "PostgreSQL",
    5984: "CouchDB",
    6379: "Redis",
    9042: "Cassandra",
    9200: "Elasticsearch",
    9300: "Elasticsearch",
    11211: "Memcached",
    27017: "MongoDB",
    27018: "MongoDB",
}


def is_any_any(rule: SecurityRule) -> bool:
    return (
        allows_internet(rule.source_prefixes)
        and any(is_any(prefix) for prefix in rule.destination_prefixes)
        and ports_cover(rule.destination_ports, ("*",))
        and is_any(rule.protocol)
    )


def _open_inbound(audited: Audited, nsg: NetworkSecurityGroup) -> Iterator[SecurityRule]:
    """Custom inbound allows from the internet that no earlier rule fully shadows."""
    for rule in nsg.rules:
        if (
            rule.direction == "Inbound"
            and rule.access == "Allow"
            and not rule.default
            and allows_internet(rule.source_prefixes)
            and carries_ports(rule.protocol)
            and audited.shadowed_by(nsg, rule) is None
        ):
            yield rule


class Weighed(NamedTuple):
    severity: Severity
    sentence: str | None
    flows: int


def weigh(
    audited: Audited, nsg: NetworkSecurityGroup, rule: SecurityRule, base: Severity
) -> Weighed:
    """An exposure's severity and flow sentence from the rule's recent accepted internet
    sources."""
    hours = audited.settings.recent_hours
    logged, used = audited.rule_traffic(nsg.id, rule.name)
    if audited.traffic is None:
        severity, sentence, count = base, None, 0
    elif logged is None:
        severity, count = base, 0
        sentence = "no flows of this NSG were logged: nothing confirms or softens this"
    elif used is not None and used.internet_sources:
        severity, count = stronger(base), used.recent_flows
        sentence = (
            f"{used.internet_sources} internet addresses were accepted under rule {rule.name} "
            f"in the last {hours} h ({used.recent_flows} flows)"
        )
    else:
        severity, count = weaker(base), 0 if used is None else used.recent_flows
        sentence = f"no internet address was accepted under rule {rule.name} in the last {hours} h"
    return Weighed(severity, sentence, count)


def _exposed_ports(audited: Audited, ports: dict[int, str], base: Severity) -> Iterator[Issue]:
    for nsg in audited.snapshot.security_groups:
        for rule in _open_inbound(audited, nsg):
            if is_any_any(rule):
                continue
            opened = ports_in(rule.destination_ports, ports)
            if not opened:
                continue
            names = ", ".join(f"{ports[port]} ({port})" for port in opened)
            weighed = weigh(audited, nsg, rule, base)
            vms = audited.vms_behind(nsg.id)
            yield Issue(
                nsg.id,
                rule.name,
                f"NSG {nsg.name} (resource group {nsg.resource_group}) rule {rule.name} "
                f"allows {names} from the internet{_exposing(vms)}: {describe(rule)}",
                f"In NSG {nsg.name}, change rule {rule.name}'s source from "
                f"{','.join(rule.source_prefixes)} to the addresses that need it (your office "
                f"or VPN range), or delete the rule and use Azure Bastion or just-in-time VM "
                f"access.",
                *weighed,
                port=opened[0],
                details={"ports": opened, "rule": describe(rule), "vms": vms},
            )


def _exposing(vms: list[str], shown: int = 5) -> str:
    if not vms:
        return ""
    more = f" and {len(vms) - shown} more" if len(vms) > shown else ""
    return f", exposing VM {', '.join(vms[:shown])}{more}"


def _management(audited: Audited) -> Iterator[Issue]:
    return _exposed_ports(audited, MANAGEMENT_PORTS, "high")


def _database(audited: Audited) -> Iterator[Issue]:
    return _exposed_ports(audited, DATABASE_PORTS, "high")


def _any_any(audited: Audited) -> Iterator[Issue]:
    for nsg in audited.snapshot.security_groups:
        for rule in nsg.rules:
            if rule.access != "Allow" or rule.default or not is_any_any(rule):
                continue
            if audited.shadowed_by(nsg, rule) is not None:
                continue
            if rule.direction == "Inbound":
                severity, sentence, count = weigh(audited, nsg, rule, "high")
                what = "every port and protocol from the whole internet"
            else:
                severity, sentence, count = "medium", None, 0
                what = "every outbound connection to anywhere (any exfiltration path)"
            yield Issue(
                nsg.id,
                rule.name,
                f"NSG {nsg.name} (resource group {nsg.resource_group}) rule {rule.name} "
                f"allows {what}: {describe(rule)}",
                f"In NSG {nsg.name}, replace rule {rule.name} with rules naming the sources, "
                f"destinations, protocols and ports the workload needs, or delete it.",
                severity,
                sentence,
                count,
                details={"rule": describe(rule), "direction": rule.direction},
            )


_EXPOSURE_FP = ("A honeypot or a scanner target that is meant to be open: suppress it.",)

MANAGEMENT = Check(
    RuleMeta(
        id="posture.internet_management_port",
        title="NSG rule opens a management port to the internet",
        level="high",
        description=(
            "Internet-wide SSH, RDP, WinRM, SMB or VNC is found by scanners within minutes and "
            "brute-forced or exploited from then on (external remote services)."
        ),
        tactics=("TA0001",),
        techniques=("T1133", "T1190"),
        mitigations=("M1035", "M1030"),
        false_positives=_EXPOSURE_FP,
        runbook=(
            "Limit the rule's source to known addresses, or remove it and reach VMs through "
            "Azure Bastion or just-in-time VM access."
        ),
    ),
    _management,
    reads=("security_groups",),
)

DATABASE = Check(
    RuleMeta(
        id="posture.internet_database_port",
        title="NSG rule opens a database port to the internet",
        level="high",
        description=(
            "Databases and caches reachable from the internet are scanned for weak or missing "
            "authentication and known vulnerabilities; data theft and ransom follow."
        ),
        tactics=("TA0001",),
        techniques=("T1190",),
        mitigations=("M1035", "M1030"),
        false_positives=_EXPOSURE_FP,
        runbook=(
            "Remove the rule; reach the database from the application's subnet or over a "
            "private endpoint, and from people through a VPN or Bastion."
        ),
    ),
    _database,
    reads=("security_groups",),
)

ANY_ANY = Check(
    RuleMeta(
        id="posture.any_any_allow",
        title="NSG rule allows any source to any destination on any port",
        level="high",
        description=(
            "An any-any allow turns the NSG off: inbound it exposes every service of every VM "
            "behind it, outbound it leaves every exfiltration and command-and-control path open."
        ),
        tactics=("TA0001",),
        techniques=("T1133", "T1190"),
        mitigations=("M1037", "M1030"),
        false_positives=("A short-lived troubleshooting rule: delete it when done.",),
        runbook="Replace the rule by rules naming what the workload needs.",
    ),
    _any_any,
    reads=("security_groups",),
)
