"""Deployment names, subscription ids and storage account names: accepted forms and refusals."""

import uuid
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowcdr.azure import (
    FieldError,
    normalize_subscription_id,
    validate_deployment_name,
    validate_storage_account,
)

GUID = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"


def refusal(check: Callable[[str], str], value: str) -> FieldError:
    with pytest.raises(FieldError) as caught:
        check(value)
    return caught.value


@pytest.mark.parametrize("name", ["azure-p", "azure-prod", "azure-eu-west-2", "azure-" + "a" * 58])
def test_valid_deployment_names(name: str) -> None:
    assert validate_deployment_name(name) == name


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("azure-", "7 to 64 characters long, got 6"),
        ("azure-" + "a" * 59, "got 65"),
        ("", "got 0"),
        ("Azure-prod", "lower-case"),
        ("azure-Prod", "lower-case"),
        ("AZURE-PROD", "lower-case"),
        ("azure_prod", "lower-case"),
        ("azure-prod_eu", "lower-case"),
        ("azure-prod eu", "lower-case"),
        (" azure-prod", "lower-case"),
        ("azure-prød", "lower-case"),
        ("azure-prod\n", "lower-case"),
        ("aws-prod-01", "must start with 'azure-'"),
        ("prod-azure-1", "must start with 'azure-'"),
        ("azureprod", "must start with 'azure-'"),
    ],
)
def test_bad_deployment_names(name: str, says: str) -> None:
    error = refusal(validate_deployment_name, name)
    assert error.field == "deployment_name"
    assert says in error.message
    assert str(error) == f"deployment_name: {error.message}"


def test_a_huge_value_is_cut_in_the_message() -> None:
    error = refusal(validate_deployment_name, "x" * 10_000)
    assert "got 10000" in error.message
    assert len(str(error)) < 200


@given(st.from_regex(r"azure-[a-z0-9-]{1,58}", fullmatch=True))
def test_valid_deployment_names_round_trip(name: str) -> None:
    assert validate_deployment_name(name) == name


@pytest.mark.parametrize("text", [GUID, GUID.upper(), "0B1F6471-1bf0-4DDA-aec3-CB9272f09590"])
def test_subscription_ids_in_any_case_become_lower_case(text: str) -> None:
    assert normalize_subscription_id(text) == GUID


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{" + GUID + "}",
        GUID.replace("-", ""),
        "urn:uuid:" + GUID,
        f" {GUID}",
        f"{GUID}\n",
        GUID[:-1],
        GUID + "0",
        GUID.replace("a", "g"),
        "0b1f64711-bf0-4dda-aec3-cb9272f09590",
        GUID.replace("-", "_"),
        GUID.replace("0", "٠"),
    ],
)
def test_bad_subscription_ids(text: str) -> None:
    error = refusal(normalize_subscription_id, text)
    assert error.field == "subscription_id"
    assert "GUID" in error.message


@given(st.uuids(), st.booleans())
def test_any_guid_round_trips(value: uuid.UUID, upper: bool) -> None:
    text = str(value).upper() if upper else str(value)
    assert normalize_subscription_id(text) == str(value)


@pytest.mark.parametrize("name", ["abc", "flowlogsprod01", "0123", "a" * 24])
def test_valid_storage_accounts(name: str) -> None:
    assert validate_storage_account(name) == name


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("ab", "3 to 24 characters long, got 2"),
        ("a" * 25, "got 25"),
        ("", "got 0"),
        ("FlowLogs", "lower-case letters and digits"),
        ("flow_logs", "lower-case letters and digits"),
        ("flow-logs", "lower-case letters and digits"),
        ("flow logs", "lower-case letters and digits"),
        ("flowlögs", "lower-case letters and digits"),
        ("flow\u212along", "lower-case letters and digits"),
    ],
)
def test_bad_storage_accounts(name: str, says: str) -> None:
    error = refusal(validate_storage_account, name)
    assert error.field == "storage_account"
    assert says in error.message


@given(st.from_regex(r"[a-z0-9]{3,24}", fullmatch=True))
def test_valid_storage_accounts_round_trip(name: str) -> None:
    assert validate_storage_account(name) == name
