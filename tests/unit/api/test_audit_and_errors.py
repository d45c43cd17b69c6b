"""The audit trail, the error shape, the health check and the OpenAPI document."""

from .conftest import Gateway
from .test_flowlogs import config


def test_audit_records_who_did_what_from_where(gateway: Gateway) -> None:
    gateway.client.post("/auth", data={"username": "alice", "password": "x", "token": "true"})
    headers = gateway.bearer("alice")
    created = gateway.client.post("/cdr/v1/azure/flowlogs", json=config(), headers=headers).json()
    gateway.client.delete(f"/cdr/v1/azure/flowlogs/{created['id']}", headers=headers)
    gateway.subscription_token("alice")
    entries = gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("alice")).json()
    actions = [(e["action"], e["outcome"]) for e in reversed(entries)]
    assert actions[:6] == [
        ("sign_in", "denied"),
        ("sign_in", "ok"),
        ("flowlog_config.create", "ok"),
        ("flowlog_config.delete", "ok"),
        ("sign_in", "ok"),
        ("subscription_token.issue", "ok"),
    ]
    assert all(e["actor"] == "alice" for e in entries)
    assert all(e["client"] for e in entries)
    assert entries[0]["id"] > entries[-1]["id"]
    older = gateway.client.get(
        f"/cdr/v1/audit?before={entries[0]['id']}&limit=2", headers=gateway.bearer("alice")
    ).json()
    assert [e["id"] for e in older] == [entries[1]["id"], entries[2]["id"]]


def test_analysts_cannot_read_the_audit_log(gateway: Gateway) -> None:
    assert gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("amy")).status_code == 403


def test_errors_have_one_shape(gateway: Gateway) -> None:
    for response in (
        gateway.client.get("/no/such/path"),
        gateway.client.get("/cdr/v1/azure/flowlogs"),
        gateway.client.get("/cdr/v1/audit?limit=0", headers=gateway.bearer("alice")),
        gateway.client.put("/healthz"),
    ):
        error = response.json()["error"]
        assert set(error) <= {"code", "message", "field"}
        assert error["code"]
        assert error["message"]
        assert "Traceback" not in response.text


def test_health_and_openapi(gateway: Gateway) -> None:
    assert gateway.client.get("/healthz").json() == {"status": "ok"}
    spec = gateway.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/auth",
        "/qas/subscription-token",
        "/cdr/v1/subscription-tokens",
        "/cdr/v1/subscription-tokens/{token_id}",
        "/cdr/v1/azure/flowlogs",
        "/cdr/v1/azure/flowlogs/{config_id}",
        "/cdr/v1/audit",
        "/healthz",
    ):
        assert path in paths, path
    form = paths["/auth"]["post"]["requestBody"]["content"]
    assert set(form["application/x-www-form-urlencoded"]["schema"]["required"]) == {
        "username",
        "password",
        "token",
    }
    assert "text/plain" in paths["/auth"]["post"]["responses"]["200"]["content"]
