"""Threat-intel lists: ranges from IPs and CIDRs, bogons cut out, expiry, matching in bulk."""

import datetime as dt
import ipaddress
import random

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from flowcdr.detect.intel import Intel, build_list

NOW = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


def names(intel: Intel, ips: list[str]) -> list[str | None]:
    found: list[str | None] = intel.match(pa.array(ips)).to_pylist()
    return found


def test_ips_and_cidrs_match_v4_and_v6() -> None:
    one = build_list("one", ["11.1.2.0/24", "22.1.1.1", "2a01:4f8::/32", "2a02::5"])
    intel = Intel((one,))
    assert names(intel, ["11.1.2.255", "11.1.3.0", "22.1.1.1", "22.1.1.2"]) == [
        "one", None, "one", None,
    ]  # fmt: skip
    assert names(intel, ["2a01:4f8:1::9", "2a01:4f9::", "2a02::5", "2a02::6"]) == [
        "one", None, "one", None,
    ]  # fmt: skip


def test_private_and_bogon_ranges_are_stripped() -> None:
    """FireHOL level1 lists 10.0.0.0/8 and other bogons: left in, every VM is malicious."""
    feed = build_list(
        "firehol", ["10.0.0.0/8", "192.168.0.0/16", "203.0.113.7", "168.63.129.16", "fd00::/8"]
    )
    assert len(feed) == 0
    assert feed.stats.stripped == 5
    everything = Intel((build_list("all", ["0.0.0.0/0"]),))
    assert names(everything, ["10.1.1.1", "172.16.0.1", "169.254.169.254", "8.8.8.8"]) == [
        None, None, None, "all",
    ]  # fmt: skip


def test_invalid_entries_are_counted_with_samples() -> None:
    feed = build_list("x", ["11.1.1.1", "bogus", "1.2.3.4/33", "999.1.1.1"])
    assert feed.stats.invalid == 3
    assert feed.stats.samples == ["'bogus'", "'1.2.3.4/33'", "'999.1.1.1'"]


def test_old_indicators_expire() -> None:
    seen = [NOW - dt.timedelta(days=2), NOW - dt.timedelta(days=90), None]
    feed = build_list(
        "feodo", ["11.1.1.1", "11.2.2.2", "11.3.3.3"], seen, as_of=NOW,
        max_age=dt.timedelta(days=30),
    )  # fmt: skip
    assert feed.stats.expired == 1
    assert names(Intel((feed,)), ["11.1.1.1", "11.2.2.2", "11.3.3.3"]) == ["feodo", None, "feodo"]


def test_first_list_in_load_order_names_the_match() -> None:
    intel = Intel((build_list("feodo", ["11.1.1.1"]), build_list("firehol", ["11.1.0.0/16"])))
    assert names(intel, ["11.1.1.1", "11.1.9.9", None]) == ["feodo", "firehol", None]  # type: ignore[list-item]


def test_dictionary_input_is_matched_per_entry() -> None:
    intel = Intel((build_list("x", ["11.1.1.1"]),))
    column = pa.array(["11.1.1.1", "12.1.1.1", "11.1.1.1"]).dictionary_encode()
    assert intel.match(pa.chunked_array([column])).to_pylist() == ["x", None, "x"]


@given(st.lists(st.tuples(st.integers(0x0B000000, 0x0BFFFFFF), st.integers(16, 32)), max_size=30))
def test_matches_agree_with_ipaddress(blocks: list[tuple[int, int]]) -> None:
    """Merged ranges answer exactly as membership in any of the original networks."""
    networks = [ipaddress.ip_network((value, prefix), strict=False) for value, prefix in blocks]
    intel = Intel((build_list("x", [str(n) for n in networks]),))
    rng = random.Random(len(blocks))
    probes: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [
        ipaddress.IPv4Address(rng.randint(0x0B000000, 0x0BFFFFFF)) for _ in range(50)
    ]
    probes += [n.network_address for n in networks] + [n.broadcast_address for n in networks]
    got = names(intel, [str(p) for p in probes])
    assert got == ["x" if any(p in n for n in networks) else None for p in probes]


def test_many_indicators_match_in_bulk() -> None:
    """200k random hosts (bench/detect.py times a million): every listed one matches."""
    rng = np.random.default_rng(7)
    values = rng.integers(0x0B000000, 0x63FFFFFF, 200_000, dtype=np.uint64)  # 11/8 to 99/8
    texts = [str(ipaddress.IPv4Address(int(v))) for v in values]
    feed = build_list("big", texts)
    assert feed.stats.invalid == feed.stats.stripped == 0
    assert names(Intel((feed,)), texts[:20_000]) == ["big"] * 20_000
