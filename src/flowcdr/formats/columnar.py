"""Groups of tuple strings to Arrow columns, fast, with the reference parser as the fallback.

The fast path never makes a Python object per tuple. The raw JSON arrays of a run of groups
(``["t1","t2"]``) are joined into one buffer and rewritten in place so that every tuple is one
CSV line (``,t1,`` newline ``,t2,``): the quotes around each tuple become the padding commas, the
brackets become newlines. Arrow's multithreaded CSV reader then types the fields, and the checks
that remain (IP syntax, letter codes, time range) are vectorized or run once per distinct value.

The fast path only takes input it can prove clean: compact arrays of plain strings, no escapes,
no spaces (Arrow would trim them), no ``0x`` (Arrow would read hex), and rows with the right
number of fields and numbers that convert. Anything else goes to ``tuples.parse_tuple``, which
also explains every tuple the fast path refuses, so both paths agree by construction.
"""

import itertools
import operator
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from flowcdr.formats.envelope import DECODE_ERRORS
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
from flowcdr.formats.records import Group, Grouped
from flowcdr.formats.report import ParseReport, Reject
from flowcdr.formats.schema import (
    DECISIONS,
    DIRECTIONS,
    FLOW_SCHEMA,
    LOG_TYPES,
    STATES,
    STRING,
    TIME,
)
from flowcdr.formats.tuples import (
    MAX_TIME_US,
    MILLIS_BELOW,
    MIN_TIME_US,
    SECONDS_BELOW,
    TupleProblem,
    TupleRow,
    canonical_ip,
    encryption_code,
    parse_tuple,
)

Int = npt.NDArray[np.int64]
_NEWLINE, _COMMA, _QUOTE, _OPEN, _CLOSE = b'\n,"[]'
# Escapes change a string's meaning, Arrow trims spaces and reads 0x/0X as hex: none of these can
# be in a valid tuple, so their presence sends the input to the reference parser. An upper-case X
# is valid only in VNet's encryption field, so there only "0X" is looked for.
# (msgspec has already refused raw control characters inside strings.)
_UNSAFE = (b"\\", b" ", b"x")
# Dotted-quad IPv4 without leading zeros: exactly the strings that are already canonical.
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = rf"^({_OCTET}\.){{3}}{_OCTET}$"
_RAW = operator.itemgetter(0)
_CONTEXT_IDS = operator.itemgetter(5, 6, 7, 8)  # identity, rule, mac, acl of a Group


@dataclass(frozen=True)
class Context:
    """Lookups from group ids to dictionary indices, as of the groups walked so far."""

    log_type: Int
    version: Int
    subscription: Int
    resource_group: Int
    resource: Int
    dictionaries: dict[str, pa.Array]

    @classmethod
    def of(cls, grouped: Grouped) -> "Context":
        ids = np.asarray(grouped.identities, dtype=np.int64).reshape(-1, 5)

        def strings(values: Sequence[str]) -> pa.Array:
            return pa.array(values, pa.string())

        return cls(
            log_type=ids[:, 0],
            version=ids[:, 1],
            subscription=ids[:, 2],
            resource_group=ids[:, 3],
            resource=ids[:, 4],
            dictionaries={
                "log_type": strings(LOG_TYPES),
                "subscription_id": strings(grouped.subscriptions.values),
                "resource_group": strings(grouped.resource_groups.values),
                "resource_id": strings(grouped.resources.values),
                "acl_id": strings(grouped.acls.values),
                "rule": strings(grouped.rules.values),
                "mac": strings(grouped.macs.values),
                "direction": strings(DIRECTIONS),
                "decision": strings(DECISIONS),
                "state": strings(STATES),
            },
        )


# CSV runs typed at once, each on one thread, while this thread prepares and finishes others.
_WORKERS = 2


class _Contexts:
    """The Context for the groups walked so far, rebuilt only when the walk met new strings."""

    def __init__(self, grouped: Grouped) -> None:
        self._grouped = grouped
        self._sizes: tuple[int, ...] = ()
        self._context: Context | None = None

    def current(self) -> Context:
        g = self._grouped
        sizes = (len(g.identities), len(g.rules.values), len(g.macs.values), len(g.acls.values))
        if self._context is None or sizes != self._sizes:
            self._context, self._sizes = Context.of(g), sizes
        return self._context


