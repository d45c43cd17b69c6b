"""Seeded synthetic Azure flow-log blobs (NSG v2 and VNet v4) for the parse benchmark.

Real flow logs are customer data and cannot ship with the repo, and the few public samples are a
handful of tuples each, so the benchmark makes its own. The output is byte-for-byte the shape
Azure writes: one compact ``{"records":[...]}`` object, no whitespace, records joined by ``,``.

Both formats come from the same traffic model, so a benchmark comparing them measures the parser
and not the data: about 40 resources with a few NICs each, inbound internet scanners hitting a
deny rule, allowed inbound and outbound conversations (begin / continuing / end tuples), about 6%
of remote peers on IPv6, 40-130 tuples per record, and record times spread evenly over 6 hours.
The encodings then differ as the formats do (seconds vs milliseconds, ``T``/``U`` vs protocol
numbers, empty counters vs ``0,0,0,0``, an encryption field, a longer envelope), so the same
traffic costs about 73 bytes of blob per tuple as NSG v2 and about 82 as VNet v4: an equal-size
VNet blob holds about 11% fewer tuples, which is why the benchmark also compares time per tuple.

Stdlib only, and deterministic: the same ``(target_bytes, seed)`` always gives the same bytes,
which lets the benchmark cache blobs on disk.
"""

import datetime as dt
import ipaddress
import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

START = int(dt.datetime(2026, 11, 27, tzinfo=dt.UTC).timestamp())
"""First second covered by every generated blob."""
SPAN_SECONDS = 6 * 3600
"""Record times advance evenly across this span, in proportion to the bytes written so far."""
RESOURCES = 40
TUPLES_PER_RECORD = (40, 130)

# Traffic shapes. A rule's kind decides which flows it sees.
DENY, ALLOW_IN, ALLOW_OUT, VNET_IN, VNET_OUT = "deny", "in", "out", "vnet-in", "vnet-out"
NSG_DENY_RULES = ("DefaultRule_DenyAllInBound", "UserRule_DenyRdpFromInternet")
ALLOW_RULES = [
    ("UserRule_AllowHttpsInBound", ALLOW_IN),
    ("UserRule_AllowSshFromCorp", ALLOW_IN),
    ("DefaultRule_AllowAzureLoadBalancerInBound", ALLOW_IN),
    ("DefaultRule_AllowVnetInBound", VNET_IN),
    ("DefaultRule_AllowInternetOutBound", ALLOW_OUT),
    ("DefaultRule_AllowVnetOutBound", VNET_OUT),
]
INBOUND_PORTS = (443, 443, 80, 22, 3389)
OUTBOUND_PORTS = (443, 443, 443, 80, 53, 123, 1433)
SCANNED_PORTS = (22, 23, 80, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 8443, 9200)
UDP_PORTS = frozenset({53, 123})
TCP, UDP, ICMP = 6, 17, 1
# VNet encryption codes for traffic that stays inside the VNet (X = encrypted). Internet
# traffic is always NX.
VNET_ENCRYPTION = ("X", "X", "NX", "NX", "NX", "NX", "NX", "NX_LOCAL_DST", "NX_HW_NOT_SUPPORTED")


def _ipv6(*groups: int) -> str:
    """IPv6 text the way Azure writes it: RFC 5952 canonical (lower case, longest zero run ::)."""
    return str(ipaddress.IPv6Address(b"".join(group.to_bytes(2) for group in groups)))


class Flow(NamedTuple):
    """One flow tuple, independent of how either format spells it.

    ``counters`` is None for a begin tuple or a denied flow, which carry no counts.
    """

    src: str
    dst: str
    src_port: int
    dst_port: int
    protocol: int
    inbound: bool
    allowed: bool
    state: str
    counters: tuple[int, int, int, int] | None


@dataclass(frozen=True)
class Nic:
    mac: str
    ipv4: str
    ipv6: str


