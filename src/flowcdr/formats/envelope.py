"""From input bytes to flow-log record objects, whatever the shape of the input.

Accepted shapes: a whole blob ``{"records":[...]}`` (UTF-8 BOM and whitespace tolerated), a
single record, a JSON array of records, and a fragment of committed blocks (records separated
by commas and/or newlines, a leading comma allowed), which is what an incremental reader gets.

The fast path decodes the whole input in one typed msgspec call, keeping each ``flowTuples``
array as a zero-copy ``Raw`` slice. If that fails (a bad record, a cut blob, NDJSON), the input
is split into records by a vectorized bracket scan and each record is decoded on its own, so
one bad record costs only itself.
"""

import re
from dataclasses import dataclass, field

import msgspec
import numpy as np
import numpy.typing as npt

from flowcdr.formats.errors import FormatError

NSG_CATEGORY = "NetworkSecurityGroupFlowEvent"
VNET_CATEGORY = "FlowLogFlowEvent"
_NO_RAW = msgspec.Raw(b"null")
# msgspec reports invalid UTF-8 inside strings as UnicodeDecodeError, not DecodeError.
DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError)


class NsgTuples(msgspec.Struct, gc=False):
    mac: str | None = None
    flowTuples: msgspec.Raw = _NO_RAW  # noqa: N815 - the JSON key


class NsgRule(msgspec.Struct, gc=False):
    rule: str | None = None
    flows: list[NsgTuples] | None = None


class NsgProperties(msgspec.Struct, gc=False):
    Version: int | float | None = None
    flows: list[NsgRule] | None = None


class VnetGroup(msgspec.Struct, gc=False):
    rule: str | None = None
    flowTuples: msgspec.Raw = _NO_RAW  # noqa: N815


class VnetAcl(msgspec.Struct, gc=False):
    aclID: str | None = None  # noqa: N815
    flowGroups: list[VnetGroup] | None = None  # noqa: N815


class VnetFlowRecords(msgspec.Struct, gc=False):
    flows: list[VnetAcl] | None = None


class Record(msgspec.Struct, gc=False):
    """One flow-log record of either kind; unknown keys are ignored."""

    category: str | None = None
    resourceId: str | None = None  # noqa: N815
    macAddress: str | None = None  # noqa: N815
    properties: NsgProperties | None = None
    flowLogVersion: int | float | None = None  # noqa: N815
    flowLogResourceID: str | None = None  # noqa: N815
    targetResourceID: str | None = None  # noqa: N815
    flowRecords: VnetFlowRecords | None = None  # noqa: N815
    records: msgspec.Raw = _NO_RAW  # set only by the malformed nested-envelope quirk


class _Envelope(msgspec.Struct, gc=False):
    records: list[Record]


class _CategoryOnly(msgspec.Struct, gc=False):
    category: str | None = None


_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)
_RECORD_DECODER = msgspec.json.Decoder(Record)
_RECORDS_DECODER = msgspec.json.Decoder(list[Record])
_CATEGORY_DECODER = msgspec.json.Decoder(_CategoryOnly)
_ENVELOPE_HEAD = re.compile(rb'\{\s*"records"\s*:\s*\[')
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


