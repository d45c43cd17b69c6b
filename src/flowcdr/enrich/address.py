"""IP address text to 128-bit integers: the one form the scope table is matched against.

IPv4 is carried as its IPv4-mapped IPv6 address (``::ffff:a.b.c.d``), so one table and one
vectorized match serve both families, and an IPv4-mapped IPv6 address is classified by its IPv4
without a rule of its own. Canonical dotted quads (nearly every address in a flow log) are
parsed by Arrow kernels; only the rest (IPv6, anything odd) go through ``socket.inet_pton`` one
by one. Callers pass distinct values (dictionary entries), never one value per row.
"""

import socket
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Words = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]

# Strictly canonical dotted decimal, as flowcdr.formats writes IPv4 (no leading zeros).
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = rf"^(?:{_OCTET}\.){{3}}{_OCTET}$"
_MAPPED_PREFIX = bytes(10) + b"\xff\xff"
_MAPPED_LOW = np.uint64(0xFFFF << 32)


@dataclass(frozen=True)
class Addresses:
    """Parsed addresses, aligned with the texts they came from."""

    high: Words
    """Bits 127..64 of the address (0 for IPv4)."""
    low: Words
    """Bits 63..0 (``0xffff`` then the IPv4 for IPv4)."""
    valid: Mask
    """False where the text is no address: such entries get scope ``reserved`` and no country."""
    lookup: pa.StringArray
    """The text a country lookup takes: a dotted quad for IPv4-mapped IPv6, else the text."""


def parse(texts: pa.StringArray) -> Addresses:
    """Parse IPv4 in canonical dotted decimal (as flowcdr.formats writes it) and IPv6 in any
    form; anything else is marked invalid."""
    texts = pc.fill_null(texts, "")
    count = len(texts)
    high = np.zeros(count, np.uint64)
    low = np.zeros(count, np.uint64)
    quad = np.asarray(pc.match_substring_regex(texts, _DOTTED_QUAD).to_numpy(False), bool)
    low[quad] = _MAPPED_LOW | _dotted_quads(texts.filter(pa.array(quad)))
    valid = quad.copy()
    others = np.flatnonzero(~quad)
    packed = bytearray()
    patched: list[int] = []
    patches: list[str] = []
    for position, text in zip(others.tolist(), texts.take(others).to_pylist(), strict=True):
        try:
            address = socket.inet_pton(socket.AF_INET6, text)
        except OSError:
            address = bytes(16)
        else:
            valid[position] = True
            if address.startswith(_MAPPED_PREFIX):
                patched.append(position)
                patches.append(socket.inet_ntoa(address[12:]))
        packed += address
    words = np.frombuffer(bytes(packed), ">u8").astype(np.uint64).reshape(-1, 2)
    high[others], low[others] = words[:, 0], words[:, 1]
    return Addresses(high, low, valid, _replaced(texts, patched, patches))


def _dotted_quads(texts: pa.StringArray) -> Words:
    octets = pc.cast(pc.split_pattern(texts, ".").flatten(), pa.uint64())
    parts = np.asarray(octets.to_numpy(), np.uint64).reshape(-1, 4)
    shifts = np.array([24, 16, 8, 0], np.uint64)
    words: Words = np.bitwise_or.reduce(parts << shifts, axis=1, dtype=np.uint64)
    return words


def _replaced(texts: pa.StringArray, positions: list[int], values: list[str]) -> pa.StringArray:
    if not positions:
        return texts
    mask = np.zeros(len(texts), bool)
    mask[positions] = True
    return pc.replace_with_mask(texts, pa.array(mask), pa.array(values, pa.string()))
