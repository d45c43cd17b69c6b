"""parse_blob on hand-made inputs: every edge case the formats research names."""

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from flowcdr.formats import FLOW_SCHEMA, FormatError, ParseResult, parse_blob
from flowcdr.formats import parse as parse_module

from .builders import (
    FLOWLOG_ID,
    NSG_ID,
    SUB,
    blob,
    compact,
    fragment,
    nsg_record,
    pretty,
    vnet_record,
)

T_OUT = "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"
T_DENY = "1542110402,94.102.49.190,10.5.16.4,28746,443,U,I,D,B,,,,"
V_BEGIN = "1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0,0"
V_END = "1663146003606,10.0.0.6,52.239.184.180,23956,443,6,O,E,NX,3,767,2,1580"
V_DENY = "1663146024000,40.1.2.3,10.0.0.6,51234,22,6,I,D,NX,0,0,0,0"


def rows(result: ParseResult) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = result.table.to_pylist()
    return table


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def test_nsg_v2_tuple_fields_are_normalized() -> None:
    result = parse_blob(
        blob([nsg_record({"UserRule_Web": {"00-0d-3a-f8-78-56": [T_OUT, T_DENY]}})])
    )
    assert result.table.schema.equals(FLOW_SCHEMA)
    first, second = rows(result)
    assert first == {
        "time": at(1542110379),
        "log_type": "nsg",
        "log_version": 2,
        "subscription_id": SUB.lower(),
        "resource_group": "prod-rg",
        "resource_id": NSG_ID.lower(),
        "acl_id": None,
        "rule": "UserRule_Web",
        "mac": "000D3AF87856",
        "src_ip": "10.5.16.4",
        "dst_ip": "13.67.143.117",
        "src_port": 59932,
        "dst_port": 443,
        "protocol": 6,
        "direction": "outbound",
        "decision": "allow",
        "state": "end",
        "encryption": None,
        "src_packets": 1,
        "src_bytes": 66,
        "dst_packets": 1,
        "dst_bytes": 66,
    }
    assert (second["protocol"], second["direction"], second["decision"]) == (17, "inbound", "deny")
    assert second["state"] == "begin"
    # Empty counters are "not measured": NULL, never 0.
    assert [second[c] for c in ("src_packets", "src_bytes", "dst_packets", "dst_bytes")] == [
        None
    ] * 4
    assert result.report.records == 1
    assert result.report.flows == 2
    assert result.report.rejected == 0


def test_nsg_v1_has_no_state_or_counters() -> None:
    record = nsg_record({"DefaultRule_DenyAllInBound": {"000D3AF87856": [T_DENY[:-6]]}}, version=1)
    (row,) = rows(parse_blob(blob([record])))
    assert row["log_version"] == 1
    assert row["decision"] == "deny"
    assert row["state"] is None
    assert row["src_bytes"] is None


def test_version_written_as_float_is_accepted() -> None:
    record = nsg_record({"r": {"000D3AF87856": [T_OUT]}}, version=2.0)
    assert parse_blob(blob([record])).report.flows == 1


def test_vnet_v4_milliseconds_states_and_encryption() -> None:
    record = vnet_record(
        {"unspecified": {"unspecified": [V_BEGIN, V_END, V_DENY]}}, mac="0022487bC205"
    )
    begin, end, deny = rows(parse_blob(blob([record])))
    assert begin["time"] == dt.datetime(2022, 9, 14, 9, 0, 3, 599000, tzinfo=dt.UTC)
    assert (begin["log_type"], begin["log_version"]) == ("vnet", 4)
    assert begin["acl_id"] == "unspecified"
    assert begin["rule"] == "unspecified"
    assert begin["mac"] == "0022487BC205"
    assert begin["resource_id"] == (
        f"/subscriptions/{SUB.lower()}/resourcegroups/prod-rg/providers/microsoft.network/"
        "virtualnetworks/prod-vnet"
    )
    assert begin["resource_group"] == "prod-rg"
    assert begin["encryption"] == "NX"
    # VNet writes 0 on B and D tuples: a measured zero stays a zero.
    assert begin["src_packets"] == 0
    assert (end["state"], end["decision"], end["dst_bytes"]) == ("end", "allow", 1580)
    assert (deny["state"], deny["decision"], deny["direction"]) == ("deny", "deny", "inbound")


def test_vnet_identity_falls_back_to_flow_log_resource() -> None:
    record = vnet_record({"acl": {"r": [V_BEGIN]}}, target=None)
    (row,) = rows(parse_blob(blob([record])))
    assert row["resource_id"] == FLOWLOG_ID.lower()
    assert row["resource_group"] == "networkwatcherrg"


