"""Flow-log configurations: create, view, update, delete; validation, masking, roles."""

import base64
from typing import Any

import pytest

from .conftest import Gateway

KEY = base64.b64encode(b"flowcdr-test-account-key-material-0123456789").decode()
SUBSCRIPTION = "AAAA0A0A-BB1B-CC2C-DD3D-EEEEEE4E4E4E"


def connection(account: str, key: str = KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};"
        "EndpointSuffix=core.windows.net"
    )


def config(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "deploymentName": "azure-prod-eastus",
        "subscriptionId": SUBSCRIPTION,
        "buckets": [
            {
                "storageAccount": "flowlogseast01",
                "region": "eastus",
                "connectionString": connection("flowlogseast01"),
            }
        ],
    }
    body.update(changes)
    return body


def create(gateway: Gateway, body: dict[str, Any] | None = None, user: str = "alice") -> Any:
    response = gateway.client.post(
        "/cdr/v1/azure/flowlogs", json=body or config(), headers=gateway.bearer(user)
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_create_view_list_and_masking(gateway: Gateway) -> None:
    second = {
        "storageAccount": "flowlogsweu02",
        "region": "WestEurope",
        "connectionString": connection("flowlogsweu02"),
    }
    created = create(gateway, config(buckets=[*config()["buckets"], second]))
    assert created["subscriptionId"] == SUBSCRIPTION.lower()
    assert [b["region"] for b in created["buckets"]] == ["eastus", "westeurope"]
    for bucket in created["buckets"]:
        assert KEY not in bucket["connectionString"]
        assert "AccountKey=****" in bucket["connectionString"]
    headers = gateway.bearer("amy")  # analysts may read
    detail = gateway.client.get(f"/cdr/v1/azure/flowlogs/{created['id']}", headers=headers)
    assert detail.status_code == 200
    assert detail.json() == created
    listed = gateway.client.get("/cdr/v1/azure/flowlogs", headers=headers).json()
    assert [c["id"] for c in listed] == [created["id"]]


def test_secrets_are_encrypted_at_rest(gateway: Gateway) -> None:
    create(gateway)
    stored = gateway.stored()
    assert KEY.encode() not in stored
    assert b"AccountKey" not in stored
    store = gateway.client.app.state.services.store  # type: ignore[attr-defined]
    (config_row,) = store.configs(store.user("alice").tenant_id)
    assert config_row.buckets[0].connection_string == connection("flowlogseast01")


def test_update_with_the_masked_value_keeps_the_secret(gateway: Gateway) -> None:
    created = create(gateway)
    buckets = created["buckets"]
    response = gateway.client.patch(
        f"/cdr/v1/azure/flowlogs/{created['id']}",
        json={"deploymentName": "azure-prod-east", "buckets": buckets},
        headers=gateway.bearer("alice"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["deploymentName"] == "azure-prod-east"
    store = gateway.client.app.state.services.store  # type: ignore[attr-defined]
    (row,) = store.configs(store.user("alice").tenant_id)
    assert row.buckets[0].connection_string == connection("flowlogseast01")
    new_key = base64.b64encode(b"rotated-key-material-9876543210").decode()
    rotated = [{**buckets[0], "connectionString": connection("flowlogseast01", new_key)}]
    gateway.client.patch(
        f"/cdr/v1/azure/flowlogs/{created['id']}",
        json={"buckets": rotated},
        headers=gateway.bearer("alice"),
    )
    (row,) = store.configs(store.user("alice").tenant_id)
    assert row.buckets[0].connection_string == connection("flowlogseast01", new_key)


def test_delete(gateway: Gateway) -> None:
    created = create(gateway)
    headers = gateway.bearer("alice")
    url = f"/cdr/v1/azure/flowlogs/{created['id']}"
    assert gateway.client.delete(url, headers=headers).status_code == 204
    assert gateway.client.get(url, headers=headers).status_code == 404
    assert gateway.client.delete(url, headers=headers).status_code == 404


def test_analysts_cannot_change_configurations(gateway: Gateway) -> None:
    created = create(gateway)
    headers = gateway.bearer("amy")
    url = f"/cdr/v1/azure/flowlogs/{created['id']}"
    assert (
        gateway.client.post("/cdr/v1/azure/flowlogs", json=config(), headers=headers).status_code
        == 403
    )
    assert gateway.client.patch(url, json={}, headers=headers).status_code == 403
    assert gateway.client.delete(url, headers=headers).status_code == 403


def test_deployment_names_are_unique_in_a_tenant_only(gateway: Gateway) -> None:
    create(gateway)
    again = gateway.client.post(
        "/cdr/v1/azure/flowlogs", json=config(), headers=gateway.bearer("alice")
    )
    assert (again.status_code, again.json()["error"]["field"]) == (409, "deploymentName")
    create(gateway, user="bob")  # another tenant may use the same name


def bucket(**changes: str) -> list[dict[str, str]]:
    item = {
        "storageAccount": "flowlogseast01",
        "region": "eastus",
        "connectionString": connection("flowlogseast01"),
    }
    item.update(changes)
    return [item]


BAD = [
    ({"deploymentName": "prod-eastus"}, "deploymentName"),
    ({"deploymentName": "azure-"}, "deploymentName"),
    ({"deploymentName": "azure-Prod"}, "deploymentName"),
    ({"deploymentName": "azure-" + "x" * 60}, "deploymentName"),
    ({"deploymentName": "azure-prod_1"}, "deploymentName"),
    ({"subscriptionId": "not-a-guid"}, "subscriptionId"),
    ({"subscriptionId": SUBSCRIPTION[:-1]}, "subscriptionId"),
    ({"buckets": []}, "buckets"),
    ({"buckets": bucket() * 51}, "buckets"),
    ({"buckets": bucket() * 2}, "buckets[1].storageAccount"),
    ({"buckets": bucket(storageAccount="Flow_Logs")}, "buckets[0].storageAccount"),
    ({"buckets": bucket(storageAccount="ab")}, "buckets[0].storageAccount"),
    ({"buckets": bucket(region="mars-north")}, "buckets[0].region"),
    ({"buckets": bucket(connectionString="AccountName=x")}, "buckets[0].connectionString"),
    (
        {"buckets": bucket(connectionString=connection("otheraccount"))},
        "buckets[0].connectionString",
    ),
    (
        {"buckets": bucket(connectionString=connection("flowlogseast01").replace("https", "http"))},
        "buckets[0].connectionString",
    ),
    (
        {"buckets": bucket(connectionString=connection("flowlogseast01", "not base64!"))},
        "buckets[0].connectionString",
    ),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_bad_input_is_422_naming_the_field(
    gateway: Gateway, change: dict[str, Any], field: str
) -> None:
    response = gateway.client.post(
        "/cdr/v1/azure/flowlogs", json=config(**change), headers=gateway.bearer("alice")
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert KEY not in response.text
    assert "not base64!" not in response.text


def test_unknown_fields_are_refused(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/cdr/v1/azure/flowlogs", json=config(extra=1), headers=gateway.bearer("alice")
    )
    assert (response.status_code, response.json()["error"]["field"]) == (422, "extra")
