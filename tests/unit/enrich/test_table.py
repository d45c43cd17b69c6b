"""enrich on parsed tables: schema, rows kept in order and untouched, chunks, edge cases."""

import pyarrow as pa
import pytest

from flowcdr.enrich import enrich
from flowcdr.formats import COLUMNS, FLOW_SCHEMA
from flowcdr.formats.schema import ENRICHED_SCHEMA

from .flows import flows, vnet_flows

# (src, dst) -> (src_scope, dst_scope, flow_type), in row order.
ROWS = [
    (("10.5.16.4", "13.67.143.117"), ("private", "public", "external_public")),
    (("94.102.49.190", "10.5.16.4"), ("public", "private", "external_public")),
    (("10.0.0.4", "10.0.1.5"), ("private", "private", "intra_vnet")),
    (("10.0.0.4", "168.63.129.16"), ("private", "azure_platform", "azure_public")),
    (("169.254.169.254", "10.0.0.4"), ("azure_platform", "private", "azure_public")),
    (("fd00:db8:1d:2::c", "fd00:db8:1d:4::1d"), ("private", "private", "intra_vnet")),
    (("2a07:9fd:7b7d::1ebe", "fd00::4"), ("public", "private", "external_public")),
    (("::ffff:10.0.0.9", "127.0.0.1"), ("private", "loopback", "intra_vnet")),
    (("10.0.0.4", "224.0.0.251"), ("private", "multicast", "unknown")),
    (("0.0.0.0", "255.255.255.255"), ("reserved", "reserved", "unknown")),
    (("10.0.0.4", "13.67.143.117"), ("private", "public", "external_public")),
]
ENRICHMENT = ["src_scope", "dst_scope", "flow_type"]


def described(table: pa.Table) -> list[tuple[str, str, str]]:
    return [tuple(row.values()) for row in table.select(ENRICHMENT).to_pylist()]


def test_schema_is_the_enriched_schema() -> None:
    assert enrich(flows([pair for pair, _ in ROWS])).schema.equals(ENRICHED_SCHEMA)


def test_scopes_and_flow_types_row_by_row() -> None:
    assert described(enrich(flows([pair for pair, _ in ROWS]))) == [want for _, want in ROWS]


def test_flow_columns_and_row_order_are_untouched() -> None:
    table = flows([pair for pair, _ in ROWS])
    enriched = enrich(table)
    assert enriched.select(list(COLUMNS)).equals(table)
    assert enriched.column("src_ip").to_pylist() == [src for (src, _), _ in ROWS]


def test_intel_match_is_null_until_threat_intel_is_wired() -> None:
    enriched = enrich(flows([pair for pair, _ in ROWS]))
    assert enriched.column("intel_match").null_count == len(ROWS)
    assert "malicious" not in enriched.column("flow_type").to_pylist()


def test_vnet_rows_are_enriched_the_same_way() -> None:
    pairs = [pair for pair, _ in ROWS]
    assert described(enrich(vnet_flows(pairs))) == described(enrich(flows(pairs)))


def test_chunks_with_their_own_dictionaries() -> None:
    first, second = flows([pair for pair, _ in ROWS[:6]]), flows([pair for pair, _ in ROWS[5:]])
    table = pa.concat_tables([first, second])
    assert table.column("src_ip").num_chunks == 2
    enriched = enrich(table)
    assert enriched.select(list(COLUMNS)).equals(table)
    expected = [want for _, want in ROWS[:6]] + [want for _, want in ROWS[5:]]
    assert described(enriched) == expected
    countries = enrich(first)["src_country"].to_pylist() + enrich(second)["src_country"].to_pylist()
    assert enriched["src_country"].to_pylist() == countries


def test_a_slice_keeps_only_its_rows() -> None:
    enriched = enrich(flows([pair for pair, _ in ROWS]).slice(2, 3))
    assert described(enriched) == [want for _, want in ROWS[2:5]]


@pytest.mark.parametrize(
    "empty", [FLOW_SCHEMA.empty_table(), pa.Table.from_batches([], FLOW_SCHEMA)]
)
def test_empty_table(empty: pa.Table) -> None:
    enriched = enrich(empty)
    assert enriched.num_rows == 0
    assert enriched.schema.equals(ENRICHED_SCHEMA)


def test_a_table_of_another_schema_is_refused_by_name() -> None:
    table = flows([pair for pair, _ in ROWS]).drop_columns(["rule"])
    with pytest.raises(ValueError, match=r"column 7 is mac dictionary<.*, expected rule dict"):
        enrich(table)
    with pytest.raises(ValueError, match="column 22 is extra int64, expected none"):
        enrich(flows([]).append_column("extra", pa.array([], pa.int64())))
