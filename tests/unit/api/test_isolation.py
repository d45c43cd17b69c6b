"""Every endpoint, called with another tenant's tokens and with the wrong kind of token.

A management endpoint must refuse a subscription token, a collector endpoint must refuse a
sign-in token, and nothing of one tenant may be seen or changed with another tenant's token.
"""

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI

from flowcdr.api.deps import Collector, collector

from .conftest import Gateway
from .test_flowlogs import config

COLLECTOR_PATH = "/test-only/collector"


async def whoami(caller: Annotated[Collector, Depends(collector)]) -> dict[str, str]:
    """Stands in for the collector endpoints (register, ingest) that later issues add."""
    return {"tenant": caller.tenant_id, "token": caller.token_id}


@pytest.fixture
def contoso(gateway: Gateway) -> dict[str, Any]:
    """Contoso's data: a configuration and a subscription token."""
    app = gateway.client.app
    assert isinstance(app, FastAPI)
    app.add_api_route(COLLECTOR_PATH, whoami)

    headers = gateway.bearer("alice")
    created = gateway.client.post("/cdr/v1/azure/flowlogs", json=config(), headers=headers).json()
    token = gateway.subscription_token("alice")
    token_id = gateway.client.get("/cdr/v1/subscription-tokens", headers=headers).json()[0]["id"]
    return {"config": created["id"], "token": token, "token_id": token_id}


def management_calls(data: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    config_url = f"/cdr/v1/azure/flowlogs/{data['config']}"
    return [
        ("GET", "/cdr/v1/azure/flowlogs", None),
        ("GET", config_url, None),
        ("PATCH", config_url, {"deploymentName": "azure-stolen"}),
        ("DELETE", config_url, None),
        ("GET", "/cdr/v1/subscription-tokens", None),
        ("DELETE", f"/cdr/v1/subscription-tokens/{data['token_id']}", None),
        ("GET", "/cdr/v1/audit", None),
        ("POST", "/qas/subscription-token", {"expiry": 60}),
        ("POST", "/cdr/v1/azure/flowlogs", config()),
    ]


def test_another_tenant_sees_and_changes_nothing(gateway: Gateway, contoso: dict[str, Any]) -> None:
    headers = gateway.bearer("bob")
    for method, url, body in management_calls(contoso):
        response = gateway.client.request(method, url, json=body, headers=headers)
        if url == "/cdr/v1/azure/flowlogs" and method == "POST":
            assert response.status_code == 201  # creating its own is fine
            continue
        if method == "GET" and url in ("/cdr/v1/azure/flowlogs", "/cdr/v1/subscription-tokens"):
            assert response.status_code == 200
            assert contoso["config"] not in response.text
            assert contoso["token_id"] not in response.text
            continue
        if url in ("/cdr/v1/audit", "/qas/subscription-token"):
            assert response.status_code == 200, url  # bob's own audit and token, no contoso data
            assert "alice" not in response.text
            continue
        assert response.status_code == 404, (method, url, response.text)
    still = gateway.client.get(
        f"/cdr/v1/azure/flowlogs/{contoso['config']}", headers=gateway.bearer("alice")
    )
    assert still.json()["deploymentName"] == "azure-prod-eastus"


def test_a_subscription_token_opens_no_management_endpoint(
    gateway: Gateway, contoso: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {contoso['token']}"}
    for method, url, body in management_calls(contoso):
        response = gateway.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 401, (method, url)
        assert response.json()["error"]["code"] == "unauthorized"


def test_a_sign_in_token_opens_no_collector_endpoint(
    gateway: Gateway, contoso: dict[str, Any]
) -> None:
    refused = gateway.client.get(COLLECTOR_PATH, headers=gateway.bearer("alice"))
    assert refused.status_code == 401
    allowed = gateway.client.get(
        COLLECTOR_PATH, headers={"Authorization": f"Bearer {contoso['token']}"}
    )
    assert allowed.status_code == 200
    assert allowed.json()["token"] == contoso["token_id"]


def test_revocation_takes_effect_on_the_next_request(
    gateway: Gateway, contoso: dict[str, Any]
) -> None:
    collector_headers = {"Authorization": f"Bearer {contoso['token']}"}
    assert gateway.client.get(COLLECTOR_PATH, headers=collector_headers).status_code == 200
    analyst = gateway.client.delete(
        f"/cdr/v1/subscription-tokens/{contoso['token_id']}", headers=gateway.bearer("amy")
    )
    assert analyst.status_code == 403
    revoked = gateway.client.delete(
        f"/cdr/v1/subscription-tokens/{contoso['token_id']}", headers=gateway.bearer("alice")
    )
    assert revoked.status_code == 204
    assert gateway.client.get(COLLECTOR_PATH, headers=collector_headers).status_code == 401
    listed = gateway.client.get("/cdr/v1/subscription-tokens", headers=gateway.bearer("amy"))
    (info,) = listed.json()
    assert info["revokedAt"] is not None
    assert info["lastUsedAt"] is not None


def test_no_token_at_all(gateway: Gateway, contoso: dict[str, Any]) -> None:
    for method, url, body in management_calls(contoso):
        response = gateway.client.request(method, url, json=body)
        assert response.status_code == 401, (method, url)
    assert gateway.client.get(COLLECTOR_PATH).status_code == 401
