"""Addresses outside the estate: Azure's platform, well-known services, and random internet hosts.

Internet actors get routable public addresses, not the RFC 5737 documentation ranges: the
enrichment stage classes those as reserved, and detections that look for public peers would
rightly ignore them. Nothing is ever sent to any address; they only appear in files.
"""

import ipaddress

import numpy as np

AZURE_PLATFORM = "168.63.129.16"
"""WireServer: Azure DNS, the guest agent, and the load balancer's health probes."""

# Well-known public services the benign model calls. Microsoft's time server, Canonical's
# archive, a Microsoft CDN edge, Azure Monitor and Azure Storage front ends.
NTP_SERVERS = ("168.61.215.74", "40.119.6.228")
MONITOR_ENDPOINTS = ("20.42.73.24", "20.189.173.2", "52.168.117.171")
UPDATE_SERVERS = ("91.189.91.81", "91.189.91.82", "185.125.190.36", "13.107.4.50")
CDN_SERVERS = ("104.16.85.20", "151.101.1.69", "13.107.246.40")
STORAGE_ENDPOINTS = ("52.239.184.180", "20.60.153.36", "52.239.152.10")

_NOT_PUBLIC_V4 = [
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "168.63.129.16/32",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
    )
]
_FIRST_V4 = int(ipaddress.IPv4Address("1.0.0.1"))
_LAST_V4 = int(ipaddress.IPv4Address("223.255.255.254"))


def public_ipv4(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` distinct routable unicast IPv4 addresses (object array of text)."""
    values = np.zeros(0, dtype=np.int64)
    while len(values) < size:
        drawn = rng.integers(_FIRST_V4, _LAST_V4 + 1, size * 2)
        keep = (drawn & 0xFF != 0) & (drawn & 0xFF != 255)
        for net in _NOT_PUBLIC_V4:
            keep &= (drawn & int(net.netmask)) != int(net.network_address)
        values = np.concatenate([values, drawn[keep]])
        values = values[np.sort(np.unique(values, return_index=True)[1])]
    return np.array([str(ipaddress.IPv4Address(v)) for v in values[:size].tolist()], dtype=object)


def public_ipv6(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` global unicast IPv6 addresses in RFC 5952 form, as the parser prints them."""
    prefixes = rng.integers(0x2400, 0x2C00, size).tolist()
    return np.array(
        [
            str(ipaddress.IPv6Address(prefix << 112 | int.from_bytes(rng.bytes(14), "big")))
            for prefix in prefixes
        ],
        dtype=object,
    )


def zipf_pick(rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
    """``size`` draws from ``pool`` where a few addresses come back often and most rarely."""
    index = (len(pool) * rng.random(size) ** 3).astype(np.int64)
    return pool[index]