def tables(
    groups: Iterable[Group], grouped: Grouped, report: ParseReport, chunk_bytes: int
) -> Iterator[pa.Table]:
    """Arrow tables for the groups, in input order, in runs of one layout up to chunk_bytes.

    Pipelined over two cores: while a worker thread types run k's CSV (Arrow releases the
    GIL), this thread walks the records of run k+1, rewrites them, then builds run k's columns.
    """
    contexts = _Contexts(grouped)
    pending: deque[_Pending] = deque()
    with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="flowcdr-csv") as pool:
        for run in _runs(groups, chunk_bytes):
            pending.append(_start(run, pool))
            if len(pending) > _WORKERS:
                yield from _finish(pending.popleft(), contexts.current(), report)
        while pending:
            yield from _finish(pending.popleft(), contexts.current(), report)


def _runs(groups: Iterable[Group], chunk_bytes: int) -> Iterator[list[Group]]:
    run: list[Group] = []
    size = 0
    for group in groups:
        if run and (group.layout is not run[0].layout or size >= chunk_bytes):
            yield run
            run, size = [], 0
        run.append(group)
        size += len(group.raw)
    if run:
        yield run


@dataclass
class _Pending:
    """A run whose CSV lines are being typed in the background (parsed is None if unclean)."""

    run: list[Group]
    counts: Int
    parsed: "Future[pa.Table | None] | None"


def _start(run: list[Group], pool: ThreadPoolExecutor) -> _Pending:
    lines = _csv_lines(run, run[0].layout)
    if lines is None:
        return _Pending(run, np.zeros(0, np.int64), None)
    buffer, counts = lines
    return _Pending(run, counts, pool.submit(_read_csv, buffer, run[0].layout))


def _finish(pending: _Pending, context: Context, report: ParseReport) -> Iterator[pa.Table]:
    parsed = pending.parsed.result() if pending.parsed is not None else None
    table = _typed_table(pending.run, parsed, pending.counts, context, report)
    if table is not None:
        yield table
        return
    # Find the groups the fast path cannot take; retry it on the clean stretches between them.
    start = 0
    for index, group in enumerate(pending.run):
        if not _clean(group.raw):
            yield from _clean_tables(pending.run[start:index], context, report)
            yield _reference_table([group], context, report)
            start = index + 1
    yield from _clean_tables(pending.run[start:], context, report)


def _clean_tables(run: list[Group], context: Context, report: ParseReport) -> Iterable[pa.Table]:
    if run:
        table = _fast_table(run, context, report)
        yield table if table is not None else _reference_table(run, context, report)


def _clean(raw: msgspec.Raw) -> bool:
    """The per-group form of the fast path's preconditions (used only after one failed)."""
    data = bytes(raw)
    if data == b"[]":
        return True
    if not (len(data) >= 4 and data.startswith(b'["') and data.endswith(b'"]')):
        return False
    if not data.isascii() or any(unsafe in data for unsafe in _UNSAFE) or b"0X" in data:
        return False
    return data.count(b'"') == 2 * (data.count(b'","') + 1)


def _fast_table(run: list[Group], context: Context, report: ParseReport) -> pa.Table | None:
    """The run's table in one go, or None when the fast path cannot prove the run clean."""
    lines = _csv_lines(run, run[0].layout)
    if lines is None:
        return None
    buffer, counts = lines
    return _typed_table(run, _read_csv(buffer, run[0].layout), counts, context, report)


def _typed_table(
    groups: list[Group],
    parsed: pa.Table | None,
    counts: Int,
    context: Context,
    report: ParseReport,
) -> pa.Table | None:
    """Check and finish the CSV-typed tuples of clean groups; None sends them to the fallback."""
    if parsed is None or parsed.num_rows != int(counts.sum()):
        return None
    columns, valid = _tuple_columns(parsed, groups[0].layout)
    if not valid.all():
        group_of_row = np.repeat(np.arange(len(groups)), counts)
        first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])
        _explain(groups, np.flatnonzero(~valid), group_of_row, first_row, report)
        keep = pa.array(valid)
        columns = {name: pc.filter(col, keep) for name, col in columns.items()}
        counts = np.bincount(group_of_row[valid], minlength=len(groups))
    columns.update(_context_columns(groups, counts, context))
    return pa.Table.from_arrays([columns[name] for name in FLOW_SCHEMA.names], schema=FLOW_SCHEMA)


