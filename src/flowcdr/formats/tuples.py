"""The reference flow-tuple parser: one tuple string in, typed values or the reason it is bad.

This is the specification of what a valid tuple is. The columnar fast path
(``columnar.py``) must agree with it on every input; it falls back to this parser for any
group of tuples it cannot prove clean, and asks it to explain every tuple it rejects.
"""

import functools
import ipaddress
import re
import socket
from typing import NamedTuple

from flowcdr.formats.layout import (
    ALLOW,
    DECISION_CODES,
    DENY,
    DIRECTION_CODES,
    NSG_PROTOCOLS,
    NSG_STATE_CODES,
    VNET_DENY_STATE,
    VNET_STATE_CODES,
    Layout,
)

# Tuple times are Unix seconds (NSG) or milliseconds (VNet), but Microsoft's own VNet example
# uses seconds, so the unit is told by magnitude: below 1e11 seconds (until year 5138), below
# 1e14 milliseconds (from 1973). Anything outside 2000..2100 is refused as a bad timestamp.
SECONDS_BELOW = 10**11
MILLIS_BELOW = 10**14
MIN_TIME_US = 946_684_800 * 10**6  # 2000-01-01T00:00:00Z
MAX_TIME_US = 4_102_444_800 * 10**6  # 2100-01-01T00:00:00Z
UINT64_MAX = 2**64 - 1
_ENCRYPTION = re.compile(r"[A-Z][A-Z0-9_]*")


class TupleRow(NamedTuple):
    """A valid tuple: codes are indices into the schema's value lists."""

    time_us: int
    src_ip: str
    dst_ip: str
    src_port: int
    dst_port: int
    protocol: int
    direction: int
    decision: int
    state: int | None
    encryption: str | None
    src_packets: int | None
    src_bytes: int | None
    dst_packets: int | None
    dst_bytes: int | None


class TupleProblem(NamedTuple):
    """Why a tuple was rejected: the first bad field, its text, and what was expected."""

    field: str
    value: str
    reason: str


class _BadFieldError(Exception):
    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason


def _digits(text: str, index: int, maximum: int, what: str) -> int:
    # isascii() keeps out Unicode digits that int() would accept; the length bound keeps
    # int() away from huge inputs.
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        raise _BadFieldError(index, f"expected {what}")
    value = int(text)
    if value > maximum:
        raise _BadFieldError(index, f"expected {what}")
    return value


def _counter(text: str, index: int) -> int | None:
    if text == "":
        return None
    return _digits(text, index, UINT64_MAX, "an unsigned 64-bit counter or nothing")


def time_us(value: int) -> int | None:
    """Unix seconds or milliseconds to microseconds, or None when out of range."""
    if value < 0:
        return None
    if value < SECONDS_BELOW:
        us = value * 1_000_000
    elif value < MILLIS_BELOW:
        us = value * 1_000
    else:
        return None
    return us if MIN_TIME_US <= us < MAX_TIME_US else None


@functools.lru_cache(maxsize=1 << 16)
def canonical_ip(text: str) -> str | None:
    """The canonical text of an IPv4 or IPv6 address, or None if it is not one.

    IPv4 is strict dotted decimal (no leading zeros, which some stacks read as octal); IPv6 is
    written as RFC 5952 says: lower case, the longest run of two or more zero groups
    compressed, and IPv4-mapped addresses in mixed notation (``::ffff:192.0.2.1``).
    Zone ids (``fe80::1%eth0``) are refused: a flow log never carries them.
    """
    try:
        return socket.inet_ntoa(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        pass
    try:
        address = ipaddress.IPv6Address(socket.inet_pton(socket.AF_INET6, text))
    except (OSError, ValueError):
        return None
    mapped = address.ipv4_mapped
    return str(address) if mapped is None else f"::ffff:{mapped}"


def encryption_code(text: str) -> bool:
    """Whether a non-empty VNet encryption field is a well-formed code (X, NX, NX_...)."""
    return _ENCRYPTION.fullmatch(text) is not None


def _ip(text: str, index: int) -> str:
    ip = canonical_ip(text)
    if ip is None:
        raise _BadFieldError(index, "expected an IPv4 or IPv6 address")
    return ip


def _code(text: str, index: int, codes: dict[str, int], what: str) -> int:
    code = codes.get(text)
    if code is None:
        raise _BadFieldError(index, f"expected {what}")
    return code


def parse_tuple(text: str, layout: Layout) -> TupleRow | TupleProblem:
    """Parse one tuple string of the given layout."""
    parts = text.split(",")
    names = layout.fields
    if len(parts) != len(names):
        return TupleProblem(
            "tuple", text, f"has {len(parts)} fields, expected {len(names)} for {layout.name}"
        )
    try:
        return _parse_fields(parts, layout)
    except _BadFieldError as bad:
        return TupleProblem(names[bad.index], parts[bad.index], bad.reason)


def _parse_fields(parts: list[str], layout: Layout) -> TupleRow:
    stamp = time_us(_digits(parts[0], 0, UINT64_MAX, "a Unix time"))
    if stamp is None:
        raise _BadFieldError(
            0, "expected a Unix time in seconds or milliseconds between 2000 and 2100"
        )
    src_ip = _ip(parts[1], 1)
    dst_ip = _ip(parts[2], 2)
    src_port = _digits(parts[3], 3, 65535, "a port number 0-65535")
    dst_port = _digits(parts[4], 4, 65535, "a port number 0-65535")
    direction_index = 6
    if layout is Layout.VNET_V4:
        protocol = _digits(parts[5], 5, 255, "an IANA protocol number 0-255")
        direction = _code(parts[6], direction_index, DIRECTION_CODES, "I or O")
        state = _code(parts[7], 7, VNET_STATE_CODES, "B, C, E or D")
        decision = DENY if state == VNET_DENY_STATE else ALLOW
        encryption = parts[8] or None
        if encryption is not None and not encryption_code(encryption):
            raise _BadFieldError(8, "expected an encryption code such as X or NX_...")
    else:
        protocol = _code(parts[5], 5, NSG_PROTOCOLS, "T or U")
        direction = _code(parts[6], direction_index, DIRECTION_CODES, "I or O")
        decision = _code(parts[7], 7, DECISION_CODES, "A or D")
        state = None
        encryption = None
        if layout is Layout.NSG_V2:
            state = _code(parts[8], 8, NSG_STATE_CODES, "B, C or E")
    if layout is Layout.NSG_V1:
        counters: tuple[int | None, ...] = (None, None, None, None)
    else:
        counters = tuple(_counter(parts[i], i) for i in range(9, 13))
    return TupleRow(
        stamp,
        src_ip,
        dst_ip,
        src_port,
        dst_port,
        protocol,
        direction,
        decision,
        state,
        encryption,
        *counters,
    )
