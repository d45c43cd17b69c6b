"""Two gateways on one control database (in one process here; tests/integration runs two
processes on PostgreSQL): what one does, the other sees, and detection runs under a lease."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from flowcdr.api.app import create_app
from flowcdr.api.detection import detect_holding, lease_name
from flowcdr.api.inventory import sync_if_due
from flowcdr.api.services import Services
from flowcdr.config import Settings
from flowcdr.store.lease import Lease

from .conftest import PASSWORD, Gateway, seed
from .test_findings import RULE, scan_detected
from .test_flowlogs import connection

JWT_KEY = "k" * 40
ENCRYPTION_KEY = "Vx2bJ0lQpG0wH3o6b3m4z1V7h9Fh1e0YQ3Y8bU3cJ5s="  # a Fernet key: 32 bytes, base64


@pytest.fixture
def pair(tmp_path: Path, database_url: str | None, password_hash: str) -> Iterator[list[Gateway]]:
    """Gateways a and b: own data dirs (own flow stores), one control database, shared keys."""
    url = database_url or f"sqlite:///{tmp_path / 'control.db'}"
    settings = [
        Settings(
            data_dir=tmp_path / name,
            database_url=url,
            jwt_key=SecretStr(JWT_KEY),
            encryption_key=SecretStr(ENCRYPTION_KEY),
            retention_days=3650,
        )
        for name in ("a", "b")
    ]
    seed(settings[0], password_hash)
    with TestClient(create_app(settings[0])) as a, TestClient(create_app(settings[1])) as b:
        yield [Gateway(a, settings[0]), Gateway(b, settings[1])]


def services(gateway: Gateway) -> Services:
    found: Services = gateway.client.app.state.services  # type: ignore[attr-defined]
    return found


def test_what_one_gateway_does_the_other_sees(pair: list[Gateway]) -> None:
    a, b = pair
    token = a.sign_in("alice")  # signed by a, accepted by b
    at_b = {"Authorization": f"Bearer {token}"}
    config = {
        "deploymentName": "azure-shared",
        "subscriptionId": "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
        "buckets": [
            {
                "storageAccount": "flowlogseast01",
                "region": "eastus",
                "connectionString": connection("flowlogseast01"),
            }
        ],
    }
    created = b.client.post("/cdr/v1/azure/flowlogs", json=config, headers=at_b)
    assert created.status_code == 201, created.text
    listed = a.client.get("/cdr/v1/azure/flowlogs", headers=a.bearer("amy")).json()
    assert [c["id"] for c in listed] == [created.json()["id"]]  # b encrypted, a decrypted
    again = a.client.post("/cdr/v1/azure/flowlogs", json=config, headers=at_b)
    assert again.status_code == 409  # the name is unique across gateways

    subscription = a.subscription_token("alice")
    revoked_id = b.client.get("/cdr/v1/subscription-tokens", headers=at_b).json()[0]["id"]
    scan_detected(a)  # a's flows, a's detection pass
    found = b.client.get("/cdr/v1/findings", params={"rule": RULE.id}, headers=at_b).json()
    (item,) = found["items"]
    triaged = b.client.patch(
        f"/cdr/v1/findings/{item['id']}", json={"status": "acknowledged"}, headers=at_b
    )
    assert triaged.status_code == 200, triaged.text
    seen = a.client.get(f"/cdr/v1/findings/{item['id']}", headers=a.bearer("amy")).json()
    assert (seen["status"], seen["status_by"]) == ("acknowledged", "alice")

    revoke = a.client.delete(f"/cdr/v1/subscription-tokens/{revoked_id}", headers=at_b)
    assert revoke.status_code == 204, revoke.text
    refused = b.client.post(
        "/cdr/v1/ingest",
        content=b"",
        headers={"Authorization": f"Bearer {subscription}", "Idempotency-Key": "k1"},
    )
    assert refused.status_code == 401  # revoked at a, refused at b

    audit = b.client.get("/cdr/v1/audit", headers=at_b).json()
    actions = [entry["action"] for entry in audit]
    assert "flowlog_config.create" in actions
    assert "finding.acknowledged" in actions
    assert "subscription_token.issue" in actions


def test_gateways_sharing_a_flow_store_take_turns_to_detect(pair: list[Gateway]) -> None:
    """Under one lease name (as gateways on one ClickHouse server have), a pass runs in one
    gateway only; the other's turn comes when the holder hands the lease over."""
    a, b = (services(g) for g in pair)
    lease_a = Lease(a.store, "detection", "gateway-a", 60)
    lease_b = Lease(b.store, "detection", "gateway-b", 60)
    assert asyncio.run(detect_holding(a, lease_a)) is not None
    assert asyncio.run(detect_holding(b, lease_b)) is None
    assert asyncio.run(detect_holding(a, lease_a)) is not None  # the holder goes on
    lease_a.release()  # a stopping
    assert asyncio.run(detect_holding(b, lease_b)) is not None
    assert asyncio.run(detect_holding(a, lease_a)) is None