def test_vnet_second_timestamps_and_empty_counters() -> None:
    # Microsoft's VNet bandwidth example writes seconds and leaves B counters empty.
    record = vnet_record({"a": {"r": ["1663146003,203.0.113.105,10.0.0.5,35370,443,6,I,B,NX,,,,"]}})
    (row,) = rows(parse_blob(blob([record])))
    assert row["time"] == at(1663146003)
    assert row["src_packets"] is None


def test_ipv6_icmp_and_counters_above_32_bits() -> None:
    big = 2**40 + 7
    tuples = [
        f"1663146003599,2001:DB8:0:0:0:0:0:1,fe80::0001,0,0,1,O,E,X,1,{big},0,{2**64 - 1}",
        "1663146003599,::ffff:10.0.0.1,10.0.0.1,1,2,58,O,B,NX_LOCAL_DST,0,0,0,0",
    ]
    first, second = rows(parse_blob(blob([vnet_record({"a": {"r": tuples}})])))
    assert (first["src_ip"], first["dst_ip"], first["protocol"]) == ("2001:db8::1", "fe80::1", 1)
    assert (first["src_bytes"], first["dst_bytes"]) == (big, 2**64 - 1)
    assert first["encryption"] == "X"
    assert second["src_ip"] == "::ffff:10.0.0.1"
    assert second["encryption"] == "NX_LOCAL_DST"


def test_empty_arrays_give_no_flows_and_no_errors() -> None:
    record = nsg_record(
        {"empty_rule": {}, "empty_mac": {"000D3AF87856": []}, "r": {"000D3A000001": [T_OUT]}}
    )
    vnet = vnet_record({"a": {"r": []}, "b": {}})
    result = parse_blob(blob([record, vnet]))
    assert result.report.flows == 1
    assert result.report.records == 2
    assert result.report.rejected == 0


def test_utf8_bom_and_whitespace_are_tolerated() -> None:
    data = b"\xef\xbb\xbf \n" + blob([nsg_record({"r": {"000D3AF87856": [T_OUT]}})]) + b"\n"
    assert parse_blob(data).report.flows == 1


def test_single_record_without_envelope() -> None:
    result = parse_blob(compact(vnet_record({"a": {"r": [V_BEGIN, V_END]}})))
    assert result.report.flows == 2


@pytest.mark.parametrize("leading_comma", [True, False])
def test_fragment_of_committed_blocks(leading_comma: bool) -> None:
    records = [
        nsg_record({"r": {"000D3AF87856": [T_OUT]}}),
        nsg_record({"r": {"000D3AF87856": [T_DENY]}}),
    ]
    result = parse_blob(fragment(records, leading_comma))
    assert [r["dst_port"] for r in rows(result)] == [443, 443]
    assert [r["decision"] for r in rows(result)] == ["allow", "deny"]


def test_newline_delimited_records() -> None:
    line = compact(nsg_record({"r": {"000D3AF87856": [T_OUT]}}))
    assert parse_blob(line + b"\n" + line + b"\n").report.flows == 2


def test_cut_input_keeps_every_complete_record() -> None:
    records = [nsg_record({"r": {"000D3AF87856": [T_OUT] * 3}}) for _ in range(3)]
    whole = blob(records)
    cut_at = len(whole) - 40  # inside the third record
    result = parse_blob(whole[:cut_at], source="PT1H.json")
    assert result.report.cut
    assert result.report.records == 2
    assert result.report.flows == 6
    assert any("cut" in w for w in result.report.warnings())


def test_cut_inside_a_string_is_still_a_cut() -> None:
    whole = blob([nsg_record({"r": {"000D3AF87856": [T_OUT]}})] * 2)
    cut_at = whole.rindex(b"10.5.16.4") + 3
    result = parse_blob(whole[:cut_at])
    assert (result.report.cut, result.report.flows) == (True, 1)


def test_mixed_nsg_and_vnet_keep_input_order() -> None:
    records = [
        nsg_record({"r": {"000D3AF87856": [T_OUT]}}),
        vnet_record({"a": {"r": [V_END]}}),
        nsg_record({"r": {"000D3AF87856": [T_DENY]}}, version=2),
    ]
    assert [r["log_type"] for r in rows(parse_blob(blob(records)))] == ["nsg", "vnet", "nsg"]