@dataclass(frozen=True)
class Resource:
    """An NSG (NSG logs) or a VNet with its flow log (VNet logs), and the NICs it covers."""

    index: int
    subscription: str
    resource_group: str
    guid: str
    acl_ids: tuple[str, str]
    nics: tuple[Nic, ...]


class Traffic:
    """The seeded world (subscriptions, resources, internet peers) and its flow model."""

    def __init__(self, seed: int) -> None:
        self.rng = rng = random.Random(seed)
        subscriptions = [self._guid() for _ in range(3)]
        self.resources = [
            Resource(
                index=i,
                subscription=subscriptions[i % len(subscriptions)],
                resource_group=f"rg-app-{i % 7:02d}",
                guid=self._guid(),
                acl_ids=(self._guid(), self._guid()),
                nics=tuple(self._nic(i) for _ in range(rng.randint(1, 4))),
            )
            for i in range(RESOURCES)
        ]
        # VNet logs also name admin rules of Azure Virtual Network Manager, with a GUID suffix.
        avnm_rule = f"BlockHighRiskTCPPortsFromInternet_{self._guid()}"
        self.vnet_deny_rules = (*NSG_DENY_RULES, avnm_rule)
        # A long tail of internet peers drawn Zipf-like (see remote()), and a few heavy scanners.
        self.public_v4 = [self._public_v4() for _ in range(50_000)]
        self.public_v6 = [self._public_v6() for _ in range(2_500)]
        self.scanners = self.public_v4[:40]

    def _guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def _nic(self, resource: int) -> Nic:
        subnet, host = self.rng.randint(0, 7), self.rng.randint(4, 60)
        return Nic(
            mac=f"000D3A{self.rng.getrandbits(24):06X}",
            ipv4=f"10.{resource}.{subnet}.{host}",
            ipv6=_ipv6(0xFD00, 0xDB8, resource, subnet, 0, 0, 0, host),
        )

    def _public_v4(self) -> str:
        r = self.rng.randint
        return f"{r(1, 223)}.{r(0, 255)}.{r(0, 255)}.{r(1, 254)}"

    def _public_v6(self) -> str:
        bits = self.rng.getrandbits
        return _ipv6(0x2A01 + bits(3), bits(16), bits(16), 0, 0, 0, 0, bits(16))

    def remote(self) -> tuple[str, bool]:
        """An internet peer and whether it is IPv6 (6% of peers, about 4% of tuples)."""
        rng = self.rng
        if rng.random() < 0.06:
            return self.public_v6[int(len(self.public_v6) * rng.random() ** 3)], True
        return self.public_v4[int(len(self.public_v4) * rng.random() ** 3)], False

    def flow(self, kind: str, nic: Nic, icmp: bool) -> Flow:
        """One flow seen by ``nic`` under a rule of ``kind``; ICMP only if the format has it."""
        rng = self.rng
        sport = rng.randint(1024, 65535)
        if kind == DENY:
            if rng.random() < 0.3:
                src, v6 = rng.choice(self.scanners), False
                dport = rng.randint(1, 65535)
            else:
                src, v6 = self.remote()
                dport = rng.choice(SCANNED_PORTS) if rng.random() < 0.7 else rng.randint(1, 65535)
            protocol = TCP if rng.random() < 0.8 else UDP
            dst = nic.ipv6 if v6 else nic.ipv4
            return Flow(src, dst, sport, dport, protocol, True, False, "B", None)
        inbound = kind in (ALLOW_IN, VNET_IN)
        if kind in (VNET_IN, VNET_OUT):
            peer, v6 = f"{nic.ipv4.rsplit('.', 1)[0]}.{rng.randint(4, 60)}", False
        else:
            peer, v6 = self.remote()
        local = nic.ipv6 if v6 else nic.ipv4
        dport = rng.choice(INBOUND_PORTS if inbound else OUTBOUND_PORTS)
        protocol = UDP if dport in UDP_PORTS else TCP
        if icmp and rng.random() < 0.02:
            protocol, sport, dport = ICMP, 0, 0
        src, dst = (peer, local) if inbound else (local, peer)
        draw = rng.random()
        if draw < 0.4:
            return Flow(src, dst, sport, dport, protocol, inbound, True, "B", None)
        # Most flows are short: packet counts are skewed towards a handful.
        sent, received = 1 + int(200 * rng.random() ** 3), int(400 * rng.random() ** 3)
        counters = (sent, sent * rng.randint(40, 1500), received, received * rng.randint(40, 1500))
        state = "C" if draw < 0.7 else "E"
        return Flow(src, dst, sport, dport, protocol, inbound, True, state, counters)

    def split(self, total: int, parts: int) -> list[int]:
        """``total`` tuples shared unevenly over ``parts`` groups, at least one each."""
        weights = [0.2 + self.rng.random() for _ in range(parts)]
        scale = total / sum(weights)
        return [max(1, round(w * scale)) for w in weights]

    def tuple_count(self) -> int:
        return self.rng.randint(*TUPLES_PER_RECORD)


