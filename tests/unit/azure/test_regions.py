"""The region list: well-formed data, and is_region's case-insensitive lookup."""

import re

import pytest

from flowcdr.azure import REGIONS, Cloud, is_region


@pytest.mark.parametrize(
    "name",
    ["eastus", "westeurope", "swedencentral", "eastus2euap", "EastUS", "WESTEUROPE", "chinanorth3"],
)
def test_known_regions(name: str) -> None:
    assert is_region(name)


@pytest.mark.parametrize(
    "name", ["", "East US", "eastus ", "europe", "global", "eastusstage", "us-east-1", "westus4"]
)
def test_not_regions(name: str) -> None:
    assert not is_region(name)


def test_names_are_unique_lower_case_and_programmatic() -> None:
    names = [region.name for region in REGIONS]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9]+", name) for name in names)
    assert len({region.display_name for region in REGIONS}) == len(REGIONS)


def test_every_cloud_has_regions_and_public_is_most() -> None:
    by_cloud = {cloud: [r for r in REGIONS if r.cloud is cloud] for cloud in Cloud}
    assert all(by_cloud.values())
    assert 55 <= len(by_cloud[Cloud.PUBLIC]) <= 80
    assert {r.name for r in by_cloud[Cloud.US_GOVERNMENT]} >= {"usgovvirginia", "usgovarizona"}


def test_display_name_spells_the_programmatic_name() -> None:
    for region in REGIONS:
        assert region.display_name.replace(" ", "").lower() == region.name
