"""Tuple strings to CSV lines in place, and Arrow's CSV reader to type them.

The raw JSON arrays of a run of groups (``["t1","t2"]``) are joined into one buffer and
rewritten in place so that every tuple is one CSV line (``,t1,`` newline ``,t2,``): the quotes
around each tuple become padding commas, the brackets become newlines. No Python object is made
per tuple.

Only input that can be proven clean is rewritten: compact arrays of plain ASCII strings, no
escapes (they change a string's meaning), no spaces (Arrow trims them from numbers), no ``0x``
(Arrow reads hex). The reference parser gets everything else.
"""

import operator

import msgspec
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from flowcdr.formats.layout import Layout
from flowcdr.formats.records import Group
from flowcdr.formats.schema import STRING

Int = npt.NDArray[np.int64]
_NEWLINE, _COMMA, _QUOTE, _OPEN, _CLOSE = b'\n,"[]'
# An upper-case X is valid only in VNet's encryption field, so there only "0X" is looked for.
# (msgspec has already refused raw control characters inside strings.)
_UNSAFE = (b"\\", b" ", b"x")
_RAW = operator.itemgetter(0)


def csv_lines(groups: list[Group], layout: Layout) -> tuple[bytearray, Int] | None:
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


def clean(raw: msgspec.Raw) -> bool:
    """The per-group form of csv_lines' preconditions (used to find the groups it refused)."""
    data = bytes(raw)
    if data == b"[]":
        return True
    if not (len(data) >= 4 and data.startswith(b'["') and data.endswith(b'"]')):
        return False
    if not data.isascii() or any(unsafe in data for unsafe in _UNSAFE) or b"0X" in data:
        return False
    return data.count(b'"') == 2 * (data.count(b'","') + 1)


COUNTER_COLUMNS = ("c10", "c11", "c12", "c13")
"""The CSV columns of the four counters (packets and bytes each way) in 13-field tuples."""
_COUNTER_TYPES = dict.fromkeys(COUNTER_COLUMNS, pa.uint64())
# CSV columns are c0..cN; c0 and the last are the empty padding fields around each tuple.
_NSG_V1_TYPES = {
    "c1": pa.int64(),
    "c2": pa.string(),
    "c3": pa.string(),
    "c4": pa.uint16(),
    "c5": pa.uint16(),
    "c6": pa.string(),
    "c7": pa.string(),
    "c8": pa.string(),
}
_IP_COLUMNS = ("c2", "c3")
_CSV_TYPES = {Layout.NSG_V1: _NSG_V1_TYPES}
_CSV_TYPES[Layout.NSG_V2] = {**_CSV_TYPES[Layout.NSG_V1], "c9": pa.string(), **_COUNTER_TYPES}
_CSV_TYPES[Layout.VNET_V4] = {
    **_CSV_TYPES[Layout.NSG_V1],
    "c6": pa.uint8(),
    "c9": STRING,  # encryption codes: a handful of distinct values, encoded while read
    **_COUNTER_TYPES,
}


# One CSV block per run: the run is typed by one worker thread while this thread does the
# Python work, which uses the two cores better than Arrow's own threads on smaller blocks
# (and makes one IP dictionary per run, so each distinct address is checked once per run).
_BLOCK_BYTES = 1 << 26


def read_csv(buffer: bytearray, layout: Layout) -> pa.Table | None:
    types = _CSV_TYPES[layout]
    names = [f"c{i}" for i in range(len(types) + 2)]
    # A row with the wrong number of fields or a number that does not convert raises; the
    # run then goes to the reference parser, which says which tuple it was.
    try:
        table = pcsv.read_csv(
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
    # The addresses are dictionary-encoded after reading: Arrow's vectorized hash kernel is
    # cheaper than the CSV reader's own dictionary builder (0.05-0.1 s of CPU less per 200 MB).
    for name in _IP_COLUMNS:
        at = table.schema.get_field_index(name)
        table = table.set_column(at, name, pc.dictionary_encode(table[name]))
    return table