def test_embedded_flow_stores_have_a_lease_each(pair: list[Gateway]) -> None:
    """Each gateway's DuckDB store is its own: each detects over its own flows."""
    a, b = (g.settings for g in pair)
    assert lease_name(a) != lease_name(b)
    assert lease_name(a).startswith("detection:")
    assert str(a.data_dir.resolve()) in lease_name(a)


def test_gateways_of_one_clickhouse_server_or_cluster_share_a_lease(tmp_path: Path) -> None:
    def named(name: str, url: str | None, database: str = "flowcdr", cluster: str | None = None):
        return lease_name(
            Settings(
                data_dir=tmp_path / name,
                flows_backend="clickhouse",
                clickhouse_url=url,
                clickhouse_database=database,
                clickhouse_cluster=cluster,
            )
        )

    server = "https://ch.internal:8443"
    assert named("a", server) == named("b", server)
    assert named("a", server) == "detection:clickhouse:ch.internal:8443/flowcdr"
    assert named("a", server) != named("a", server, database="other")
    # A cluster's nodes are different addresses of one store.
    node1 = named("a", "https://ch-1:8443", cluster="flows")
    assert node1 == named("b", "https://ch-2:8443", cluster="flows")
    assert node1 == "detection:clickhouse-cluster:flows/flowcdr"
    # chDB in the process (no server) is as embedded as DuckDB.
    assert named("a", None) != named("b", None)


def test_one_gateway_keeps_the_inventory_schedule(pair: list[Gateway]) -> None:
    """The inventory is the control database's, shared by all: one gateway syncs it and keeps
    the lease between syncs; another takes the schedule over when it is handed back."""
    a, b = (services(g) for g in pair)
    lease_a = Lease(a.store, "inventory-sync", "gateway-a", 300)
    lease_b = Lease(b.store, "inventory-sync", "gateway-b", 300)
    now = time.monotonic()
    assert asyncio.run(sync_if_due(a, lease_a, due=now))
    assert not asyncio.run(sync_if_due(b, lease_b, due=now))
    assert not asyncio.run(sync_if_due(a, lease_a, due=now + 3600))  # not due: held, idle
    assert lease_b.current() == "gateway-a"
    lease_a.release()
    assert asyncio.run(sync_if_due(b, lease_b, due=now))
    assert lease_a.current() == "gateway-b"


def test_failed_sign_ins_count_across_gateways(
    pair: list[Gateway], database_url: str | None
) -> None:
    """On PostgreSQL the gateways share the count: failures at a throttle the username at b,
    and a success clears it for both. (One SQLite file has one gateway: it counts alone.)"""
    a, b = pair
    limit = a.settings.login_failures
    for _ in range(limit):
        bad = {"username": "amy", "password": "wrong", "token": "true"}
        assert a.client.post("/auth", data=bad).status_code == 401
    good = {"username": "amy", "password": PASSWORD, "token": "true"}
    at_b = b.client.post("/auth", data=good)
    if database_url is None:
        assert at_b.status_code == 200
        return
    assert at_b.status_code == 429
    assert 0 < int(at_b.headers["Retry-After"]) <= a.settings.login_window_seconds
    services(a).throttle.succeed("user:amy")  # as a sign-in that got through would
    services(a).throttle.succeed("client:testclient")
    assert b.client.post("/auth", data=good).status_code == 200
