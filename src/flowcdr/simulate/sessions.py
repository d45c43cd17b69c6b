"""Sessions: the connections the traffic model makes, before any flow log sees them.

A session is one 5-tuple from its first packet to its last, with totals for each direction. The
benign model and the attack scenarios only make sessions; turning them into what each NIC logs
(begin, continuing and end tuples with delta counters, denials, both ends of internal traffic)
is ``observe``'s job, so no generator can get the flow-log rules wrong. Columns are numpy arrays
so that a day of traffic is made a few operations at a time, not a tuple at a time.
"""

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any

import numpy as np

TCP, UDP = 6, 17
NOT_OURS = -1
"""``src_vm``/``dst_vm`` of an endpoint that is no NIC of the estate (internet, platform)."""


class Rule(IntEnum):
    """The NSG rules the simulated estate has; the name is what both flow logs write."""

    ALLOW_VNET_IN = 0
    ALLOW_VNET_OUT = 1
    ALLOW_INTERNET_OUT = 2
    ALLOW_LOAD_BALANCER_IN = 3
    DENY_ALL_IN = 4
    ALLOW_HTTPS_IN = 5
    ALLOW_CORP_MANAGEMENT_IN = 6
    ALLOW_WEB_TO_APP = 7
    ALLOW_APP_TO_DB = 8
    ALLOW_SCANNER_IN = 9
    ALLOW_ANY_MANAGEMENT_IN = 10
    ALLOW_ANY_DATABASE_IN = 11


RULE_NAMES: tuple[str, ...] = (
    "DefaultRule_AllowVnetInBound",
    "DefaultRule_AllowVnetOutBound",
    "DefaultRule_AllowInternetOutBound",
    "DefaultRule_AllowAzureLoadBalancerInBound",
    "DefaultRule_DenyAllInBound",
    "UserRule_AllowHttpsInBound",
    "UserRule_AllowManagementFromCorp",
    "UserRule_AllowWebToApp",
    "UserRule_AllowAppToDatabase",
    "UserRule_AllowVulnerabilityScanner",
    # The two misconfigurations behind the exposure scenarios: a rule someone opened to "Any".
    "UserRule_TemporaryRdpSshAnyInBound",
    "UserRule_DatabaseAnyInBound",
)


@dataclass
class Sessions:
    """Column arrays of equal length; addresses are text exactly as the logs will show them.

    Counters are totals over the session: ``sent`` from ``src`` to ``dst``, ``received`` back.
    ``denied`` means the destination's NSG dropped it: the destination NIC logs one denial and
    the source NIC (if ours) an allowed attempt that got no answer. ``encrypted`` is VNet
    encryption (X) for traffic between our NICs.
    """

    start_ms: np.ndarray
    duration_ms: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    src_port: np.ndarray
    dst_port: np.ndarray
    protocol: np.ndarray
    src_vm: np.ndarray
    dst_vm: np.ndarray
    rule_out: np.ndarray
    rule_in: np.ndarray
    denied: np.ndarray
    encrypted: np.ndarray
    packets_sent: np.ndarray
    bytes_sent: np.ndarray
    packets_received: np.ndarray
    bytes_received: np.ndarray

    def __len__(self) -> int:
        return len(self.start_ms)

    def take(self, index: np.ndarray) -> "Sessions":
        """The sessions at ``index`` (integer positions or a boolean mask)."""
        return Sessions(*(getattr(self, f.name)[index] for f in fields(self)))


_DTYPES: dict[str, Any] = {
    "start_ms": np.int64,
    "duration_ms": np.int64,
    "src": object,
    "dst": object,
    "src_port": np.int32,
    "dst_port": np.int32,
    "protocol": np.uint8,
    "src_vm": np.int32,
    "dst_vm": np.int32,
    "rule_out": np.int16,
    "rule_in": np.int16,
    "denied": np.bool_,
    "encrypted": np.bool_,
    "packets_sent": np.int64,
    "bytes_sent": np.int64,
    "packets_received": np.int64,
    "bytes_received": np.int64,
}
_DEFAULTS: dict[str, Any] = {
    "protocol": TCP,
    "src_vm": NOT_OURS,
    "dst_vm": NOT_OURS,
    "rule_out": Rule.ALLOW_INTERNET_OUT,
    "rule_in": Rule.ALLOW_VNET_IN,
    "denied": False,
    "encrypted": False,
}


def make_sessions(size: int, **columns: Any) -> Sessions:
    """``size`` sessions; each column is an array of that length or one value for all.

    Columns left out take the defaults of an outbound internet TCP session.
    """
    arrays = {}
    for name, dtype in _DTYPES.items():
        value = columns.pop(name, _DEFAULTS.get(name))
        if value is None:
            raise TypeError(f"make_sessions: column {name!r} is required")
        array = np.asarray(value, dtype=dtype)
        arrays[name] = np.full(size, value, dtype=dtype) if array.ndim == 0 else array
        if len(arrays[name]) != size:
            raise ValueError(f"make_sessions: column {name!r} has {len(arrays[name])} != {size}")
    if columns:
        raise TypeError(f"make_sessions: unknown columns {sorted(columns)}")
    return Sessions(**arrays)


def concat(parts: list[Sessions]) -> Sessions:
    """One ``Sessions`` holding all ``parts`` in order (an empty list gives zero sessions)."""
    if not parts:
        return make_sessions(0, **{name: [] for name in _DTYPES if name not in _DEFAULTS})
    return Sessions(
        *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Sessions))
    )


def ephemeral_ports(rng: np.random.Generator, size: int) -> np.ndarray:
    """Client ports as Linux and Windows pick them (32768-65535)."""
    return rng.integers(32768, 65536, size)
