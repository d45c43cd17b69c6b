"""Where an address sits: the scope of each end of a flow (``schema.SCOPES``).

One table below is the whole rule: the most specific range that holds an address gives its
scope (longest prefix wins, so the order of the rows does not matter). IPv4 rows are matched as
IPv4-mapped IPv6 (``address.py``), so ``::ffff:10.1.2.3`` is ``private`` like ``10.1.2.3``.

Sources: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) and the IPv6
Address Space registry, with Azure's two platform addresses on top. Left out on purpose: special
ranges whose peers are real internet hosts (AS112, AMT, Teredo, 6to4) stay ``public``, and
``192.0.0.0/24`` is ``reserved`` whole although two of its /32s are anycast services.
"""

import ipaddress
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flowcdr.enrich.address import Addresses
from flowcdr.formats.schema import SCOPES

Codes = npt.NDArray[np.int8]


class Range(NamedTuple):
    network: str
    scope: str
    why: str


RANGES: tuple[Range, ...] = (
    # IPv4. Addresses in none of these rows are public.
    Range("0.0.0.0/8", "reserved", "'this network', never a real peer (RFC 791, RFC 1122)"),
    Range("10.0.0.0/8", "private", "RFC 1918"),
    Range("100.64.0.0/10", "private", "shared address space, carrier-grade NAT (RFC 6598)"),
    Range("127.0.0.0/8", "loopback", "RFC 1122"),
    Range("168.63.129.16/32", "azure_platform", "wireserver: DNS, DHCP, health probes, agent"),
    Range("169.254.0.0/16", "link_local", "RFC 3927"),
    Range("169.254.169.254/32", "azure_platform", "Instance Metadata Service (IMDS)"),
    Range("172.16.0.0/12", "private", "RFC 1918"),
    Range("192.0.0.0/24", "reserved", "IETF protocol assignments (RFC 6890)"),
    Range("192.0.2.0/24", "reserved", "TEST-NET-1 documentation (RFC 5737)"),
    Range("192.88.99.0/24", "reserved", "former 6to4 relay anycast (RFC 7526)"),
    Range("192.168.0.0/16", "private", "RFC 1918"),
    Range("198.18.0.0/15", "reserved", "benchmarking (RFC 2544)"),
    Range("198.51.100.0/24", "reserved", "TEST-NET-2 documentation (RFC 5737)"),
    Range("203.0.113.0/24", "reserved", "TEST-NET-3 documentation (RFC 5737)"),
    Range("224.0.0.0/4", "multicast", "RFC 5771"),
    Range("240.0.0.0/4", "reserved", "future use (RFC 1112), and 255.255.255.255 broadcast"),
    # IPv6. Outside global unicast (2000::/3) everything is IETF-reserved unless listed.
    Range("::/0", "reserved", "unassigned by IANA, and :: the unspecified address (RFC 4291)"),
    Range("::1/128", "loopback", "RFC 4291"),
    Range("::ffff:0:0/96", "public", "IPv4-mapped: every IPv4 address, then the rows above"),
    Range("64:ff9b::/96", "public", "NAT64 well-known prefix, a public IPv4 inside (RFC 6052)"),
    Range("2000::/3", "public", "global unicast (RFC 4291)"),
    Range("2001:2::/48", "reserved", "benchmarking (RFC 5180)"),
    Range("2001:db8::/32", "reserved", "documentation (RFC 3849)"),
    Range("3fff::/20", "reserved", "documentation (RFC 9637)"),
    Range("fc00::/7", "private", "unique local addresses (RFC 4193)"),
    Range("fe80::/10", "link_local", "RFC 4291"),
    Range("ff00::/8", "multicast", "RFC 4291"),
)

CODES = {name: code for code, name in enumerate(SCOPES)}
_WORD = (1 << 64) - 1


class _Rule(NamedTuple):
    """A range as 64-bit words: address & mask == network, on both halves."""

    mask_high: np.uint64
    mask_low: np.uint64
    net_high: np.uint64
    net_low: np.uint64
    code: np.int8


def _rule(row: Range) -> tuple[int, _Rule]:
    network = ipaddress.ip_network(row.network)
    value, length = int(network.network_address), network.prefixlen
    if network.version == 4:
        value, length = value | 0xFFFF << 32, length + 96
    mask = _WORD << 64 | _WORD
    mask = mask >> (128 - length) << (128 - length)
    words = (np.uint64(mask >> 64), np.uint64(mask & _WORD))
    nets = (np.uint64(value >> 64), np.uint64(value & _WORD))
    return length, _Rule(*words, *nets, np.int8(CODES[row.scope]))


# Least specific first, so that each later match overrides: longest prefix wins.
_RULES = tuple(rule for _, rule in sorted(map(_rule, RANGES), key=lambda pair: pair[0]))


def classify(addresses: Addresses) -> Codes:
    """The scope code of each address; text that is no address counts as ``reserved``."""
    codes = np.full(len(addresses.valid), CODES["reserved"], np.int8)
    for rule in _RULES:
        inside = (addresses.high & rule.mask_high) == rule.net_high
        inside &= (addresses.low & rule.mask_low) == rule.net_low
        codes[inside & addresses.valid] = rule.code
    return codes
