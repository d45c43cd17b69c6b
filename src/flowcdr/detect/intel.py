"""Threat-intel matching: address lists as sorted, merged integer ranges, matched in bulk.

Each list becomes non-overlapping ``[start, end]`` ranges: IPv4 as integers in numpy arrays
(built, cleaned and merged without a Python loop, so a million indicators load in about a
second), IPv6 as 16-byte big-endian strings, whose byte order is their numeric order. A lookup
is one ``searchsorted`` per family over the distinct addresses asked about. Before merging,
every range is cut free of the non-public space of ``flowcdr.enrich.scope.RANGES`` (private,
reserved, loopback, Azure platform...): feeds such as FireHOL level1 list ``10.0.0.0/8``, and
left in, every internal flow would be "malicious". Indicators last seen longer ago than the
maximum age are dropped (``feeds`` reads the dates).
"""

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.enrich.address import parse
from flowcdr.enrich.ranges import inside, merged_keys
from flowcdr.enrich.scope import RANGES

U64 = npt.NDArray[np.uint64]
Bytes16 = npt.NDArray[np.bytes_]
_V4_ALL = 0xFFFFFFFF
_V6_ALL = (1 << 128) - 1
_MAPPED = 0xFFFF


def _bogons() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Non-public ranges per family, from the scope table: IPv4 rows that are not public, and
    for IPv6 everything outside global unicast plus the non-public rows inside it."""
    v4: list[tuple[int, int]] = []
    v6 = [(0, (0x2000 << 112) - 1), (0x4000 << 112, _V6_ALL)]
    unicast = ipaddress.IPv6Network("2000::/3")
    for row in RANGES:
        net = ipaddress.ip_network(row.network)
        span = (int(net.network_address), int(net.broadcast_address))
        if row.scope == "public":
            continue
        if net.version == 4:
            v4.append(span)
        elif isinstance(net, ipaddress.IPv6Network) and net.subnet_of(unicast):
            v6.append(span)
    return v4, v6


_BOGONS_V4, _BOGONS_V6 = _bogons()


@dataclass
class FeedStats:
    """What loading a list did, for ``flowcdr intel check`` and the detect summary."""

    read: int = 0
    invalid: int = 0
    stripped: int = 0
    """Indicators wholly inside private or bogon space (part-overlaps are cut, not counted)."""
    expired: int = 0
    ranges: int = 0
    samples: list[str] = field(default_factory=list)
    """The first few invalid entries, quoted, for the error message."""


@dataclass(frozen=True)
class IntelList:
    name: str
    v4_starts: U64
    v4_ends: U64
    v6_starts: Bytes16
    v6_ends: Bytes16
    stats: FeedStats

    def __len__(self) -> int:
        return len(self.v4_starts) + len(self.v6_starts)


def build_list(
    name: str,
    entries: Sequence[str],
    last_seen: Sequence[dt.datetime | None] | None = None,
    *,
    as_of: dt.datetime | None = None,
    max_age: dt.timedelta | None = None,
) -> IntelList:
    """One list from its entries (IP or CIDR text, host bits allowed) and, when the feed says,
    when each was last seen: entries older than ``max_age`` before ``as_of`` are dropped."""
    stats = FeedStats(read=len(entries))
    texts = pa.array(entries, pa.string())
    if last_seen is not None and max_age is not None:
        cutoff = (as_of or dt.datetime.now(dt.UTC)) - max_age
        stale = np.array([seen is not None and seen < cutoff for seen in last_seen], bool)
        stats.expired = int(stale.sum())
        texts = texts.filter(pa.array(~stale))
    parts = pc.extract_regex(
        pc.utf8_trim_whitespace(texts), r"^(?P<addr>[^/]+)(?:/(?P<len>[0-9]{1,3}))?$"
    )
    shaped = np.asarray(pc.is_valid(parts).to_numpy(zero_copy_only=False), bool)
    addresses = parse(pc.struct_field(parts, "addr"))
    lengths = pc.struct_field(parts, "len")
    length = np.asarray(
        pc.cast(pc.if_else(pc.equal(lengths, ""), "-1", lengths), pa.int16()).to_numpy(False),
        np.int16,
    )
    text_v4 = ~np.asarray(
        pc.match_substring(pc.struct_field(parts, "addr"), ":").to_numpy(False), bool
    )
    v4 = shaped & addresses.valid & text_v4 & (length <= 32)
    v6 = shaped & addresses.valid & ~text_v4 & (length <= 128)
    bad = np.flatnonzero(~(v4 | v6))
    stats.invalid = len(bad)
    stats.samples = [repr(texts[int(i)].as_py()) for i in bad[:3]]
    v4_starts, v4_ends = _v4_ranges(addresses.low[v4], length[v4], stats)
    v6_starts, v6_ends = _v6_ranges(addresses.high[v6], addresses.low[v6], length[v6], stats)
    stats.ranges = len(v4_starts) + len(v6_starts)
    return IntelList(name, v4_starts, v4_ends, v6_starts, v6_ends, stats)


def _v4_ranges(low: U64, length: npt.NDArray[np.int16], stats: FeedStats) -> tuple[U64, U64]:
    value = low & np.uint64(_V4_ALL)
    prefix = np.where(length < 0, 32, length).astype(np.uint64)
    mask = (np.uint64(_V4_ALL) << (np.uint64(32) - prefix)) & np.uint64(_V4_ALL)
    starts = value & mask
    ends = starts | (~mask & np.uint64(_V4_ALL))
    keep = np.ones(len(starts), bool)
    cut_starts: list[int] = []
    cut_ends: list[int] = []
    for bogon_start, bogon_end in _BOGONS_V4:
        inside = (starts >= bogon_start) & (ends <= bogon_end)
        stats.stripped += int((inside & keep).sum())
        keep &= ~inside
        # CIDR blocks nest or are disjoint, so a block that is not inside a bogon either holds
        # it or misses it; the few that hold one (0.0.0.0/0, 8.0.0.0/5...) are cut in Python.
        around = keep & (starts <= bogon_start) & (ends >= bogon_end)
        for index in np.flatnonzero(around).tolist():
            pieces = _subtract(int(starts[index]), int(ends[index]), _BOGONS_V4)
            cut_starts += [piece[0] for piece in pieces]
            cut_ends += [piece[1] for piece in pieces]
        keep &= ~around
    all_starts = np.concatenate([starts[keep], np.array(cut_starts, np.uint64)])
    all_ends = np.concatenate([ends[keep], np.array(cut_ends, np.uint64)])
    return _merge(all_starts, all_ends)


def _merge(starts: U64, ends: U64) -> tuple[U64, U64]:
    """Sorted, non-overlapping ranges covering the same addresses (adjacent ones joined)."""
    if not len(starts):
        return starts, ends
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]
    reach = np.maximum.accumulate(ends)
    opens = np.flatnonzero(np.r_[True, starts[1:] > reach[:-1] + np.uint64(1)])
    return starts[opens], np.maximum.reduceat(ends, opens)


def _subtract(start: int, end: int, holes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces = [(start, end)]
    for hole_start, hole_end in holes:
        kept = []
        for piece_start, piece_end in pieces:
            if hole_end < piece_start or hole_start > piece_end:
                kept.append((piece_start, piece_end))
                continue
            if piece_start < hole_start:
                kept.append((piece_start, hole_start - 1))
            if hole_end < piece_end:
                kept.append((hole_end + 1, piece_end))
        pieces = kept
    return pieces


def _v6_ranges(
    high: U64, low: U64, length: npt.NDArray[np.int16], stats: FeedStats
) -> tuple[Bytes16, Bytes16]:
    """IPv6 lists are short (thousands), so Python integers are fast enough and simplest."""
    spans: list[tuple[int, int]] = []
    for hi, lo, bits in zip(high.tolist(), low.tolist(), length.tolist(), strict=True):
        prefix = 128 if bits < 0 else bits
        host = (1 << (128 - prefix)) - 1
        start = (hi << 64 | lo) & ~host & _V6_ALL
        pieces = _subtract(start, start | host, _BOGONS_V6)
        if not pieces:
            stats.stripped += 1
        spans += pieces
    return merged_keys(spans)


@dataclass(frozen=True)
class Intel:
    """Every loaded list; a match names the first list, in load order, that holds the address."""

    lists: tuple[IntelList, ...] = ()

    def __len__(self) -> int:
        return sum(len(one) for one in self.lists)

    def match(self, ips: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The matching list's name for each address (IP text, plain or dictionary-encoded),
        null where none holds it. Work is per distinct address."""
        if isinstance(ips, pa.ChunkedArray):
            ips = ips.combine_chunks()
        encoded = ips if pa.types.is_dictionary(ips.type) else pc.dictionary_encode(ips)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        names = self._match_distinct(encoded.dictionary.cast(pa.string()))
        return names.take(encoded.indices)

    def _match_distinct(self, texts: pa.Array) -> pa.Array:
        found = np.full(len(texts), -1, np.int32)
        if not self.lists or not len(texts):
            return pa.nulls(len(texts), pa.string())
        addresses = parse(texts)
        mapped = addresses.valid & (addresses.high == 0)
        mapped &= (addresses.low >> np.uint64(32)) == np.uint64(_MAPPED)
        v6 = addresses.valid & ~mapped
        v4_values = addresses.low[mapped] & np.uint64(_V4_ALL)
        words = np.stack([addresses.high[v6], addresses.low[v6]], axis=1).astype(">u8")
        v6_values = np.frombuffer(words.tobytes(), "S16")
        v4_at, v6_at = np.flatnonzero(mapped), np.flatnonzero(v6)
        for position, one in reversed(list(enumerate(self.lists))):
            found[v4_at[inside(v4_values, one.v4_starts, one.v4_ends)]] = position
            found[v6_at[inside(v6_values, one.v6_starts, one.v6_ends)]] = position
        names = pa.array([one.name for one in self.lists], pa.string())
        return names.take(pa.array(found, pa.int32(), mask=found < 0))
