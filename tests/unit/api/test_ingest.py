"""POST /cdr/v1/ingest as a collector calls it: gzip fragments, idempotency keys, limits."""

import gzip
import json
import threading
import time
from typing import Any

import duckdb
import pytest

from flowcdr.store import flows as flow_store

from ..formats.builders import blob, fragment, nsg_record, vnet_record
from .conftest import Gateway

GOOD = "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"
DENY = "1542110402,94.102.49.190,10.5.16.4,28746,443,U,I,D,B,,,,"
BAD = GOOD.replace("443", "99999")
VNET = "1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0,0"


def send(gateway: Gateway, token: str, body: bytes, key: str, **headers: str) -> Any:
    return gateway.client.post(
        "/cdr/v1/ingest",
        content=gzip.compress(body),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Encoding": "gzip",
            "Idempotency-Key": key,
            "X-Flowcdr-Source": "acct/insights-logs-networksecuritygroupflowevent/x/PT1H.json",
            **headers,
        },
    )


def stored(gateway: Gateway, sql: str = "SELECT count(*) FROM flows") -> Any:
    gateway.client.app.state.services.flows.flush()  # type: ignore[attr-defined]
    reader = gateway.client.app.state.services.flows.reader()  # type: ignore[attr-defined]
    try:
        return reader.execute(sql).fetchall()
    finally:
        reader.close()


def test_a_fragment_is_parsed_enriched_and_stored(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    body = fragment(
        [nsg_record({"r": {"000D3AF87856": [GOOD, DENY]}}), vnet_record({"a": {"r": [VNET]}})]
    )
    response = send(gateway, token, body, "block-1", **{"X-Flowcdr-Connector": "conn-1"})
    assert response.status_code == 202, response.text
    assert response.json() == {"records": 2, "flows": 3, "rejected": 0, "skipped": 0}
    rows = stored(
        gateway,
        "SELECT src_ip, dst_scope, flow_type, connector_id, tenant_id IS NOT NULL, "
        "ingested_at >= time FROM flows ORDER BY time",
    )
    assert rows[0][:4] == ("10.5.16.4", "public", "external_public", "conn-1")
    assert all(r[4] and r[5] for r in rows)


def test_a_replayed_key_gets_the_first_answer_and_stores_nothing(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    body = blob([nsg_record({"r": {"000D3AF87856": [GOOD, BAD]}})])
    first = send(gateway, token, body, "block-7")
    assert (first.status_code, first.json()["rejected"]) == (202, 1)
    again = send(gateway, token, body, "block-7")
    assert (again.status_code, again.json()) == (200, first.json())
    assert stored(gateway) == [(1,)]
    other_tenant = send(gateway, gateway.subscription_token("bob"), body, "block-7")
    assert other_tenant.status_code == 202  # keys are per tenant
    assert stored(gateway) == [(2,)]
    assert stored(gateway, "SELECT sum(replays) FROM ingest_batches") == [(1,)]


def test_not_a_flow_log_is_422_and_the_key_stays_free(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    refused = send(gateway, token, b'{"records": [{"category": "Other"}]}', "block-9")
    assert refused.status_code == 422
    assert "not a flow log" in refused.json()["error"]["message"]
    assert stored(gateway) == [(0,)]
    fixed = send(gateway, token, blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})]), "block-9")
    assert fixed.status_code == 202


def test_only_subscription_tokens_may_ingest(gateway: Gateway) -> None:
    body = blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})])
    assert send(gateway, gateway.sign_in("alice"), body, "k").status_code == 401
    assert send(gateway, "not.a.token", body, "k").status_code == 401


def test_headers_and_encodings(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    body = blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})])
    no_key = gateway.client.post(
        "/cdr/v1/ingest",
        content=gzip.compress(body),
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )
    assert (no_key.status_code, no_key.json()["error"]["field"]) == (422, "idempotency-key")
    plain = gateway.client.post(
        "/cdr/v1/ingest",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "plain"},
    )
    assert plain.status_code == 202
    brotli = send(gateway, token, body, "k2", **{"Content-Encoding": "br"})
    assert brotli.status_code == 415
    broken = gateway.client.post(
        "/cdr/v1/ingest",
        content=gzip.compress(body)[:-20],
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Encoding": "gzip",
            "Idempotency-Key": "k3",
        },
    )
    assert broken.status_code == 400


@pytest.fixture
def small_limits(gateway: Gateway) -> Gateway:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    object.__setattr__(
        services,
        "settings",
        services.settings.model_copy(
            update={"ingest_max_compressed_bytes": 64 << 10, "ingest_max_bytes": 1 << 20}
        ),
    )
    return gateway


def test_a_gzip_bomb_is_refused_without_expanding_it(small_limits: Gateway) -> None:
    token = small_limits.subscription_token("alice")
    bomb = gzip.compress(b"0" * (200 << 20))  # 200 MB of zeros in about 200 KB
    response = small_limits.client.post(
        "/cdr/v1/ingest",
        content=bomb[: 60 << 10] if len(bomb) > 64 << 10 else bomb,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Encoding": "gzip",
            "Idempotency-Key": "b",
        },
    )
    assert response.status_code == 413
    assert "inflates to more than" in response.json()["error"]["message"]


def test_a_body_larger_than_the_cap_is_413(small_limits: Gateway) -> None:
    token = small_limits.subscription_token("alice")
    response = small_limits.client.post(
        "/cdr/v1/ingest",
        content=b"x" * (65 << 10),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "big"},
    )
    assert response.status_code == 413


