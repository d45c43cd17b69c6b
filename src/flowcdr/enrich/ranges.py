"""A set of address ranges built from CIDR prefixes, asked about many addresses at once.

Prefixes become sorted, merged, non-overlapping ``[start, end]`` ranges of 128-bit keys, IPv4
as IPv4-mapped IPv6 like everywhere in ``flowcdr.enrich`` (``address.py``), so one array serves
both families. A key is 16 big-endian bytes, whose byte order is its numeric order, and a
lookup is one ``searchsorted`` over the distinct addresses asked about. Tens of thousands of
prefixes (Azure's published ranges) build in well under a second.
"""

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from flowcdr.enrich.address import Addresses

Keys = npt.NDArray[np.bytes_]
Mask = npt.NDArray[np.bool_]
_MAPPED = 0xFFFF << 32


class PrefixError(ValueError):
    """A prefix that is not an IPv4 or IPv6 CIDR; ``index`` is its position in the input."""

    def __init__(self, index: int, text: str, why: str) -> None:
        super().__init__(f"entry {index} {text!r} is not an IP prefix: {why}")
        self.index = index


@dataclass(frozen=True)
class AddressRanges:
    starts: Keys
    ends: Keys

    @classmethod
    def from_prefixes(cls, prefixes: Sequence[str]) -> "AddressRanges":
        """The union of ``prefixes`` (``a.b.c.d/n``, IPv6 ``x::/n``; host bits allowed, as in
        published lists that write a host address without a length)."""
        spans: list[tuple[int, int]] = []
        for index, text in enumerate(prefixes):
            try:
                network = ipaddress.ip_network(text.strip(), strict=False)
            except ValueError as error:
                raise PrefixError(index, text, str(error)) from None
            start, end = int(network.network_address), int(network.broadcast_address)
            if network.version == 4:
                start, end = start | _MAPPED, end | _MAPPED
            spans.append((start, end))
        return cls(*merged_keys(spans))

    def __len__(self) -> int:
        return len(self.starts)

    def contains(self, addresses: Addresses) -> Mask:
        """Which of the parsed addresses fall in a range (never an invalid one)."""
        if not len(self.starts) or not len(addresses.valid):
            return np.zeros(len(addresses.valid), bool)
        words = np.stack([addresses.high, addresses.low], axis=1).astype(">u8")
        keys = np.frombuffer(words.tobytes(), "S16")
        return inside(keys, self.starts, self.ends) & addresses.valid


def merged_keys(spans: list[tuple[int, int]]) -> tuple[Keys, Keys]:
    """Sorted, non-overlapping 128-bit ranges covering the same addresses as ``spans``
    (inclusive integer pairs; adjacent ones joined), as 16-byte keys."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return (
        np.array([start.to_bytes(16, "big") for start, _ in merged], "S16"),
        np.array([end.to_bytes(16, "big") for _, end in merged], "S16"),
    )


def inside(values: npt.NDArray[Any], starts: npt.NDArray[Any], ends: npt.NDArray[Any]) -> Mask:
    """Which ``values`` fall in one of the sorted, non-overlapping ``[starts, ends]`` ranges
    (any ordered dtype: integers, or keys of equal width)."""
    if not len(starts) or not len(values):
        return np.zeros(len(values), bool)
    index = np.searchsorted(starts, values, side="right") - 1
    hit: Mask = (index >= 0) & (values <= ends[np.maximum(index, 0)])
    return hit
