"""The inventory through the gateway: a sync on demand (admins), the scheduled sync, what the
API shows per tenant, and the posture audit run after each sync. The gateway's real SDK clients
read the local ARM (``fake_arm``) over TLS; only Azure AD is replaced, by a static token."""

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from fastapi.testclient import TestClient

from flowcdr.api.app import create_app
from flowcdr.auth.passwords import hash_password
from flowcdr.config import Settings
from flowcdr.inventory.model import KINDS
from flowcdr.store.control import ControlStore

from .fake_arm import DENIED, SUBSCRIPTION, TOKEN, FakeArm, serve

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
AZURE_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
SECRET = "Wq3~gateway.SECRET_for-inventory"
INVENTORY = "/cdr/v1/inventory"


class StaticCredential:
    def __init__(self, tenant: str, client: str, secret: str) -> None:
        assert (tenant, client, secret) == (AZURE_TENANT, CLIENT, SECRET)

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


class Gateway:
    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def bearer(self, username: str) -> dict[str, str]:
        response = self.client.post(
            "/auth", data={"username": username, "password": PASSWORD, "token": "true"}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.text}"}

    def register(self, username: str, subscription: str, **extra: Any) -> None:
        issued = self.client.post(
            "/qas/subscription-token", json={"expiry": 60}, headers=self.bearer(username)
        )
        token = issued.json()["subscriptionToken"]
        body = {"tenantId": AZURE_TENANT, "clientId": CLIENT, "subscriptionId": subscription,
                "regions": ["eastus"], **extra}  # fmt: skip
        response = self.client.post(
            "/cdr/v1/azure/connectors/register",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text

    def get(self, path: str, username: str = "amy", **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=self.bearer(username))
        assert response.status_code == 200, response.text
        return response.json()


def start(tmp_path: Path, arm: FakeArm, every: int) -> tuple[TestClient, Settings]:
    settings = Settings(
        data_dir=tmp_path / "data",
        azure_arm_url=arm.base_url,
        azure_ca_bundle=arm.ca_file,
        inventory_sync_seconds=every,
        retention_days=3650,
    )
    store = ControlStore.open(settings)
    hashed = hash_password(PASSWORD)
    for username, tenant, role in (("alice", "contoso", "admin"), ("amy", "contoso", "analyst"),
                                   ("bob", "fabrikam", "admin")):  # fmt: skip
        store.add_user(username, tenant, role, hashed)
    store.close()
    app = create_app(settings)
    app.state.services.inventory_sync.credential_for = StaticCredential
    return TestClient(app), settings


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[FakeArm]:
    with serve(tmp_path) as server:
        yield server


@pytest.fixture
def gateway(tmp_path: Path, arm: FakeArm) -> Iterator[Gateway]:
    client, settings = start(tmp_path, arm, 0)
    with client:
        yield Gateway(client, settings)


def test_sync_on_demand_then_the_inventory_per_tenant(
    gateway: Gateway, arm: FakeArm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = gateway.client.post(f"{INVENTORY}/sync", headers=gateway.bearer("alice"))
    assert refused.status_code == 409  # no connector with a secret yet
    gateway.register("alice", SUBSCRIPTION, clientSecret=SECRET)
    assert (
        gateway.client.post(f"{INVENTORY}/sync", headers=gateway.bearer("amy")).status_code == 403
    )
    accepted = gateway.client.post(f"{INVENTORY}/sync", headers=gateway.bearer("alice"))
    assert accepted.status_code == 202
    assert accepted.json() == {"subscriptions": [SUBSCRIPTION]}
    (held,) = gateway.get(INVENTORY)["subscriptions"]  # the background sync is done by now
    assert held["subscriptionId"] == SUBSCRIPTION
    assert held["lastSyncAt"] is not None
    assert held["errors"] == []
    assert sum(held["counts"].values()) == 15
    page = gateway.get(f"{INVENTORY}/resources", kind="security_groups", limit=1)
    assert page["total"] == 2
    (nsg,) = page["items"]
    assert (nsg["name"], nsg["resourceGroup"]) == ("nsg-data", "rg-data")
    rules = {r["name"]: r for r in nsg["properties"]["rules"]}
    assert rules["AllowAnyRDP"]["source_prefixes"] == ["*"]
    second = gateway.get(f"{INVENTORY}/resources", kind="security_groups", limit=1, offset=1)
    assert second["items"][0]["name"] == "nsg-web"
    assert gateway.get(f"{INVENTORY}/resources")["total"] == 15
    wrong = gateway.client.get(
        f"{INVENTORY}/resources", params={"kind": "disks"}, headers=gateway.bearer("amy")
    )
    assert (wrong.status_code, wrong.json()["error"]["field"]) == (422, "kind")
    # Another tenant sees nothing of it.
    assert gateway.get(INVENTORY, "bob") == {"subscriptions": []}
    assert gateway.get(f"{INVENTORY}/resources", "bob") == {"total": 0, "items": []}
    assert gateway.get(f"{INVENTORY}/changes", "bob") == {"items": [], "next": None}
    # The posture audit ran on the sync: RDP open to the internet on nsg-data is a finding.
    rdp = gateway.get("/cdr/v1/findings", rule="posture.internet_management_port")["items"]
    assert rdp
    assert "AllowAnyRDP" in json.dumps(rdp)
    assert gateway.get("/cdr/v1/findings", "bob")["items"] == []
    # The secret is nowhere to be read.
    shown = gateway.client.get(
        "/cdr/v1/azure/connectors", headers=gateway.bearer("alice")
    ).text + str(gateway.get(f"{INVENTORY}/resources", limit=1000))
    assert SECRET not in shown + caplog.text
    stored = b"".join(p.read_bytes() for p in gateway.settings.data_dir.glob("control.db*"))
    assert SECRET.encode() not in stored


def test_changes_between_syncs_through_the_api(gateway: Gateway, arm: FakeArm) -> None:
    gateway.register("alice", SUBSCRIPTION, clientSecret=SECRET)
    admin = gateway.bearer("alice")
    assert gateway.client.post(f"{INVENTORY}/sync", headers=admin).status_code == 202
    body = arm.body("networkSecurityGroups.page2.json")
    rdp = body["value"][0]["properties"]["securityRules"][0]
    rdp["properties"]["destinationPortRange"] = "3000-4000"
    arm.replace("networkSecurityGroups.page2.json", body)
    assert gateway.client.post(f"{INVENTORY}/sync", headers=admin).status_code == 202
    (change,) = gateway.get(f"{INVENTORY}/changes")["items"]
    assert change["change"] == "rule_widened"
    assert change["summary"] == (
        "nsg-data: rule AllowAnyRDP widened: destination ports 3389 -> 3000-4000"
    )
    assert change["before"]["destination_ports"] == ["3389"]
    assert change["after"]["destination_ports"] == ["3000-4000"]
    entries = gateway.client.get("/cdr/v1/audit", headers=admin).json()
    assert sum(e["action"] == "inventory.sync" for e in entries) == 2


def test_the_scheduled_sync_reads_every_connector_and_survives_errors(
    tmp_path: Path, arm: FakeArm
) -> None:
    client, _ = start(tmp_path, arm, 1)
    with client:
        gateway = Gateway(client, client.app.state.services.settings)  # type: ignore[attr-defined]
        gateway.register("alice", DENIED, clientSecret=SECRET)  # every listing refused
        gateway.register("bob", SUBSCRIPTION, clientSecret=SECRET)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            contoso = gateway.get(INVENTORY, "amy")["subscriptions"]
            fabrikam = gateway.get(INVENTORY, "bob")["subscriptions"]
            if contoso and fabrikam:
                break
            time.sleep(0.2)
        (denied,) = contoso
        assert set(denied["failedKinds"]) == set(KINDS)
        assert denied["errors"][0].startswith("virtual_machines: HTTP 403 AuthorizationFailed")
        (synced,) = fabrikam
        assert synced["errors"] == []
        assert synced["counts"]["virtual_machines"] == 2
        assert client.get("/healthz").status_code == 200
