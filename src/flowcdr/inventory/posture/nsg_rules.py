"""What an NSG security rule's address, port and protocol fields cover, as far as can be proven.

The audit must not claim what it cannot show. An address field is a list of CIDRs, addresses,
``*`` and service tags. ``*`` covers everything; a CIDR covers the CIDRs and addresses inside
it (same IP version); ``Internet`` and ``VirtualNetwork`` cover only themselves (their address
space depends on the VNet's, which a rule does not say); every other service tag and every
application security group is opaque: it covers only itself. So "rule A covers rule B" is
answered yes only when it is certainly so, and a shadowing finding is never a guess.
"""

import functools
import ipaddress
from collections.abc import Iterable, Sequence

from flowcdr.inventory.model import SecurityRule

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ALL_PORTS = (0, 65535)

_ANY = frozenset({"*", "any"})
INTERNET_SOURCES = frozenset({"*", "any", "internet", "0.0.0.0/0", "::/0"})
"""Address words meaning "anyone on the internet" (``Any`` is the portal's spelling of ``*``)."""


def is_any(prefix: str) -> bool:
    return prefix.strip().lower() in _ANY


def allows_internet(prefixes: Iterable[str]) -> bool:
    """Whether a source field admits every internet address."""
    return any(prefix.strip().lower() in INTERNET_SOURCES for prefix in prefixes)


def port_ranges(ports: Iterable[str]) -> list[tuple[int, int]]:
    """``("22", "8000-8100", "*")`` -> sorted, merged ``[(lo, hi), ...]``; a malformed entry
    raises ValueError naming it (the sync stores what ARM says, so this is a broken snapshot)."""
    return list(_port_ranges(tuple(ports)))


@functools.lru_cache(maxsize=4096)  # an estate repeats a few port lists in thousands of rules
def _port_ranges(ports: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    for port in ports:
        text = port.strip()
        if text.lower() in _ANY:
            ranges.append(ALL_PORTS)
            continue
        low, _, high = text.partition("-")
        try:
            lo, hi = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"port range {port!r} is not a port, a range or *") from None
        if not 0 <= lo <= hi <= 65535:
            raise ValueError(f"port range {port!r} is outside 0-65535")
        ranges.append((lo, hi))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def ports_in(ports: Iterable[str], wanted: Iterable[int]) -> list[int]:
    """Which of ``wanted`` the port field opens, in order."""
    ranges = port_ranges(ports)
    return [port for port in wanted if any(lo <= port <= hi for lo, hi in ranges)]


def ports_cover(outer: Iterable[str], inner: Iterable[str]) -> bool:
    """Whether every port of ``inner`` lies in ``outer`` (a union of ranges may cover one)."""
    covering = port_ranges(outer)
    return all(
        any(lo <= inner_lo and inner_hi <= hi for lo, hi in covering)
        for inner_lo, inner_hi in port_ranges(inner)
    )


def _network(prefix: str) -> Network | None:
    try:
        return ipaddress.ip_network(prefix.strip(), strict=False)
    except ValueError:
        return None  # a service tag or an application security group


@functools.lru_cache(maxsize=65536)
def _prefix_covers(outer: str, inner: str) -> bool:
    if is_any(outer):
        return True
    if is_any(inner):
        return False
    if outer.strip().lower() == inner.strip().lower():
        return True
    outer_net, inner_net = _network(outer), _network(inner)
    if outer_net is None or inner_net is None or outer_net.version != inner_net.version:
        return False
    return inner_net.subnet_of(outer_net)  # type: ignore[arg-type]


def prefixes_cover(outer: Sequence[str], inner: Sequence[str]) -> bool:
    """Whether every address of ``inner`` is certainly in ``outer``."""
    return all(any(_prefix_covers(o, i) for o in outer) for i in inner)


def protocol_covers(outer: str, inner: str) -> bool:
    return is_any(outer) or outer.strip().lower() == inner.strip().lower()


def rule_covers(outer: SecurityRule, inner: SecurityRule) -> bool:
    """Whether every packet ``inner`` matches is also matched by ``outer`` (same direction)."""
    return (
        outer.direction == inner.direction
        and protocol_covers(outer.protocol, inner.protocol)
        and prefixes_cover(outer.source_prefixes, inner.source_prefixes)
        and ports_cover(outer.source_ports, inner.source_ports)
        and prefixes_cover(outer.destination_prefixes, inner.destination_prefixes)
        and ports_cover(outer.destination_ports, inner.destination_ports)
    )


def shadowing_rule(rule: SecurityRule, rules: Iterable[SecurityRule]) -> SecurityRule | None:
    """The highest-priority rule evaluated before ``rule`` that matches all its traffic, if any."""
    earlier = sorted(
        (other for other in rules if other.priority < rule.priority and other is not rule),
        key=lambda other: other.priority,
    )
    return next((other for other in earlier if rule_covers(other, rule)), None)


def carries_ports(protocol: str) -> bool:
    """Whether the rule's protocol has ports at all (ICMP, ESP and AH do not)."""
    return is_any(protocol) or protocol.strip().lower() in ("tcp", "udp")


def describe(rule: SecurityRule) -> str:
    """One line a person recognises from the portal: ``Allow Inbound Tcp * -> * :3389``."""
    return (
        f"{rule.access} {rule.direction} {rule.protocol} "
        f"from {','.join(rule.source_prefixes)} to {','.join(rule.destination_prefixes)} "
        f"port {','.join(rule.destination_ports)} (priority {rule.priority})"
    )