def _csv_lines(groups: list[Group], layout: Layout) -> tuple[bytearray, Int] | None:
    """The groups' tuples as CSV lines, and the tuple count of each group; None if unclean."""
    raws = list(map(_RAW, groups))
    buffer = bytearray().join(raws)
    a = np.frombuffer(buffer, dtype=np.uint8)
    if _unsafe(buffer, a, layout):
        return None
    lengths = np.fromiter(map(len, raws), np.int64, len(raws))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    empty = lengths == 2  # "[]": both brackets become newlines, a blank line CSV skips
    full_starts, full_ends = starts[~empty], ends[~empty]
    shaped = (
        (a[starts] == _OPEN).all()
        and (a[ends - 1] == _CLOSE).all()
        and (full_ends - full_starts >= 4).all()
        and (a[full_starts + 1] == _QUOTE).all()
        and (a[full_ends - 2] == _QUOTE).all()
    )
    if not shaped:
        return None
    a[starts] = _NEWLINE
    a[ends - 1] = _NEWLINE
    a[full_starts + 1] = _COMMA
    a[full_ends - 2] = _COMMA
    # What is left of the quotes must be the '","' between tuples, nothing else.
    quotes = np.flatnonzero(a == _QUOTE)
    opening, closing = quotes[0::2], quotes[1::2]
    if not (
        opening.size == closing.size
        and np.array_equal(closing - opening, np.full(opening.size, 2))
        and (a[opening + 1] == _COMMA).all()
    ):
        return None
    a[opening] = _COMMA
    a[opening + 1] = _NEWLINE
    a[closing] = _COMMA
    counts = np.diff(np.searchsorted(opening, ends), prepend=0) + 1
    counts[empty] = 0
    return buffer, counts


def _unsafe(buffer: bytearray, a: npt.NDArray[np.uint8], layout: Layout) -> bool:
    # Valid tuples are ASCII, which also lets Arrow skip its UTF-8 check of string fields.
    if not buffer.isascii() or any(unsafe in buffer for unsafe in _UNSAFE):
        return True
    if layout is not Layout.VNET_V4:
        return b"X" in buffer
    return bool(((a[1:] == ord("X")) & (a[:-1] == ord("0"))).any())


def _explain(
    groups: list[Group], bad: Int, group_of_row: Int, first_row: Int, report: ParseReport
) -> None:
    """Count refused rows and let the reference parser say why for the first few."""
    wanted = report.wants_reasons()
    for position, row in enumerate(bad.tolist()):
        group = groups[int(group_of_row[row])]
        index = row - int(first_row[group_of_row[row]])
        if position < wanted:
            text = msgspec.json.decode(group.raw)[index]
            problem = parse_tuple(text, group.layout)
            assert isinstance(problem, TupleProblem), f"fast path refused a valid tuple {text!r}"
            report.reject(_reject(group, index, problem))
        else:
            report.rejected += 1


def _reject(group: Group, index: int | None, problem: TupleProblem) -> Reject:
    return Reject(group.record, group.path(), index, problem.field, problem.value, problem.reason)


_COUNTER_TYPES = {f"c{i}": pa.uint64() for i in range(10, 14)}
# CSV columns are c0..cN; c0 and the last are the empty padding fields around each tuple.
_NSG_V1_TYPES = {
    "c1": pa.int64(),
    "c2": STRING,
    "c3": STRING,
    "c4": pa.uint16(),
    "c5": pa.uint16(),
    "c6": pa.string(),
    "c7": pa.string(),
    "c8": pa.string(),
}
_CSV_TYPES = {Layout.NSG_V1: _NSG_V1_TYPES}
_CSV_TYPES[Layout.NSG_V2] = {**_CSV_TYPES[Layout.NSG_V1], "c9": pa.string(), **_COUNTER_TYPES}
_CSV_TYPES[Layout.VNET_V4] = {
    **_CSV_TYPES[Layout.NSG_V1],
    "c6": pa.uint8(),
    "c9": pa.string(),
    **_COUNTER_TYPES,
}


