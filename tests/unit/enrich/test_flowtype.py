"""Flow types from the two ends' scopes, and malicious over everything when intel matched."""

import itertools

import numpy as np
import pyarrow as pa
import pytest

from flowcdr.enrich.flowtype import flow_types
from flowcdr.formats.schema import FLOW_TYPES, SCOPES

MATRIX = [
    ("private", "private", "intra_vnet"),
    ("private", "loopback", "intra_vnet"),
    ("link_local", "private", "intra_vnet"),
    ("loopback", "loopback", "intra_vnet"),
    ("private", "public", "external_public"),
    ("public", "private", "external_public"),
    ("public", "public", "external_public"),
    ("public", "azure_platform", "external_public"),
    ("reserved", "public", "external_public"),
    ("public", "multicast", "external_public"),
    ("azure_platform", "private", "azure_public"),
    ("private", "azure_platform", "azure_public"),
    ("link_local", "azure_platform", "azure_public"),
    ("azure_platform", "azure_platform", "azure_public"),
    ("azure_platform", "multicast", "unknown"),
    ("multicast", "private", "unknown"),
    ("private", "reserved", "unknown"),
    ("reserved", "reserved", "unknown"),
]


def codes(names: list[str]) -> np.ndarray:
    return np.array([SCOPES.index(name) for name in names], np.int8)


def types(src: list[str], dst: list[str], intel: list[str | None] | None = None) -> list[str]:
    matches = pa.array(intel if intel is not None else [None] * len(src), pa.string())
    return [FLOW_TYPES[code] for code in flow_types(codes(src), codes(dst), matches)]


@pytest.mark.parametrize(("src", "dst", "expected"), MATRIX)
def test_flow_type_of_a_scope_pair(src: str, dst: str, expected: str) -> None:
    assert types([src], [dst]) == [expected]


def test_every_pair_has_a_type_and_only_intel_makes_malicious() -> None:
    pairs = list(itertools.product(SCOPES, repeat=2))
    got = types([s for s, _ in pairs], [d for _, d in pairs])
    assert set(got) == set(FLOW_TYPES) - {"malicious"}


def test_a_type_does_not_depend_on_which_end_is_the_source() -> None:
    pairs = list(itertools.product(SCOPES, repeat=2))
    forward = types([s for s, _ in pairs], [d for _, d in pairs])
    backward = types([d for _, d in pairs], [s for s, _ in pairs])
    assert forward == backward


def test_intel_match_makes_any_flow_malicious() -> None:
    src, dst = ["private", "private", "public"], ["public", "private", "private"]
    got = types(src, dst, ["feodo", None, "tor"])
    assert got == ["malicious", "intra_vnet", "malicious"]


def test_chunked_intel_match_and_no_rows() -> None:
    intel = pa.chunked_array([pa.array(["x"]), pa.array([None], pa.string())])
    got = flow_types(codes(["private", "private"]), codes(["private", "private"]), intel)
    assert [FLOW_TYPES[c] for c in got] == ["malicious", "intra_vnet"]
    assert types([], []) == []
