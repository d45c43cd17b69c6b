"""Property-based checks of the parser.

- Valid tuples generated from typed values round-trip exactly.
- The columnar fast path and the per-tuple reference parser agree on any mix of good and bad
  tuples (the pretty-printed blob is refused by the fast path, so it takes the reference).
- Arbitrary bytes and mutated blobs never raise anything but FormatError.
"""

import datetime as dt
import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowcdr.formats import FormatError, parse_blob

from .builders import blob, nsg_record, pretty, vnet_record

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

seconds = st.integers(946_684_800, 4_102_444_799)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda ip: ip.exploded if int(ip) % 2 else str(ip))
ips = st.one_of(ipv4, ipv6)
ports = st.integers(0, 65535)
counters = st.one_of(st.none(), st.integers(0, 2**64 - 1))


def canonical(text: str) -> str:
    """RFC 5952 text, with IPv4-mapped addresses in mixed notation."""
    ip = ipaddress.ip_address(text)
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(ip) if mapped is None else f"::ffff:{mapped}"


def text(value: int | None) -> str:
    return "" if value is None else str(value)


@st.composite
def nsg_tuples(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    time, src, dst = draw(seconds), draw(ips), draw(ips)
    sport, dport = draw(ports), draw(ports)
    proto, direction, decision, state = (
        draw(st.sampled_from("TU")),
        draw(st.sampled_from("IO")),
        draw(st.sampled_from("AD")),
        draw(st.sampled_from("BCE")),
    )
    counts = [draw(counters) for _ in range(4)]
    tup = ",".join(
        [str(time), src, dst, str(sport), str(dport), proto, direction, decision, state]
        + [text(c) for c in counts]
    )
    expected = {
        "time": dt.datetime.fromtimestamp(time, dt.UTC),
        "src_ip": canonical(src),
        "dst_ip": canonical(dst),
        "src_port": sport,
        "dst_port": dport,
        "protocol": {"T": 6, "U": 17}[proto],
        "direction": {"I": "inbound", "O": "outbound"}[direction],
        "decision": {"A": "allow", "D": "deny"}[decision],
        "state": {"B": "begin", "C": "continue", "E": "end"}[state],
        "src_packets": counts[0],
        "src_bytes": counts[1],
        "dst_packets": counts[2],
        "dst_bytes": counts[3],
    }
    return tup, expected


@st.composite
def vnet_tuples(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    millis = draw(seconds) * 1000 + draw(st.integers(0, 999))
    src, dst = draw(ipv4), draw(ipv4)
    sport, dport, proto = draw(ports), draw(ports), draw(st.integers(0, 255))
    direction, state = draw(st.sampled_from("IO")), draw(st.sampled_from("BCED"))
    encryption = draw(st.sampled_from(["X", "NX", "NX_HW_NOT_SUPPORTED", "NX_LOCAL_DST", ""]))
    counts = [draw(counters) for _ in range(4)]
    tup = ",".join(
        [str(millis), src, dst, str(sport), str(dport), str(proto), direction, state, encryption]
        + [text(c) for c in counts]
    )
    expected = {
        "time": dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=millis),
        "src_ip": src,
        "dst_ip": dst,
        "src_port": sport,
        "dst_port": dport,
        "protocol": proto,
        "direction": {"I": "inbound", "O": "outbound"}[direction],
        "decision": "deny" if state == "D" else "allow",
        "state": {"B": "begin", "C": "continue", "E": "end", "D": "deny"}[state],
        "encryption": encryption or None,
        "src_packets": counts[0],
        "src_bytes": counts[1],
        "dst_packets": counts[2],
        "dst_bytes": counts[3],
    }
    return tup, expected


def picked(row: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in keys}


@SETTINGS
@given(st.lists(nsg_tuples(), min_size=1, max_size=30), st.lists(vnet_tuples(), max_size=30))
def test_valid_tuples_round_trip_exactly(
    nsg: list[tuple[str, dict[str, Any]]], vnet: list[tuple[str, dict[str, Any]]]
) -> None:
    records = [nsg_record({"r": {"000D3AF87856": [t for t, _ in nsg]}})]
    if vnet:
        records.append(vnet_record({"a": {"r": [t for t, _ in vnet]}}))
    result = parse_blob(blob(records))
    assert result.report.rejected == 0
    expected = [e for _, e in nsg] + [e for _, e in vnet]
    assert [picked(row, e) for row, e in zip(result.table.to_pylist(), expected, strict=True)] == (
        expected
    )


mangled = st.text(alphabet="0123456789.:,-xXTUIOADBCEN_ ", max_size=40)


@SETTINGS
@given(
    st.lists(
        st.one_of(nsg_tuples().map(lambda t: t[0]), mangled, nsg_tuples().map(lambda t: t[0][:-3])),
        min_size=1,
        max_size=25,
    ),
    st.lists(st.one_of(vnet_tuples().map(lambda t: t[0]), mangled), max_size=25),
)
def test_fast_path_and_reference_parser_agree(nsg: list[str], vnet: list[str]) -> None:
    records = [nsg_record({"r": {"000D3AF87856": nsg}}), vnet_record({"a": {"r": vnet}})]
    fast, reference = parse_blob(blob(records)), parse_blob(pretty(records))
    assert fast.table.to_pylist() == reference.table.to_pylist()
    assert fast.report.rejected == reference.report.rejected
    assert fast.report.rejects == reference.report.rejects


def survives(data: bytes) -> None:
    try:
        result = parse_blob(data, source="fuzz")
    except FormatError as error:
        message = str(error)
    else:
        assert result.report.flows == result.table.num_rows
        return
    assert message.startswith("fuzz: ")


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_format_error(data: bytes) -> None:
    survives(data)


SAMPLE = blob(
    [
        nsg_record(
            {
                "r": {
                    "000D3AF87856": [
                        "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"
                    ]
                }
            }
        ),
        vnet_record(
            {"a": {"r": ["1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0,0"]}}
        ),
    ]
)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 2), st.binary(max_size=3)),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_blobs_raise_only_format_error(edits: list[tuple[int, int, bytes]]) -> None:
    data = bytearray(SAMPLE)
    for position, kind, payload in edits:
        at = min(position, len(data))
        if kind == 0:
            data[at : at + 1] = payload  # replace a byte
        elif kind == 1:
            data[at:at] = payload  # insert
        else:
            del data[at : at + len(payload) + 1]  # delete
    survives(bytes(data))