# One CSV block per run: the run is typed by one worker thread while this thread does the
# Python work, which uses the two cores better than Arrow's own threads on smaller blocks
# (and makes one IP dictionary per run, so each distinct address is checked once per run).
_BLOCK_BYTES = 1 << 26


def _read_csv(buffer: bytearray, layout: Layout) -> pa.Table | None:
    types = _CSV_TYPES[layout]
    names = [f"c{i}" for i in range(len(types) + 2)]
    # A row with the wrong number of fields or a number that does not convert raises; the
    # run then goes to the reference parser, which says which tuple it was.
    try:
        return pcsv.read_csv(
            pa.py_buffer(buffer),
            read_options=pcsv.ReadOptions(
                column_names=names, block_size=_BLOCK_BYTES, use_threads=False
            ),
            parse_options=pcsv.ParseOptions(
                quote_char=False,
                double_quote=False,
                escape_char=False,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=types,
                include_columns=list(types),
                null_values=[""],
                strings_can_be_null=False,
                check_utf8=False,
            ),
        )
    except pa.ArrowInvalid:
        return None


def _numpy(column: pa.ChunkedArray, fill: int) -> Int:
    return np.asarray(pc.fill_null(column, fill).combine_chunks().to_numpy(zero_copy_only=False))


def _letter_codes(column: pa.ChunkedArray, codes: dict[str, int]) -> Int:
    """Index of each one-letter value in ``codes``, -1 where the value is not one of them."""
    array = _single(column)
    n = len(array)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=array.offset * 4)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(1)
    starts = np.minimum(offsets[:-1], len(data) - 1)
    lookup = np.full(256, -1, dtype=np.int64)
    for letter, code in codes.items():
        lookup[ord(letter)] = code
    return np.where(np.diff(offsets) == 1, lookup[data[starts]], -1)


def _single(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array, without a copy when it already is one chunk."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _dictionary(
    indices: Int, dictionary: pa.Array, index_type: type[np.integer[Any]] = np.int32
) -> pa.DictionaryArray:
    missing = indices < 0
    index_array = pa.array(indices.astype(index_type), mask=missing if missing.any() else None)
    return pa.DictionaryArray.from_arrays(index_array, dictionary)


def _canonical_ips(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, npt.NDArray[np.bool_]]:
    """Canonical IP text per row, and which rows hold an IP at all."""
    chunks, valid = [], []
    for chunk in column.chunks:
        canonical, ok = _canonical_ip_chunk(chunk)
        chunks.append(canonical)
        valid.append(ok)
    return pa.chunked_array(chunks, STRING), np.concatenate(valid) if valid else np.ones(0, bool)


