"""Countries: public addresses only, from iptocc's registry data, IPv4-mapped by its IPv4."""

import iptocc
import pyarrow as pa

from flowcdr.enrich import enrich
from flowcdr.enrich.country import countries

from .flows import flows

PUBLIC = ["8.8.8.8", "1.1.1.1", "193.0.6.139", "2001:4860:4860::8888", "2a00:1450:4001::1"]
NOT_PUBLIC = [
    "10.0.0.4",
    "172.16.1.1",
    "192.168.1.1",
    "100.64.0.1",
    "fd00::1",
    "168.63.129.16",
    "169.254.169.254",
    "127.0.0.1",
    "::1",
    "fe80::1",
    "224.0.0.1",
    "192.0.2.1",
    "2001:db8::1",
]


def enriched_countries(addresses: list[str]) -> tuple[list[str | None], list[str | None]]:
    table = enrich(flows([(a, a) for a in addresses]))
    src: list[str | None] = table.column("src_country").to_pylist()
    dst: list[str | None] = table.column("dst_country").to_pylist()
    return src, dst


def test_stable_anchors() -> None:
    # Google's 8.0.0.0/9 block (ARIN) and RIPE NCC's own network (Amsterdam), both decades old.
    assert countries(pa.array(["8.8.8.8", "193.0.6.139"])).to_pylist() == ["US", "NL"]


def test_public_addresses_get_the_data_sets_country() -> None:
    src, dst = enriched_countries(PUBLIC)
    expected = iptocc.country_code(PUBLIC)
    assert src == dst == expected
    assert all(code is not None and len(code) == 2 and code.isupper() for code in expected)


def test_ipv4_mapped_gets_the_country_of_its_ipv4() -> None:
    src, _ = enriched_countries(["::ffff:8.8.8.8", "::ffff:193.0.6.139"])
    assert src == ["US", "NL"]


def test_non_public_addresses_have_no_country() -> None:
    src, dst = enriched_countries(NOT_PUBLIC)
    assert src == dst == [None] * len(NOT_PUBLIC)


def test_public_address_no_registry_covers_has_no_country() -> None:
    # 3ffe::/16 was the 6bone test network, returned to IANA in 2006: global unicast, but in no
    # registry's delegation file.
    assert iptocc.country_code("3ffe::1") is None
    assert enriched_countries(["3ffe::1"]) == ([None], [None])


def test_country_columns_are_dictionaries_of_the_codes_found() -> None:
    column = enrich(flows([("8.8.8.8", "10.0.0.1"), ("8.8.4.4", "193.0.6.139")]))["src_country"]
    assert column.type == pa.dictionary(pa.int32(), pa.string())
    assert column.to_pylist() == ["US", "US"]
    assert column.chunk(0).dictionary.to_pylist() in (["US", "NL"], ["NL", "US"])
