"""A parsed flow table in, the same table with the enrichment columns out.

Work is done once per distinct address, never once per row: the IP columns are dictionaries,
so the distinct texts of every chunk's dictionary (both columns together) are described once,
and rows only gather those results through their dictionary indices, in numpy. A table of
millions of rows holds tens of thousands of distinct addresses.
"""

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.enrich.address import parse
from flowcdr.enrich.country import countries
from flowcdr.enrich.flowtype import flow_types
from flowcdr.enrich.ranges import AddressRanges
from flowcdr.enrich.scope import CODES, classify
from flowcdr.formats.schema import ENRICHED_SCHEMA, FLOW_SCHEMA, FLOW_TYPES, SCOPES, STRING

_SCOPE_WORDS = pa.array(SCOPES, pa.string())
_FLOW_TYPE_WORDS = pa.array(FLOW_TYPES, pa.string())
_NO_COUNTRY = -1


@dataclass(frozen=True)
class _Ends:
    """Scope and country of each dictionary entry of the IP columns, entries end to end."""

    scope: npt.NDArray[np.int8]
    azure: npt.NDArray[np.bool_]
    """Inside Azure's published ranges (False for all when none are loaded)."""
    country: npt.NDArray[np.int32]
    """Index into ``countries``, or -1 for none."""
    countries: pa.StringArray

    def country_column(self, entries: npt.NDArray[np.int32]) -> pa.DictionaryArray:
        codes = self.country[entries]
        indices = pa.array(codes, pa.int32(), mask=codes == _NO_COUNTRY)
        return pa.DictionaryArray.from_arrays(indices, self.countries)


def enrich(table: pa.Table, azure: AddressRanges | None = None) -> pa.Table:
    """The rows of a ``FLOW_SCHEMA`` table, in order and untouched, plus the enrichment
    columns, as an ``ENRICHED_SCHEMA`` table. ``azure`` is Azure's published address space
    (``servicetags``), which makes flows to Azure's public services ``azure_public``.
    ``intel_match`` is left null: ``flowcdr.detect.dataset.with_intel`` fills it."""
    _require_flow_schema(table.schema)
    src_ip, dst_ip = table.column("src_ip"), table.column("dst_ip")
    dictionaries = [chunk.dictionary for column in (src_ip, dst_ip) for chunk in column.chunks]
    ends = _describe(dictionaries, azure)
    src = _entries(src_ip, first=0)
    dst = _entries(dst_ip, first=sum(len(chunk.dictionary) for chunk in src_ip.chunks))
    src_scope, dst_scope = ends.scope[src], ends.scope[dst]
    intel_match = pa.nulls(table.num_rows, STRING)
    in_azure = (ends.azure[src], ends.azure[dst]) if azure is not None else None
    flow_type = flow_types(src_scope, dst_scope, intel_match, in_azure)
    return pa.Table.from_arrays(
        [
            *table.columns,
            pa.DictionaryArray.from_arrays(src_scope, _SCOPE_WORDS),
            pa.DictionaryArray.from_arrays(dst_scope, _SCOPE_WORDS),
            ends.country_column(src),
            ends.country_column(dst),
            pa.DictionaryArray.from_arrays(flow_type, _FLOW_TYPE_WORDS),
            intel_match,
        ],
        schema=ENRICHED_SCHEMA,
    )


def _entries(column: pa.ChunkedArray, first: int) -> npt.NDArray[np.int32]:
    """Each row's dictionary entry, numbering the entries of the chunks on from ``first``."""
    entries = []
    for chunk in column.chunks:
        entries.append(chunk.indices.to_numpy() + first)
        first += len(chunk.dictionary)
    return np.concatenate(entries) if entries else np.zeros(0, np.int32)


def _require_flow_schema(schema: pa.Schema) -> None:
    if schema.equals(FLOW_SCHEMA):
        return
    for index, (expected, got) in enumerate(itertools.zip_longest(FLOW_SCHEMA, schema)):
        if expected is None or got is None or not expected.equals(got):
            raise ValueError(
                f"enrich takes a FLOW_SCHEMA table: column {index} is {_field(got)}, "
                f"expected {_field(expected)}"
            )


def _field(field: pa.Field | None) -> str:
    if field is None:
        return "none"
    return f"{field.name} {field.type}{'' if field.nullable else ' not null'}"


def _describe(dictionaries: list[pa.StringArray], azure: AddressRanges | None) -> _Ends:
    """Scope, Azure membership and country of every entry, computed on the distinct texts."""
    entries = pa.concat_arrays(dictionaries) if dictionaries else pa.array([], pa.string())
    distinct = pc.dictionary_encode(entries)
    addresses = parse(distinct.dictionary)
    scope = classify(addresses)
    public = np.flatnonzero(scope == CODES["public"])
    codes = pc.dictionary_encode(countries(addresses.lookup.take(public)))
    country = np.full(len(scope), _NO_COUNTRY, np.int32)
    country[public] = pc.fill_null(codes.indices, _NO_COUNTRY).to_numpy()
    in_azure = azure.contains(addresses) if azure is not None else np.zeros(len(scope), bool)
    entry = distinct.indices.to_numpy()
    return _Ends(scope[entry], in_azure[entry], country[entry], codes.dictionary)