def _nsg_tuple(ts: int, f: Flow) -> str:
    counters = ",,," if f.counters is None else ",".join(map(str, f.counters))
    return (
        f"{ts},{f.src},{f.dst},{f.src_port},{f.dst_port},{'T' if f.protocol == TCP else 'U'},"
        f"{'I' if f.inbound else 'O'},{'A' if f.allowed else 'D'},{f.state},{counters}"
    )


def _vnet_tuple(ts: int, f: Flow, encryption: str) -> str:
    counters = "0,0,0,0" if f.counters is None else ",".join(map(str, f.counters))
    state = f.state if f.allowed else "D"
    return (
        f"{ts},{f.src},{f.dst},{f.src_port},{f.dst_port},{f.protocol},"
        f"{'I' if f.inbound else 'O'},{state},{encryption},{counters}"
    )


def _record_time(minute: int, rng: random.Random) -> str:
    """Record write time: the end of its minute, with Azure's 7 fractional digits."""
    stamp = dt.datetime.fromtimestamp(minute + 60, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{rng.randrange(10**7):07d}Z"


def _rules(rng: random.Random, deny_rules: Sequence[str]) -> list[tuple[str, str]]:
    """The distinct rules that matched in one record: 1-4 allow rules, and a deny rule in ~70%.

    The first deny rule is the default one and takes most denials, as in real NSGs.
    """
    rules = rng.sample(ALLOW_RULES, rng.randint(1, 4))
    if rng.random() < 0.7:
        deny = deny_rules[0] if rng.random() < 0.8 else rng.choice(deny_rules[1:])
        rules.insert(0, (deny, DENY))
    return rules


def _nsg_record(traffic: Traffic, minute: int) -> dict[str, object]:
    rng = traffic.rng
    resource = rng.choice(traffic.resources)
    nic = rng.choice(resource.nics)
    rules = _rules(rng, NSG_DENY_RULES)
    # A rule entry lists one MAC, sometimes two when the NSG covers another NIC as well.
    others = [other for other in resource.nics if other is not nic]
    macs = [[nic, rng.choice(others)] if others and rng.random() < 0.15 else [nic] for _ in rules]
    counts = iter(traffic.split(traffic.tuple_count(), sum(map(len, macs))))
    flows = []
    for (rule, kind), rule_nics in zip(rules, macs, strict=True):
        groups = []
        for group_nic in rule_nics:
            n = next(counts)
            stamps = sorted(minute + rng.randrange(60) for _ in range(n))
            tuples = [_nsg_tuple(ts, traffic.flow(kind, group_nic, False)) for ts in stamps]
            groups.append({"mac": group_nic.mac, "flowTuples": tuples})
        flows.append({"rule": rule, "flows": groups})
    return {
        "time": _record_time(minute, rng),
        "systemId": resource.guid,
        "macAddress": nic.mac,
        "category": "NetworkSecurityGroupFlowEvent",
        "resourceId": (
            f"/SUBSCRIPTIONS/{resource.subscription}/RESOURCEGROUPS/{resource.resource_group}"
            f"/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG-APP{resource.index:03d}"
        ).upper(),
        "operationName": "NetworkSecurityGroupFlowEvents",
        "properties": {"Version": 2, "flows": flows},
    }


def _vnet_record(traffic: Traffic, minute: int) -> dict[str, object]:
    rng = traffic.rng
    resource = rng.choice(traffic.resources)
    nic = rng.choice(resource.nics)
    rules = _rules(rng, traffic.vnet_deny_rules)
    counts = iter(traffic.split(traffic.tuple_count(), len(rules)))
    # One ACL is the NIC's NSG; in ~30% of records a second one (subnet NSG or admin rules)
    # takes some of the rules.
    two_acls = len(rules) > 1 and rng.random() < 0.3
    acls: dict[str, list[dict[str, object]]] = {}
    for position, (rule, kind) in enumerate(rules):
        n = next(counts)
        stamps = sorted(minute * 1000 + rng.randrange(60_000) for _ in range(n))
        internal = kind in (VNET_IN, VNET_OUT)
        tuples = [
            _vnet_tuple(
                ts, traffic.flow(kind, nic, True), rng.choice(VNET_ENCRYPTION) if internal else "NX"
            )
            for ts in stamps
        ]
        acl = resource.acl_ids[1 if two_acls and position % 2 else 0]
        acls.setdefault(acl, []).append({"rule": rule, "flowTuples": tuples})
    sub_upper = resource.subscription.upper()
    return {
        "time": _record_time(minute, rng),
        "flowLogVersion": 4,
        "flowLogGUID": resource.guid,
        "macAddress": nic.mac,
        "category": "FlowLogFlowEvent",
        "flowLogResourceID": (
            f"/SUBSCRIPTIONS/{sub_upper}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS"
            f"/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS"
            f"/VNET-APP{resource.index:03d}-FLOWLOG"
        ),
        "targetResourceID": (
            f"/subscriptions/{resource.subscription}/resourceGroups/{resource.resource_group}"
            f"/providers/Microsoft.Network/virtualNetworks/vnet-app{resource.index:03d}"
        ),
        "operationName": "FlowLogFlowEvent",
        "flowRecords": {
            "flows": [{"aclID": acl, "flowGroups": groups} for acl, groups in acls.items()]
        },
    }


def _blob(
    target_bytes: int, seed: int, record: Callable[[Traffic, int], dict[str, object]]
) -> bytes:
    """Whole records until the blob reaches ``target_bytes`` (so it ends at most a record over).

    A record's minute is its byte position's share of the 6 hour span: times increase through
    the blob the way an hour's appends do, and any size covers the same span.
    """
    traffic = Traffic(seed)
    parts = [b'{"records":[']
    written = len(parts[0]) + len(b"]}")
    while written < target_bytes:
        minute = START + SPAN_SECONDS * written // target_bytes // 60 * 60
        text = json.dumps(record(traffic, minute), separators=(",", ":")).encode()
        if len(parts) > 1:
            parts.append(b",")
            written += 1
        parts.append(text)
        written += len(text)
    parts.append(b"]}")
    return b"".join(parts)


def nsg_v2_blob(target_bytes: int, seed: int) -> bytes:
    """An NSG flow log v2 blob of about ``target_bytes`` bytes (NetworkSecurityGroupFlowEvent)."""
    return _blob(target_bytes, seed, _nsg_record)


def vnet_v4_blob(target_bytes: int, seed: int) -> bytes:
    """A VNet flow log v4 blob of about ``target_bytes`` (category FlowLogFlowEvent)."""
    return _blob(target_bytes, seed, _vnet_record)
