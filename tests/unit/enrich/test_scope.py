"""Scopes: every boundary of every documented range, and the vectorized match against a
plain longest-prefix reference on random addresses."""

import ipaddress
from collections.abc import Sequence

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowcdr.enrich.address import parse
from flowcdr.enrich.scope import RANGES, classify
from flowcdr.formats.schema import SCOPES

ONES = ":ffff:ffff:ffff:ffff:ffff:ffff:ffff"

# (address, scope): first and last address of each range, and the addresses just outside.
BOUNDARIES = [
    ("0.0.0.0", "reserved"),
    ("0.255.255.255", "reserved"),
    ("1.0.0.0", "public"),
    ("9.255.255.255", "public"),
    ("10.0.0.0", "private"),
    ("10.255.255.255", "private"),
    ("11.0.0.0", "public"),
    ("100.63.255.255", "public"),
    ("100.64.0.0", "private"),
    ("100.127.255.255", "private"),
    ("100.128.0.0", "public"),
    ("126.255.255.255", "public"),
    ("127.0.0.0", "loopback"),
    ("127.255.255.255", "loopback"),
    ("128.0.0.0", "public"),
    ("168.63.129.15", "public"),
    ("168.63.129.16", "azure_platform"),
    ("168.63.129.17", "public"),
    ("169.253.255.255", "public"),
    ("169.254.0.0", "link_local"),
    ("169.254.169.253", "link_local"),
    ("169.254.169.254", "azure_platform"),
    ("169.254.169.255", "link_local"),
    ("169.254.255.255", "link_local"),
    ("169.255.0.0", "public"),
    ("172.15.255.255", "public"),
    ("172.16.0.0", "private"),
    ("172.31.255.255", "private"),
    ("172.32.0.0", "public"),
    ("191.255.255.255", "public"),
    ("192.0.0.0", "reserved"),
    ("192.0.0.255", "reserved"),
    ("192.0.1.0", "public"),
    ("192.0.1.255", "public"),
    ("192.0.2.0", "reserved"),
    ("192.0.2.255", "reserved"),
    ("192.0.3.0", "public"),
    ("192.88.98.255", "public"),
    ("192.88.99.0", "reserved"),
    ("192.88.99.255", "reserved"),
    ("192.88.100.0", "public"),
    ("192.167.255.255", "public"),
    ("192.168.0.0", "private"),
    ("192.168.255.255", "private"),
    ("192.169.0.0", "public"),
    ("198.17.255.255", "public"),
    ("198.18.0.0", "reserved"),
    ("198.19.255.255", "reserved"),
    ("198.20.0.0", "public"),
    ("198.51.99.255", "public"),
    ("198.51.100.0", "reserved"),
    ("198.51.100.255", "reserved"),
    ("198.51.101.0", "public"),
    ("203.0.112.255", "public"),
    ("203.0.113.0", "reserved"),
    ("203.0.113.255", "reserved"),
    ("203.0.114.0", "public"),
    ("223.255.255.255", "public"),
    ("224.0.0.0", "multicast"),
    ("239.255.255.255", "multicast"),
    ("240.0.0.0", "reserved"),
    ("255.255.255.254", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::", "reserved"),
    ("::1", "loopback"),
    ("::2", "reserved"),
    ("::fffe:ffff:ffff", "reserved"),
    ("::ffff:0.0.0.0", "reserved"),
    ("::ffff:8.8.8.8", "public"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:168.63.129.16", "azure_platform"),
    ("::ffff:169.254.169.254", "azure_platform"),
    ("::ffff:169.254.0.1", "link_local"),
    ("::ffff:224.0.0.1", "multicast"),
    ("::ffff:255.255.255.255", "reserved"),
    ("::1:0:0:0", "reserved"),
    ("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "reserved"),
    ("64:ff9b::", "public"),
    ("64:ff9b::ffff:ffff", "public"),
    ("64:ff9b::1:0:0", "reserved"),
    ("1fff" + ONES, "reserved"),
    ("2000::", "public"),
    ("2001:1" + ONES[5:], "public"),
    ("2001:2::", "reserved"),
    ("2001:2:0:ffff:ffff:ffff:ffff:ffff", "reserved"),
    ("2001:2:1::", "public"),
    ("2001:db7" + ONES[5:], "public"),
    ("2001:db8::", "reserved"),
    ("2001:db8" + ONES[5:], "reserved"),
    ("2001:db9::", "public"),
    ("3ffe" + ONES, "public"),
    ("3fff::", "reserved"),
    ("3fff:fff" + ONES[5:], "reserved"),
    ("3fff:1000::", "public"),
    ("4000::", "reserved"),
    ("fbff" + ONES, "reserved"),
    ("fc00::", "private"),
    ("fdff" + ONES, "private"),
    ("fe00::", "reserved"),
    ("fe7f" + ONES, "reserved"),
    ("fe80::", "link_local"),
    ("febf" + ONES, "link_local"),
    ("fec0::", "reserved"),
    ("feff" + ONES, "reserved"),
    ("ff00::", "multicast"),
    ("ffff" + ONES, "multicast"),
]


def scopes(texts: Sequence[str | None]) -> list[str]:
    return [SCOPES[code] for code in classify(parse(pa.array(texts, pa.string())))]


@pytest.mark.parametrize(("address", "scope"), BOUNDARIES)
def test_range_boundaries(address: str, scope: str) -> None:
    assert scopes([address]) == [scope]


def test_all_boundaries_in_one_batch() -> None:
    assert scopes([address for address, _ in BOUNDARIES]) == [scope for _, scope in BOUNDARIES]


def test_every_range_has_a_known_scope_and_a_reason() -> None:
    for row in RANGES:
        assert row.scope in SCOPES
        assert row.why
        ipaddress.ip_network(row.network)


def test_text_that_is_no_address_is_reserved() -> None:
    assert scopes(["nope", "", None, "10.0.0.256", "1::2::3"]) == ["reserved"] * 5


def test_non_canonical_ipv6_is_classified_too() -> None:
    assert scopes(["FE80:0:0::1", "0:0:0:0:0:ffff:a00:1"]) == ["link_local", "private"]


def reference(text: str) -> str:
    """Longest prefix by ipaddress, one address at a time: slow and obviously right."""
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    networks = [(ipaddress.ip_network(row.network), row.scope) for row in RANGES]
    inside = [(net.prefixlen, scope) for net, scope in networks if address in net]
    return max(inside)[1] if inside else "public"


ADDRESSES = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}"),
    st.sampled_from(BOUNDARIES).map(lambda pair: pair[0]),
)


@given(st.lists(ADDRESSES, max_size=40))
def test_vectorized_match_agrees_with_the_reference(texts: list[str]) -> None:
    assert scopes(texts) == [reference(text) for text in texts]
