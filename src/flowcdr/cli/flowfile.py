"""Writers of normalized flows to NDJSON, CSV and Parquet, one table at a time.

Text formats show times as ISO 8601 UTC with a ``Z`` (microseconds) and strings as strings;
Parquet keeps the Arrow types. Writers append table after table, so a large set of inputs never
has to be in memory at once.
"""

import json
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from flowcdr.formats import FLOW_SCHEMA

Format = Literal["ndjson", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("ndjson", "csv", "parquet")
_SUFFIXES: dict[str, Format] = {
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
    ".csv": "csv",
    ".parquet": "parquet",
}


def format_for(path: Path | None) -> Format | None:
    """The format an output file's extension names, None when it names none."""
    if path is None:
        return "ndjson"
    return _SUFFIXES.get(path.suffix.lower())


def iso_times(column: pa.ChunkedArray | pa.Array, quote: str = "") -> pa.Array:
    """UTC microsecond timestamps as ``2018-11-13T11:59:39.000000Z`` (optionally quoted).

    Arrow's own formatting of zoned timestamps costs microseconds per value; the naive cast
    gives fixed-width text fast, which is then patched in bulk (the space becomes ``T``, a
    ``Z`` is appended).
    """
    naive = column.cast(pa.timestamp("us"))
    if isinstance(naive, pa.ChunkedArray):
        naive = naive.combine_chunks()
    text = naive.cast(pa.string())
    offsets = np.frombuffer(text.buffers()[1], np.int32, len(text) + 1, text.offset * 4)
    if len(text) == 0 or text.null_count or not (np.diff(offsets) == _ISO_WIDTH).all():
        # Years outside 1000..9999 or NULLs: the general (slow) formatter.
        return pc.binary_join_element_wise(
            quote, pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ"), quote, ""
        )
    data = np.frombuffer(text.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    rows = data.reshape(-1, _ISO_WIDTH)
    width = _ISO_WIDTH + 1 + 2 * len(quote)
    out = np.empty((len(rows), width), np.uint8)
    start = len(quote)
    if quote:
        out[:, 0] = out[:, -1] = ord(quote)
    out[:, start : start + _ISO_WIDTH] = rows
    out[:, start + 10] = ord("T")
    out[:, start + _ISO_WIDTH] = ord("Z")
    new_offsets = np.arange(len(rows) + 1, dtype=np.int32) * width
    return pa.StringArray.from_buffers(
        len(rows), pa.py_buffer(new_offsets.tobytes()), pa.py_buffer(out.tobytes())
    )


_ISO_WIDTH = len("2018-11-13 11:59:39.000000")


def as_text_table(table: pa.Table) -> pa.Table:
    """Times as ISO 8601 strings with a Z, dictionary columns decoded to strings."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            columns.append(iso_times(column))
        elif pa.types.is_dictionary(field.type):
            columns.append(column.cast(pa.string()))
        else:
            columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


class FlowWriter(Protocol):
    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class ParquetFlowWriter:
    def __init__(self, stream: BinaryIO) -> None:
        self._writer = pq.ParquetWriter(stream, FLOW_SCHEMA)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


class CsvFlowWriter:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._writer: pcsv.CSVWriter | None = None

    def write(self, table: pa.Table) -> None:
        text = as_text_table(table)
        if self._writer is None:
            self._writer = pcsv.CSVWriter(self._stream, text.schema)
        self._writer.write_table(text)

    def close(self) -> None:
        if self._writer is None:
            self.write(FLOW_SCHEMA.empty_table())
        assert self._writer is not None
        self._writer.close()


class NdjsonFlowWriter:
    """NDJSON assembled column-wise by Arrow kernels: no Python object per row.

    Each value is rendered as JSON text once per distinct dictionary value or by a cast, then
    the pieces of every line are joined element-wise and the result's data buffer, which is the
    NDJSON text itself, is written out.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, table: pa.Table) -> None:
        for batch in table.to_batches(max_chunksize=_NDJSON_ROWS):
            pieces: list[pa.Array | str] = []
            for index, (field, column) in enumerate(zip(batch.schema, batch.columns, strict=True)):
                pieces.append(("{" if index == 0 else ",") + json.dumps(field.name) + ":")
                pieces.append(_json_values(column))
            pieces.append("}\n")
            lines = pc.binary_join_element_wise(*pieces, "")
            offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1, lines.offset * 4)
            data = lines.buffers()[2]
            if data is not None:
                self._stream.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])

    def close(self) -> None:
        """Nothing to finish: every line was complete when written."""


# Rows per NDJSON batch: keeps every joined string array far below Arrow's 2 GiB string limit.
_NDJSON_ROWS = 1 << 18


def _json_values(column: pa.Array) -> pa.Array:
    """Each value as JSON text; NULL as null."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        values = _json_strings(column.dictionary).take(column.indices)
    elif pa.types.is_timestamp(kind):
        values = iso_times(column, quote='"')
    else:
        values = column.cast(pa.string())
    return pc.fill_null(values, "null")


def _json_strings(strings: pa.Array) -> pa.Array:
    """JSON string literals: quoted in bulk, escaped by json.dumps only where needed."""
    quoted = pc.binary_join_element_wise('"', strings, '"', "")
    special = np.asarray(
        pc.match_substring_regex(strings, r'["\\\x00-\x1f]').to_numpy(zero_copy_only=False)
    )
    if not special.any():
        return quoted
    positions = np.flatnonzero(special)
    escaped = [json.dumps(text) for text in strings.take(positions).to_pylist()]
    texts = quoted.to_pylist()
    for position, text in zip(positions.tolist(), escaped, strict=True):
        texts[position] = text
    return pa.array(texts, pa.string())


def open_writer(kind: Format, stream: BinaryIO) -> FlowWriter:
    if kind == "parquet":
        return ParquetFlowWriter(stream)
    if kind == "csv":
        return CsvFlowWriter(stream)
    return NdjsonFlowWriter(stream)
