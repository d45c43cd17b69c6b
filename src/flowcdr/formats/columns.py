"""Arrow columns of the normalized schema: tuple fields checked in bulk, shared context repeated.

The checks that the CSV reader does not do (IP syntax, letter codes, time range) are vectorized
or run once per distinct value, and give a mask of the rows the reference parser must explain.
"""

import functools
import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

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
from flowcdr.formats.schema import CLOSED_VALUES, FLOW_SCHEMA, STRING, TIME
from flowcdr.formats.tuplecsv import COUNTER_COLUMNS
from flowcdr.formats.tuples import (
    MAX_TIME_US,
    MILLIS_BELOW,
    MIN_TIME_US,
    SECONDS_BELOW,
    TupleRow,
    canonical_ip,
    encryption_code,
)

Int = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
COUNTERS = ("src_packets", "src_bytes", "dst_packets", "dst_bytes")
# Dotted-quad IPv4 without leading zeros: exactly the strings that are already canonical.
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = rf"^({_OCTET}\.){{3}}{_OCTET}$"
# Addresses that are not plain IPv4 (IPv6 above all) are canonicalized in Python; a blob repeats
# the same few thousand in every run, so each is worked out once per process, not once per run.
_canonical_ip = functools.lru_cache(maxsize=1 << 16)(canonical_ip)
_CONTEXT_IDS = operator.itemgetter(5, 6, 7, 8)  # identity, rule, mac, acl of a Group
# The closed value sets, as Arrow dictionaries (the schema's int8-indexed columns).
_WORDS = {
    name: pa.array(values, pa.string())
    for name, values in CLOSED_VALUES.items()
    if name in FLOW_SCHEMA.names
}


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
                **_WORDS,
                "subscription_id": strings(grouped.subscriptions.values),
                "resource_group": strings(grouped.resource_groups.values),
                "resource_id": strings(grouped.resources.values),
                "acl_id": strings(grouped.acls.values),
                "rule": strings(grouped.rules.values),
                "mac": strings(grouped.macs.values),
            },
        )


def _numpy(column: pa.ChunkedArray, fill: int) -> Int:
    return np.asarray(_single(pc.fill_null(column, fill)).to_numpy(zero_copy_only=False))


def _present(column: pa.ChunkedArray) -> Mask:
    """Which rows are not NULL (the CSV reader's NULL is an empty field)."""
    return np.asarray(_single(column.is_valid()).to_numpy(zero_copy_only=False))


def _letter_codes(column: pa.ChunkedArray, codes: dict[str, int]) -> Int:
    """Index of each one-letter value in ``codes``, -1 where the value is not one of them."""
    array = _single(column)
    n = len(array)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=n + 1, offset=array.offset * 4)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    if data is None or data.size == 0:  # every value empty: index a single dummy byte
        data = np.zeros(1, dtype=np.uint8)
    starts = np.minimum(offsets[:-1], data.size - 1)
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
        ip = _canonical_ip(text)
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


def tuple_columns(
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
        valid &= _present(parsed[name])
    direction = _letter_codes(parsed["c7"], DIRECTION_CODES)
    columns: dict[str, Any] = {
        "time": pa.array(np.where(valid, stamp, 0), TIME),
        "src_ip": src_ip,
        "dst_ip": dst_ip,
        "src_port": _single(pc.fill_null(parsed["c4"], 0)),
        "dst_port": _single(pc.fill_null(parsed["c5"], 0)),
    }
    encryption: pa.Array = pa.nulls(parsed.num_rows, STRING)
    if layout is Layout.VNET_V4:
        protocol = parsed["c6"]
        valid &= _present(protocol)
        columns["protocol"] = _single(pc.fill_null(protocol, 0))
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
    columns["direction"] = _dictionary(np.maximum(direction, 0), _WORDS["direction"], np.int8)
    columns["decision"] = _dictionary(np.maximum(decision, 0), _WORDS["decision"], np.int8)
    columns["state"] = _dictionary(np.where(state == -1, 0, state), _WORDS["state"], np.int8)
    columns["encryption"] = encryption
    for out, name in zip(COUNTERS, COUNTER_COLUMNS, strict=True):
        columns[out] = (
            _single(parsed[name])
            if layout is not Layout.NSG_V1
            else pa.nulls(parsed.num_rows, pa.uint64())
        )
    return columns, valid


def _encryption(column: pa.ChunkedArray) -> tuple[pa.DictionaryArray, npt.NDArray[np.bool_]]:
    """Encryption codes, checked once per distinct value; an empty field is NULL."""
    encoded = _single(column.unify_dictionaries())
    texts = encoded.dictionary.to_pylist()
    indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    ok = np.array([text == "" or encryption_code(text) for text in texts] or [True])[indices]
    empty = np.array([text == "" for text in texts] or [False])[indices]
    return _dictionary(np.where(empty, -1, indices), encoded.dictionary), ok


def context_columns(groups: Sequence[Group], counts: Int, context: Context) -> dict[str, pa.Array]:
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
    for name in COUNTERS:
        columns[name] = pa.array(by_name[name], pa.uint64())
    columns.update(context_columns(groups, counts, context))
    return pa.Table.from_arrays([columns[name] for name in FLOW_SCHEMA.names], schema=FLOW_SCHEMA)
