"""Azure's published ranges: the service tags file read, refused with reasons, and applied."""

import json
import logging
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from flowcdr.enrich import enrich
from flowcdr.enrich.address import parse
from flowcdr.enrich.servicetags import (
    ServiceTagsError,
    ServiceTagsFile,
    parse_service_tags,
    read_service_tags,
)

from .flows import flows, vnet_flows

VM = "10.1.0.4"
STORAGE = "20.38.98.7"  # inside Storage.WestEurope below
ELSEWHERE = "93.184.216.34"  # no Azure tag holds it


def tag(name: str, prefixes: list[str], region: str = "", service: str = "") -> dict[str, Any]:
    """One entry of ``values`` as Microsoft writes it."""
    return {
        "name": name,
        "id": name,
        "properties": {
            "changeNumber": 7,
            "region": region,
            "regionId": 0,
            "platform": "Azure",
            "systemService": service,
            "addressPrefixes": prefixes,
            "networkFeatures": ["API", "NSG", "UDR", "FW"],
        },
    }


def document(*tags: dict[str, Any]) -> bytes:
    return json.dumps({"changeNumber": 412, "cloud": "Public", "values": list(tags)}).encode()


SAMPLE = document(
    tag(
        "Storage.WestEurope", ["20.38.96.0/19", "2603:1020:200::/46"], "westeurope", "AzureStorage"
    ),
    tag("Storage", ["20.38.96.0/20", "20.38.112.0/20", "20.60.0.0/16"], "", "AzureStorage"),
    tag("AzureFrontDoor.Backend", ["147.243.0.0/16", "2a01:111:20a::/48"], "", "AzureFrontDoor"),
)


def flow_type_of(table: pa.Table, sample: bytes = SAMPLE) -> list[str]:
    ranges = parse_service_tags(sample, "sample").ranges
    kinds: list[str] = enrich(table, ranges).column("flow_type").to_pylist()
    return kinds


def test_the_file_says_what_it_holds_and_overlapping_prefixes_merge() -> None:
    tags = parse_service_tags(b"\xef\xbb\xbf" + SAMPLE, "sample")
    assert (tags.cloud, tags.change_number, tags.tags, tags.prefixes) == ("Public", 412, 3, 7)
    # 20.38.96.0/19 holds both /20s; 20.60/16, the Front Door /16 and two IPv6 prefixes remain.
    assert len(tags.ranges) == 5


def test_an_address_inside_is_found_in_either_family_and_outside_is_not() -> None:
    ranges = parse_service_tags(SAMPLE, "sample").ranges
    texts = [STORAGE, "::ffff:20.38.98.7", "2603:1020:200::5", "2a01:111:20a:1::1", ELSEWHERE,
             "20.38.128.0", "2603:1020:204::1", "not an address"]  # fmt: skip
    assert ranges.contains(parse(pa.array(texts))).tolist() == [
        True, True, True, True, False, False, False, False,
    ]  # fmt: skip


def test_flows_to_azure_services_are_azure_public_and_the_rest_external() -> None:
    table = flows([(VM, STORAGE), (STORAGE, VM), (VM, ELSEWHERE), (VM, "10.1.0.5")])
    assert flow_type_of(table) == ["azure_public", "azure_public", "external_public", "intra_vnet"]
    # Without the file the same flows are what the scopes alone say.
    assert enrich(table).column("flow_type").to_pylist()[:2] == ["external_public"] * 2
    # Both VNet and NSG rows, and an Azure address talking to a non-Azure one stays external.
    assert flow_type_of(vnet_flows([(VM, "147.243.1.1"), (STORAGE, ELSEWHERE)])) == [
        "azure_public",
        "external_public",
    ]


def test_the_scope_column_still_says_public() -> None:
    ranges = parse_service_tags(SAMPLE, "sample").ranges
    assert enrich(flows([(VM, STORAGE)]), ranges).column("dst_scope").to_pylist() == ["public"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[1, 2", "sample: not a service tags file"),
        (b'{"cloud": "Public"}', "missing required field `values`"),
        (document(tag("A", ["20.0.0.0/8"]), tag("B", ["1.2.3.0/24", "300.1.0.0/16"])),
         "$.values[1].properties.addressPrefixes[1] (tag 'B'): entry 2 '300.1.0.0/16'"),
        (document(tag("A", [])), "no address prefix in 1 tags"),
        (json.dumps({"values": [{"name": "A", "properties": {"addressPrefixes": "1.2.3.4"}}]})
         .encode(), "Expected `array`, got `str` - at `$.values[0].properties.addressPrefixes`"),
    ],
)  # fmt: skip
def test_an_unusable_file_is_refused_naming_it_and_the_place(data: bytes, message: str) -> None:
    with pytest.raises(ServiceTagsError) as refused:
        parse_service_tags(data, "sample")
    assert message in str(refused.value)
    assert str(refused.value).startswith("sample: ")


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(ServiceTagsError, match=r"servicetags\.json: cannot read"):
        read_service_tags(tmp_path / "servicetags.json")


def test_the_gateway_file_is_read_again_when_it_changes_and_a_bad_one_keeps_the_last(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "servicetags.json"
    held = ServiceTagsFile(path)
    assert held.current() is None
    path.write_bytes(SAMPLE)
    first = held.current()
    assert first is not None
    assert first.prefixes == 7
    assert held.current() is first  # unchanged file: not read again
    path.write_bytes(document(tag("Storage", ["20.60.0.0/16"])))
    os.utime(path, ns=(1, 1))  # a new signature even within the file system's time resolution
    second = held.current()
    assert second is not None
    assert second.prefixes == 1
    with caplog.at_level(logging.ERROR):
        path.write_bytes(b"<html>download page</html>")
        assert held.current() is second
    assert f"{path}: not a service tags file" in caplog.text
    assert "the previous file stays in force" in caplog.text
    path.unlink()
    assert held.current() is None
