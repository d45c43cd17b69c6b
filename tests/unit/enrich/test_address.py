"""Address texts to 128-bit words: IPv4 rides as IPv4-mapped IPv6."""

import ipaddress

import numpy as np
import pyarrow as pa

from flowcdr.enrich.address import parse


def test_words_are_the_address_with_ipv4_mapped() -> None:
    # text -> the IPv6 address it is matched as
    cases = {
        "1.2.3.4": "::ffff:1.2.3.4",
        "::ffff:1.2.3.4": "::ffff:1.2.3.4",
        "255.255.255.255": "::ffff:255.255.255.255",
        "2001:db8::1": "2001:db8::1",
        "ffff::ffff": "ffff::ffff",
        "::": "::",
    }
    parsed = parse(pa.array(list(cases)))
    got = [int(h) << 64 | int(lo) for h, lo in zip(parsed.high, parsed.low, strict=True)]
    assert got == [int(ipaddress.IPv6Address(v6)) for v6 in cases.values()]
    assert parsed.valid.all()


def test_invalid_text_is_flagged_not_raised() -> None:
    parsed = parse(pa.array(["10.0.0.1", None, "nope", "1.2.3", "01.2.3.4"], pa.string()))
    assert parsed.valid.tolist() == [True, False, False, False, False]
    assert parsed.high[1:].tolist() == [0] * 4
    assert parsed.low[1:].tolist() == [0] * 4


def test_lookup_text_of_ipv4_mapped_is_the_dotted_quad() -> None:
    parsed = parse(pa.array(["::ffff:8.8.8.8", "8.8.4.4", "2001:4860::1", "::ffff:a00:1"]))
    assert parsed.lookup.to_pylist() == ["8.8.8.8", "8.8.4.4", "2001:4860::1", "10.0.0.1"]


def test_empty_input() -> None:
    parsed = parse(pa.array([], pa.string()))
    assert len(parsed.high) == len(parsed.low) == len(parsed.valid) == len(parsed.lookup) == 0
    assert parsed.high.dtype == np.uint64