def _canonical_ip_chunk(array: pa.DictionaryArray) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    """Checked once per distinct value: canonical IPv4 text is recognized by one vectorized
    regex pass, and only the rest (IPv6, invalid) is looked at in Python. Usually every value
    is canonical already and the array is returned as it is."""
    dictionary = array.dictionary
    plain = np.asarray(pc.match_substring_regex(dictionary, _CANONICAL_IPV4).to_numpy(False))
    others = np.flatnonzero(~plain)
    texts = dictionary.take(others).to_pylist()
    changed: dict[int, str | None] = {}
    for position, text in zip(others.tolist(), texts, strict=True):
        ip = canonical_ip(text)
        if ip != text:
            changed[position] = ip
    if not changed:
        return array, np.ones(len(array), dtype=bool)
    remap = np.arange(len(dictionary), dtype=np.int64)
    extra: list[str] = []
    known = {value: i for i, value in enumerate(dictionary.to_pylist())}
    for position, ip in changed.items():
        if ip is None:
            remap[position] = -1
            continue
        found = known.get(ip)
        if found is None:
            found = known[ip] = len(dictionary) + len(extra)
            extra.append(ip)
        remap[position] = found
    indices = remap[np.asarray(array.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    values = pa.concat_arrays([dictionary, pa.array(extra or [""], pa.string())])
    return _dictionary(np.maximum(indices, 0), values), indices >= 0


def _tuple_columns(
    parsed: pa.Table, layout: Layout
) -> tuple[dict[str, pa.Array], npt.NDArray[np.bool_]]:
    """Typed tuple columns and a mask of rows whose every field is valid."""
    raw_time = _numpy(parsed["c1"], -1)
    in_range = (raw_time >= 0) & (raw_time < MILLIS_BELOW)
    stamp = np.where(raw_time < SECONDS_BELOW, raw_time * 1_000_000, raw_time * 1_000)
    valid = in_range & (stamp >= MIN_TIME_US) & (stamp < MAX_TIME_US)
    src_ip, src_ok = _canonical_ips(parsed["c2"])
    dst_ip, dst_ok = _canonical_ips(parsed["c3"])
    valid &= src_ok & dst_ok
    for name in ("c4", "c5"):
        valid &= np.asarray(parsed[name].is_valid().combine_chunks().to_numpy(zero_copy_only=False))
    direction = _letter_codes(parsed["c7"], DIRECTION_CODES)
    columns: dict[str, Any] = {
        "time": pa.array(np.where(valid, stamp, 0), TIME),
        "src_ip": src_ip,
        "dst_ip": dst_ip,
        "src_port": pc.fill_null(parsed["c4"], 0).combine_chunks(),
        "dst_port": pc.fill_null(parsed["c5"], 0).combine_chunks(),
    }
    encryption: pa.Array = pa.nulls(parsed.num_rows, STRING)
    if layout is Layout.VNET_V4:
        protocol = parsed["c6"]
        valid &= np.asarray(protocol.is_valid().combine_chunks().to_numpy(zero_copy_only=False))
        columns["protocol"] = pc.fill_null(protocol, 0).combine_chunks()
        state = _letter_codes(parsed["c8"], VNET_STATE_CODES)
        decision = np.where(state == VNET_DENY_STATE, DENY, ALLOW)
        encryption, encryption_ok = _encryption(parsed["c9"])
        valid &= encryption_ok
    else:
        protocol_code = _letter_codes(parsed["c6"], NSG_PROTOCOLS)
        valid &= protocol_code >= 0
        columns["protocol"] = pa.array(np.maximum(protocol_code, 0).astype(np.uint8))
        decision = _letter_codes(parsed["c8"], DECISION_CODES)
        valid &= decision >= 0
        if layout is Layout.NSG_V2:
            state = _letter_codes(parsed["c9"], NSG_STATE_CODES)
        else:
            state = np.full(parsed.num_rows, -2, dtype=np.int64)
    valid &= (direction >= 0) & (state != -1)
    columns["direction"] = _dictionary(np.maximum(direction, 0), pa.array(DIRECTIONS), np.int8)
    columns["decision"] = _dictionary(np.maximum(decision, 0), pa.array(DECISIONS), np.int8)
    columns["state"] = _dictionary(np.where(state == -1, 0, state), pa.array(STATES), np.int8)
    columns["encryption"] = encryption
    for out, name in zip(
        ("src_packets", "src_bytes", "dst_packets", "dst_bytes"), _COUNTER_TYPES, strict=True
    ):
        columns[out] = (
            _single(parsed[name])
            if layout is not Layout.NSG_V1
            else pa.nulls(parsed.num_rows, pa.uint64())
        )
    return columns, valid


def _encryption(column: pa.ChunkedArray) -> tuple[pa.DictionaryArray, npt.NDArray[np.bool_]]:
    """Encryption codes, checked once per distinct value; an empty field is NULL."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    if isinstance(encoded, pa.ChunkedArray):  # pragma: no cover
        encoded = encoded.chunk(0)
    texts = encoded.dictionary.to_pylist()
    indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    ok = np.array([text == "" or encryption_code(text) for text in texts] or [True])[indices]
    empty = np.array([text == "" for text in texts] or [False])[indices]
    return _dictionary(np.where(empty, -1, indices), encoded.dictionary), ok


def _context_columns(
    groups: Sequence[Group], counts: Int, context: Context
) -> dict[str, pa.Array]:
    """Columns every tuple of a group shares, repeated ``counts[g]`` times for group g."""
    flat = itertools.chain.from_iterable(map(_CONTEXT_IDS, groups))
    ids = np.fromiter(flat, np.int64, 4 * len(groups)).reshape(-1, 4)
    identity = ids[:, 0]
    per_group = {
        "log_type": context.log_type[identity],
        "subscription_id": context.subscription[identity],
        "resource_group": context.resource_group[identity],
        "resource_id": context.resource[identity],
        "rule": ids[:, 1],
        "mac": ids[:, 2],
        "acl_id": ids[:, 3],
    }
    columns: dict[str, pa.Array] = {
        "log_version": pa.array(np.repeat(context.version[identity].astype(np.int8), counts))
    }
    for name, values in per_group.items():
        index_type = np.int8 if name == "log_type" else np.int32
        columns[name] = _dictionary(
            np.repeat(values.astype(index_type), counts), context.dictionaries[name], index_type
        )
    return columns


def _reference_table(run: list[Group], context: Context, report: ParseReport) -> pa.Table:
    """The same table, built tuple by tuple with the reference parser."""
    rows: list[TupleRow] = []
    group_of_row: list[int] = []
    for position, group in enumerate(run):
        try:
            items = msgspec.json.decode(group.raw)
        except DECODE_ERRORS as error:
            items = error
        if not isinstance(items, list):
            problem = TupleProblem("flowTuples", bytes(group.raw)[:40].decode("utf-8", "replace"),
                                   "expected an array of tuple strings")  # fmt: skip
            report.reject(_reject(group, None, problem))
            continue
        for index, item in enumerate(items):
            if not isinstance(item, str):
                problem = TupleProblem("tuple", repr(item)[:40], "expected a string")
                report.reject(_reject(group, index, problem))
                continue
            parsed = parse_tuple(item, group.layout)
            if isinstance(parsed, TupleProblem):
                report.reject(_reject(group, index, parsed))
            else:
                rows.append(parsed)
                group_of_row.append(position)
    counts = np.bincount(np.asarray(group_of_row, dtype=np.int64), minlength=len(run))
    return rows_table(rows, counts, run, context)


def rows_table(
    rows: list[TupleRow], counts: Int, groups: Sequence[Group], context: Context
) -> pa.Table:
    """Build a FLOW_SCHEMA table from reference rows; ``counts[g]`` rows came from group g."""
    fields = list(zip(*rows, strict=True)) if rows else [() for _ in TupleRow._fields]
    by_name = dict(zip(TupleRow._fields, fields, strict=True))

    def codes(name: str) -> Int:
        return np.array([-1 if v is None else v for v in by_name[name]], dtype=np.int64)

    dictionaries = context.dictionaries
    columns: dict[str, pa.Array] = {
        "time": pa.array(by_name["time_us"], pa.int64()).cast(TIME),
        "src_ip": pa.array(by_name["src_ip"], pa.string()).dictionary_encode(),
        "dst_ip": pa.array(by_name["dst_ip"], pa.string()).dictionary_encode(),
        "src_port": pa.array(by_name["src_port"], pa.uint16()),
        "dst_port": pa.array(by_name["dst_port"], pa.uint16()),
        "protocol": pa.array(by_name["protocol"], pa.uint8()),
        "direction": _dictionary(codes("direction"), dictionaries["direction"], np.int8),
        "decision": _dictionary(codes("decision"), dictionaries["decision"], np.int8),
        "state": _dictionary(codes("state"), dictionaries["state"], np.int8),
        "encryption": pa.array(by_name["encryption"], pa.string()).dictionary_encode(),
    }
    for name in ("src_packets", "src_bytes", "dst_packets", "dst_bytes"):
        columns[name] = pa.array(by_name[name], pa.uint64())
    columns.update(_context_columns(groups, counts, context))
    return pa.Table.from_arrays([columns[name] for name in FLOW_SCHEMA.names], schema=FLOW_SCHEMA)