BAD_TUPLES = [
    ("1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1", "tuple"),
    ("1542110379,10.5.16.256,13.67.143.117,59932,443,T,O,A,E,1,66,1,66", "src_ip"),
    ("1542110379,10.5.16.4,13.067.143.117,59932,443,T,O,A,E,1,66,1,66", "dst_ip"),
    ("1542110379,10.5.16.4,13.67.143.117,59932,65536,T,O,A,E,1,66,1,66", "dst_port"),
    ("1542110379,10.5.16.4,13.67.143.117,0x1BB,443,T,O,A,E,1,66,1,66", "src_port"),
    ("1542110379,10.5.16.4,13.67.143.117, 59932,443,T,O,A,E,1,66,1,66", "src_port"),
    ("1542110379,10.5.16.4,13.67.143.117,59932,443,X,O,A,E,1,66,1,66", "protocol"),
    ("1542110379,10.5.16.4,13.67.143.117,59932,443,T,Q,A,E,1,66,1,66", "direction"),
    ("1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,Z,E,1,66,1,66", "decision"),
    ("1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,D,1,66,1,66", "state"),
    ("1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,,1,66,1,66", "state"),
    ("1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,one,66,1,66", "src_packets"),
    ("1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,-66,1,66", "src_bytes"),
    (f"1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,{2**64}", "dst_bytes"),
    ("154211037x,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66", "time"),
    ("-1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66", "time"),
    ("99,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66", "time"),
    (",10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66", "time"),
    ("1542110379,fe80::1%eth0,13.67.143.117,59932,443,T,O,A,E,1,66,1,66", "src_ip"),
    ("1542110379,10.5.16.\u00fc,13.67.143.117,59932,443,T,O,A,E,1,66,1,66", "src_ip"),
    ("1542110379,10.5.16.4,13.67.143.117,5993\u0663,443,T,O,A,E,1,66,1,66", "src_port"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_TUPLES)
def test_a_malformed_tuple_is_rejected_and_the_rest_kept(bad: str, field: str) -> None:
    record = nsg_record(
        {"r0": {"000D3AF87856": [T_DENY]}, "r1": {"000D3AF87856": [T_OUT, bad, T_OUT]}}
    )
    result = parse_blob(
        blob([nsg_record({"r": {"000D3AF87856": [T_OUT]}}), record]), source="b.json"
    )
    assert result.report.flows == 4
    assert result.report.rejected == 1
    (reject,) = result.report.rejects
    assert (reject.record, reject.tuple, reject.field) == (1, 1, field)
    assert reject.path == "properties.flows[1].flows[0].flowTuples"
    assert reject.value in bad
    assert reject.describe("b.json").startswith("b.json record 1: properties.flows[1]")


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ("1663146003599,10.0.0.6,52.239.184.180,23956,443,256,O,B,NX,0,0,0,0", "protocol"),
        ("1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,A,NX,0,0,0,0", "state"),
        ("1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,nx,0,0,0,0", "encryption"),
        ("1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,0X1,0,0,0,0", "encryption"),
        ("1663146003599,10.0.0.6,52.239.184.180,23956,0X1BB,6,O,B,NX,0,0,0,0", "dst_port"),
        ("1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0", "tuple"),
    ],
)
def test_vnet_malformed_tuples(bad: str, field: str) -> None:
    result = parse_blob(blob([vnet_record({"a": {"r": [V_BEGIN, bad, V_END]}})]))
    assert result.report.flows == 2
    assert [r.field for r in result.report.rejects] == [field]
    assert result.report.rejects[0].path == "flowRecords.flows[0].flowGroups[0].flowTuples"


def test_non_string_tuples_and_non_array_groups_are_rejected() -> None:
    record = nsg_record({"r": {"000D3AF87856": [T_OUT]}})
    record["properties"]["flows"][0]["flows"][0]["flowTuples"] = [T_OUT, 17, None]
    other = nsg_record({"r": {"000D3AF87856": [T_OUT]}})
    other["properties"]["flows"][0]["flows"][0]["flowTuples"] = "not-an-array"
    result = parse_blob(blob([record, other]))
    assert result.report.flows == 1
    assert result.report.rejected == 3
    assert [r.field for r in result.report.rejects] == ["tuple", "tuple", "flowTuples"]


def test_counts_all_rejects_but_keeps_only_the_first_reasons() -> None:
    bad = T_OUT.replace("443", "99999")
    result = parse_blob(blob([nsg_record({"r": {"000D3AF87856": [bad] * 50 + [T_OUT]}})]))
    assert (result.report.rejected, result.report.flows) == (50, 1)
    assert len(result.report.rejects) == 20
    assert any("30 more tuples rejected" in w for w in result.report.warnings())


