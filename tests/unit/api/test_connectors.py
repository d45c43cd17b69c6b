"""Connectors: registration by the Terraform module (subscription token), list, deregistration."""

import logging
import uuid
from typing import Any

import pytest

from ..formats.builders import SUB, blob, nsg_record
from .conftest import Gateway
from .test_flowlogs import create
from .test_ingest import GOOD, send

AZURE_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
REGISTER = "/cdr/v1/azure/connectors/register"
CONNECTORS = "/cdr/v1/azure/connectors"
SECRET = "Xk9~secret.of_the-application"


def registration(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenantId": AZURE_TENANT,
        "clientId": CLIENT,
        "subscriptionId": SUB,
        "regions": ["eastus", "westeurope", "eastus"],
    }
    body.update(changes)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(gateway: Gateway, token: str, **changes: Any) -> Any:
    return gateway.client.post(REGISTER, json=registration(**changes), headers=bearer(token))


def listed(gateway: Gateway, user: str = "amy") -> Any:
    response = gateway.client.get(CONNECTORS, headers=gateway.bearer(user))
    assert response.status_code == 200, response.text
    return response.json()


def test_registration_is_an_idempotent_upsert(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    config = create(gateway)
    first = register(gateway, token, configId=config["id"])
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["clientId"] == CLIENT
    assert body["tenantId"] == AZURE_TENANT
    assert body["subscriptionId"] == SUB.lower()
    assert body["regions"] == ["eastus", "westeurope"]
    assert body["configId"] == config["id"]
    again = register(gateway, token, configId=config["id"])
    assert again.status_code == 200
    moved = register(gateway, token, configId=config["id"], regions=["northeurope"])
    assert moved.status_code == 200
    (connector,) = listed(gateway)
    assert connector["id"] == body["id"]
    assert connector["registeredAt"] == body["registeredAt"]
    assert connector["regions"] == ["northeurope"]
    assert connector["status"] == "waiting"
    assert connector["lastDataAt"] is None


def test_the_client_secret_is_kept_encrypted_and_never_shown(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = gateway.subscription_token("alice")
    old = register(gateway, token)
    assert old.json()["hasCredential"] is False  # a module from before the inventory
    first = register(gateway, token, clientSecret=SECRET)
    assert first.status_code == 200
    assert first.json()["hasCredential"] is True
    assert register(gateway, token).json()["hasCredential"] is True  # none sent: the one on file
    rotated = register(gateway, token, clientSecret=SECRET + "-rotated")
    (connector,) = listed(gateway)
    assert connector["hasCredential"] is True
    store = gateway.client.app.state.services.store  # type: ignore[attr-defined]
    (tenant_id,) = {u.tenant_id for u in store.users() if u.tenant == "contoso"}
    assert store.connector_secret(tenant_id, CLIENT) == SECRET + "-rotated"
    assert [c.client_id for c in store.connectors_with_credentials()] == [CLIENT]
    audit = gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("alice"))
    shown = first.text + rotated.text + audit.text + str(connector) + caplog.text
    assert SECRET not in shown
    assert SECRET.encode() not in gateway.stored()


def test_the_tenant_comes_from_the_token(gateway: Gateway) -> None:
    assert register(gateway, gateway.subscription_token("alice")).status_code == 201
    assert listed(gateway, "bea") == []
    # The same application registered by another tenant is that tenant's own row.
    assert register(gateway, gateway.subscription_token("bob")).status_code == 201
    assert len(listed(gateway, "amy")) == len(listed(gateway, "bea")) == 1
    other = create(gateway, user="bob")
    refused = register(gateway, gateway.subscription_token("alice"), configId=other["id"])
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "configId")


def test_refused_without_a_valid_subscription_token(gateway: Gateway) -> None:
    assert gateway.client.post(REGISTER, json=registration()).status_code == 401
    signed_in = gateway.client.post(REGISTER, json=registration(), headers=gateway.bearer("alice"))
    assert signed_in.status_code == 401
    token = gateway.subscription_token("alice")
    tokens = gateway.client.get("/cdr/v1/subscription-tokens", headers=gateway.bearer("alice"))
    (token_id,) = [t["id"] for t in tokens.json()]
    revoked = gateway.client.delete(
        f"/cdr/v1/subscription-tokens/{token_id}", headers=gateway.bearer("alice")
    )
    assert revoked.status_code == 204
    assert register(gateway, token).status_code == 401
    assert listed(gateway) == []


def test_registrations_are_validated(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    for changes, field in (
        ({"clientId": "not-a-guid"}, "clientId"),
        ({"tenantId": "x"}, "tenantId"),
        ({"subscriptionId": "{" + SUB + "}"}, "subscriptionId"),
        ({"regions": ["atlantis"]}, "regions[0]"),
        ({"regions": []}, "regions"),
        ({"configId": str(uuid.uuid4())}, "configId"),
        ({"clientSecret": ""}, "clientSecret"),
        ({"clientSecret": "s3cret" * 200}, "clientSecret"),
    ):
        response = register(gateway, token, **changes)
        assert response.status_code == 422, changes
        assert response.json()["error"]["field"] == field, changes
        assert "s3cret" not in response.text


def test_last_data_seen_comes_from_the_flows_of_the_subscription(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    register(gateway, token)
    other = str(uuid.uuid4())
    register(gateway, token, clientId=other, subscriptionId=str(uuid.uuid4()))
    body = blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})])
    assert send(gateway, token, body, "block-1").status_code == 202
    gateway.client.app.state.services.flows.flush()  # type: ignore[attr-defined]
    by_client = {c["clientId"]: c for c in listed(gateway)}
    assert by_client[CLIENT]["status"] == "receiving"
    assert by_client[CLIENT]["lastDataAt"] is not None
    assert by_client[other]["status"] == "waiting"


def test_deregistration_by_the_token_or_an_admin(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    register(gateway, token)
    other = str(uuid.uuid4())
    register(gateway, token, clientId=other)
    url = f"{CONNECTORS}/{CLIENT}"
    assert gateway.client.delete(url).status_code == 401
    assert gateway.client.delete(url, headers=gateway.bearer("amy")).status_code == 403
    assert gateway.client.delete(url, headers=gateway.bearer("bob")).status_code == 404
    bobs_token = gateway.subscription_token("bob")
    assert gateway.client.delete(url, headers=bearer(bobs_token)).status_code == 404
    assert gateway.client.delete(url, headers=bearer(token)).status_code == 204  # destroy
    assert gateway.client.delete(url, headers=bearer(token)).status_code == 404
    admin = gateway.client.delete(f"{CONNECTORS}/{other}", headers=gateway.bearer("alice"))
    assert admin.status_code == 204
    assert listed(gateway) == []
    entries = gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("alice")).json()
    actions = [(e["action"], e["target"]) for e in entries]
    assert ("connector.register", CLIENT) in actions
    assert ("connector.deregister", CLIENT) in actions
    assert ("connector.deregister", other) in actions