def test_a_busy_writer_answers_503_with_retry_after(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flow_store, "MAX_WAITING_ROWS", 1)
    token = gateway.subscription_token("alice")
    store = gateway.client.app.state.services.flows  # type: ignore[attr-defined]
    release, started = threading.Event(), threading.Event()

    def stall(db: duckdb.DuckDBPyConnection) -> None:
        started.set()
        release.wait(10)

    blocker = threading.Thread(target=store._submit, args=(stall,))
    blocker.start()  # the merger is busy: acknowledged rows wait
    started.wait(5)
    body = blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})])
    assert send(gateway, token, body, "waits").status_code == 202
    busy = send(gateway, token, body, "busy-1")
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "1"
    release.set()
    blocker.join(10)
    store.flush()
    assert send(gateway, token, body, "busy-1").status_code == 202
    assert stored(gateway) == [(2,)]


def test_retention_deletes_old_flows(gateway: Gateway) -> None:
    import datetime as dt

    token = gateway.subscription_token("alice")
    send(gateway, token, blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})]), "old")
    store = gateway.client.app.state.services.flows  # type: ignore[attr-defined]
    assert store.delete_older_than(dt.datetime(2018, 1, 1, tzinfo=dt.UTC)) == 0
    assert store.delete_older_than(dt.datetime(2019, 1, 1, tzinfo=dt.UTC)) == 1
    assert stored(gateway) == [(0,)]


def test_source_health_per_connector_and_resource(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    body = blob([nsg_record({"r": {"000D3AF87856": [GOOD, BAD]}})])
    send(gateway, token, body, "h1", **{"X-Flowcdr-Connector": "c1"})
    send(gateway, token, body, "h1", **{"X-Flowcdr-Connector": "c1"})  # a replay
    send(gateway, token, blob([vnet_record({"a": {"r": [VNET]}})]), "h2")
    gateway.client.app.state.services.flows.flush()  # type: ignore[attr-defined]
    health = gateway.client.get("/cdr/v1/health/sources", headers=gateway.bearer("amy")).json()
    assert [(c["connector_id"], c["batches"], c["flows"], c["rejected"], c["replays"])
            for c in health["connectors"]] == [(None, 1, 1, 0, 0), ("c1", 1, 1, 1, 1)]  # fmt: skip
    resources = {r["resource_id"].rsplit("/", 1)[1]: r for r in health["resources"]}
    assert set(resources) == {"web-nsg", "prod-vnet"}
    assert resources["web-nsg"]["last_flow_at"].startswith("2018-11-13T11:59:39")
    assert resources["web-nsg"]["lag_seconds"] > 0
    other = gateway.client.get("/cdr/v1/health/sources", headers=gateway.bearer("bob")).json()
    assert other == {"connectors": [], "resources": []}


def test_retention_runs_when_the_gateway_starts(gateway: Gateway) -> None:
    from fastapi.testclient import TestClient

    from flowcdr.api.app import create_app

    token = gateway.subscription_token("alice")
    send(gateway, token, blob([nsg_record({"r": {"000D3AF87856": [GOOD]}})]), "old-flow")
    gateway.client.__exit__(None, None, None)  # stop the first gateway (closes its stores)
    thirty_days = gateway.settings.model_copy(update={"retention_days": 30})
    with TestClient(create_app(thirty_days)) as restarted:
        reader = restarted.app.state.services.flows.reader()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while reader.execute("SELECT count(*) FROM flows").fetchall() != [(0,)]:  # 2018 flow
            assert time.monotonic() < deadline, "retention did not run at start"
            time.sleep(0.05)
        reader.close()


def test_flows_are_matched_against_the_intel_folder_as_it_changes(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    folder = gateway.settings.intel_folder
    # Private ranges are stripped from lists: 10.5.16.0/24 can never make a flow malicious.
    (folder / "feodo.txt").write_text("# C2 servers\n13.67.143.0/24\n10.5.16.0/24\n")
    (folder / "broken.csv").write_text("ip,last_seen\nnot-an-ip,2026-01-01\n")  # left out
    body = blob([nsg_record({"r": {"000D3AF87856": [GOOD, DENY]}})])
    query = "SELECT src_ip, intel_match, flow_type FROM flows ORDER BY ingested_at, src_ip"
    assert send(gateway, token, body, "intel-1").status_code == 202
    assert stored(gateway, query) == [
        ("10.5.16.4", "feodo", "malicious"),  # its destination is listed
        ("94.102.49.190", None, "external_public"),
    ]
    (folder / "feodo.txt").write_text("94.102.49.190\n")  # replaced in place
    assert send(gateway, token, body, "intel-2").status_code == 202
    assert stored(gateway, query)[2:] == [
        ("10.5.16.4", None, "external_public"),
        ("94.102.49.190", "feodo", "malicious"),
    ]


def test_azure_service_addresses_are_azure_public_once_the_service_tags_file_is_there(
    gateway: Gateway,
) -> None:
    token = gateway.subscription_token("alice")
    body = fragment([vnet_record({"a": {"r": [VNET]}})])  # to 52.239.184.180, Azure Storage
    assert send(gateway, token, body, "before").status_code == 202
    settings = gateway.client.app.state.services.settings  # type: ignore[attr-defined]
    tags = {"cloud": "Public", "values": [
        {"name": "Storage", "properties": {"addressPrefixes": ["52.239.184.0/24"]}},
    ]}  # fmt: skip
    settings.service_tags_path.write_text(json.dumps(tags))
    assert send(gateway, token, body, "after").status_code == 202
    sql = "SELECT flow_type FROM flows ORDER BY ingested_at"
    assert stored(gateway, sql) == [("external_public",), ("azure_public",)]