def test_other_categories_and_malformed_envelopes_are_skipped() -> None:
    records: list[dict[str, Any]] = [
        {"category": "NetworkSecurityGroupEvent", "resourceId": NSG_ID, "properties": {}},
        nsg_record({"r": {"000D3AF87856": [T_OUT]}}),
        {"records": [nsg_record({"r": {"000D3AF87856": [T_OUT]}})]},
        nsg_record({"r": {"000D3AF87856": [T_OUT]}}, version=3),
        nsg_record({"r": {"000D3AF87856": [T_OUT]}}, resource="/not/an/arm/id"),
        vnet_record({"a": {"r": [V_END]}}, mac="zz"),
    ]
    result = parse_blob(blob(records))
    assert (result.report.records, result.report.flows, result.report.skipped) == (1, 1, 5)
    reasons = [s.reason for s in result.report.skips]
    assert "is not a flow log" in reasons[0]
    assert "nested 'records'" in reasons[1]
    assert "version 3" in reasons[2]
    assert "resource id" in reasons[3]
    assert "MAC" in reasons[4]


def test_a_record_with_wrong_types_costs_only_itself() -> None:
    bad = nsg_record({"r": {"000D3AF87856": [T_OUT]}})
    bad["properties"]["flows"] = {"rule": "not a list"}
    records = [
        nsg_record({"r": {"000D3AF87856": [T_OUT]}}),
        bad,
        vnet_record({"a": {"r": [V_END]}}),
    ]
    result = parse_blob(blob(records))
    assert (result.report.flows, result.report.skipped) == (2, 1)
    assert "$.properties.flows" in result.report.skips[0].reason


def test_junk_between_records_is_reported_not_dropped() -> None:
    good = compact(nsg_record({"r": {"000D3AF87856": [T_OUT]}}))
    result = parse_blob(b'{"records":[' + good + b",42," + good + b"]}")
    assert (result.report.flows, result.report.skipped) == (2, 1)
    assert "not a JSON object" in result.report.skips[0].reason


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"hello",
        b"\x00\x01\x02",
        b'{"foo": 1}',
        b"[1, 2, 3]",
        b'{"records": [{"category": "SomethingElse"}]}',
        b"}}}{",
    ],
)
def test_input_that_is_not_a_flow_log_raises_naming_the_source(data: bytes) -> None:
    with pytest.raises(FormatError, match=r"^blob-7\.json: "):
        parse_blob(data, source="blob-7.json")


def test_an_empty_blob_is_a_flow_log_with_no_flows() -> None:
    result = parse_blob(b'{"records":[]}')
    assert result.table.num_rows == 0
    assert result.table.schema.equals(FLOW_SCHEMA)


def test_pretty_printed_and_escaped_inputs_match_the_compact_blob() -> None:
    records = [
        nsg_record({"r": {"000D3AF87856": [T_OUT, T_DENY]}, "s": {"000D3A000001": [T_OUT]}}),
        vnet_record({"a": {"r": [V_BEGIN, V_END, V_DENY]}}),
    ]
    compact_result = parse_blob(blob(records))
    assert rows(parse_blob(pretty(records))) == rows(compact_result)
    escaped = blob(records).replace(b"10.5.16.4,", b"10.5.16.4\\u002c", 1)
    assert rows(parse_blob(escaped)) == rows(compact_result)


def test_runs_split_across_chunks_give_the_same_table(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [
        nsg_record({f"r{i}": {"000D3AF87856": [T_OUT, T_DENY] * (i + 1)}}) for i in range(20)
    ] + [vnet_record({"a": {"r": [V_BEGIN, "bad"]}})]
    whole = parse_blob(blob(records))
    monkeypatch.setattr(parse_module, "CHUNK_BYTES", 200)
    chunked = parse_blob(blob(records))
    assert rows(chunked) == rows(whole)
    assert chunked.report.rejected == whole.report.rejected == 1


def test_dictionary_columns_read_as_strings_everywhere() -> None:
    table = parse_blob(blob([vnet_record({"a": {"r": [V_BEGIN]}})])).table
    decoded = table.cast(
        pa.schema(
            [
                pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f
                for f in table.schema
            ]
        )
    )
    assert decoded.column("direction").to_pylist() == ["outbound"]


def test_a_run_whose_letter_fields_are_all_empty() -> None:
    only = T_OUT.replace(",E,", ",,")
    result = parse_blob(blob([nsg_record({"r": {"000D3AF87856": [only]}})]))
    assert (result.report.flows, [r.field for r in result.report.rejects]) == (0, ["state"])