@dataclass
class Decoded:
    """Records found in the input, in order, with what could not be used."""

    records: list[tuple[int, Record]] = field(default_factory=list)
    """(record index in the input, record) for every object that decoded as a record."""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(record index, reason) for elements that are not usable records."""
    seen: int = 0
    envelope: bool = False
    cut: bool = False


def decode_records(data: bytes, source: str) -> Decoded:
    """Find and decode every record in ``data``; raise FormatError if it is not JSON records."""
    start = len(_BOM) if data.startswith(_BOM) else 0
    while start < len(data) and data[start] in _WHITESPACE:
        start += 1
    if start == len(data):
        raise FormatError(source, "input is empty")
    first = data[start : start + 1]
    if first not in (b"{", b"[", b","):
        raise FormatError(source, f"not JSON records: starts with {data[start : start + 20]!r}")
    envelope = _ENVELOPE_HEAD.match(data, start) is not None
    fast = _decode_whole(data, start, first, envelope)
    if fast is not None:
        return fast
    return _decode_each(data, start, envelope, source)


def _decode_whole(data: bytes, start: int, first: bytes, envelope: bool) -> Decoded | None:
    """One typed decode of the whole input, or None if the input needs the careful path."""
    body = memoryview(data)[start:]
    try:
        if envelope:
            records = _ENVELOPE_DECODER.decode(body).records
        elif first == b"[":
            records = _RECORDS_DECODER.decode(body)
        elif first == b",":
            records = _RECORDS_DECODER.decode(b"[" + bytes(body[1:]) + b"]")
        else:
            try:
                records = [_RECORD_DECODER.decode(body)]
            except DECODE_ERRORS:
                # Several records: a fragment of blocks separated by commas.
                records = _RECORDS_DECODER.decode(b"[" + bytes(body) + b"]")
    except DECODE_ERRORS:
        return None
    return Decoded(records=list(enumerate(records)), seen=len(records), envelope=envelope)


def _decode_each(data: bytes, start: int, envelope: bool, source: str) -> Decoded:
    spans, cut = split_records(data, start, envelope, source)
    out = Decoded(envelope=envelope, cut=cut, seen=len(spans))
    view = memoryview(data)
    for index, (lo, hi) in enumerate(spans):
        chunk = view[lo:hi]
        if data[lo] != ord("{"):
            text = bytes(chunk[:40]).decode("utf-8", "replace")
            out.skipped.append((index, f"not a JSON object: {text!r}"))
            continue
        try:
            out.records.append((index, _RECORD_DECODER.decode(chunk)))
        except DECODE_ERRORS as error:
            out.skipped.append((index, _explain(chunk, error)))
    return out


def _explain(chunk: memoryview, error: Exception) -> str:
    if isinstance(error, msgspec.ValidationError):
        try:
            category = _CATEGORY_DECODER.decode(chunk).category
        except DECODE_ERRORS:
            category = None
        if category not in (NSG_CATEGORY, VNET_CATEGORY):
            return f"category {category!r} is not a flow log"
        return f"malformed {category} record: {error}"
    return f"malformed JSON: {error}"


def split_records(
    data: bytes, start: int, envelope: bool, source: str
) -> tuple[list[tuple[int, int]], bool]:
    """Byte spans of the top-level records, and whether the input ends inside one.

    A vectorized scan: quotes not escaped by a backslash delimit strings; brackets outside
    strings give the depth; records are the values at the records level (inside the
    envelope's array, inside a top-level array, or at the top of a fragment). Anything else at
    that level other than commas and whitespace becomes its own span, so it is reported, not
    dropped.
    """
    a = np.frombuffer(data, dtype=np.uint8)
    quotes = _positions(a, b'"')
    quotes = quotes[quotes >= start]
    if quotes.size and b"\\" in data:
        quotes = _unescaped(data, quotes)
    opens = _positions(a, b"{[")
    closes = _positions(a, b"}]")
    brackets = np.concatenate([opens, closes])
    delta = np.concatenate([np.ones(opens.size, np.int64), -np.ones(closes.size, np.int64)])
    order = np.argsort(brackets, kind="stable")
    brackets, delta = brackets[order], delta[order]
    keep = (brackets >= start) & (np.searchsorted(quotes, brackets, side="right") % 2 == 0)
    brackets, delta = brackets[keep], delta[keep]
    depth_after = np.cumsum(delta)
    if depth_after.size and depth_after.min() < 0:
        at = int(brackets[int(np.argmax(depth_after < 0))])
        raise FormatError(source, f"unbalanced JSON: unexpected {chr(data[at])!r} at byte {at}")
    level = 0
    begin = start
    if envelope:
        level = 2
        match = _ENVELOPE_HEAD.match(data, start)
        assert match is not None
        begin = match.end()
    elif data[start] == ord("["):
        level = 1
        begin = start + 1
    depth_before = depth_after - delta
    record_opens = brackets[(delta > 0) & (depth_before == level)]
    record_closes = brackets[(delta < 0) & (depth_after == level)]
    level_closes = brackets[(delta < 0) & (depth_after == level - 1)]
    end = int(level_closes[0]) if level and level_closes.size else len(data)
    record_opens = record_opens[record_opens < end]
    record_closes = record_closes[record_closes < end]
    spans: list[tuple[int, int]] = []
    position = begin
    for lo, hi in zip(record_opens.tolist(), record_closes.tolist(), strict=False):
        _gap(data, position, lo, spans)
        spans.append((lo, hi + 1))
        position = hi + 1
    cut = record_opens.size > record_closes.size
    _gap(data, position, int(record_opens[-1]) if cut else end, spans)
    top_closes = brackets[(delta < 0) & (depth_after == 0)]
    if level and top_closes.size:
        _gap(data, int(top_closes[0]) + 1, len(data), spans)
    return spans, cut


# Bytes scanned per step: the comparison masks stay small whatever the size of the input.
_WINDOW = 1 << 24


def _positions(a: npt.NDArray[np.uint8], characters: bytes) -> npt.NDArray[np.int64]:
    """Offsets of every byte of ``a`` that is one of ``characters``, in order."""
    parts = []
    for lo in range(0, len(a), _WINDOW):
        window = a[lo : lo + _WINDOW]
        mask = window == characters[0]
        for character in characters[1:]:
            mask |= window == character
        parts.append(np.flatnonzero(mask) + lo)
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _gap(data: bytes, lo: int, hi: int, spans: list[tuple[int, int]]) -> None:
    """Text between records must be commas and whitespace; anything else is a span of its own."""
    for piece in re.split(rb"[\s,]+", data[lo:hi]):
        if piece:
            at = data.index(piece, lo)
            spans.append((at, at + len(piece)))
            lo = at + len(piece)


def _unescaped(data: bytes, quotes: np.ndarray) -> np.ndarray:
    """Drop quotes preceded by an odd run of backslashes (escaped inside a string)."""
    a = np.frombuffer(data, dtype=np.uint8)
    after_backslash = quotes[(quotes > 0) & (a[np.maximum(quotes - 1, 0)] == ord("\\"))]
    escaped = []
    for q in after_backslash.tolist():
        run = 0
        while q - run - 1 >= 0 and data[q - run - 1] == ord("\\"):
            run += 1
        if run % 2:
            escaped.append(q)
    return np.setdiff1d(quotes, np.asarray(escaped, dtype=np.int64), assume_unique=True)
