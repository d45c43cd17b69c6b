"""GET /cdr/v1/flows and /cdr/v1/insights/... as the portal and analysts call them.

The flows are the seeded rows of the store tests, admitted for the two tenants of the gateway
fixture; one test sends a fragment through /cdr/v1/ingest instead, end to end.
"""

import csv
import datetime as dt
import io
import ipaddress
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flowcdr.config import Settings
from flowcdr.store.flowquery import Dimension, FlowFilter, Measure, parse_network

from ..formats.builders import blob, nsg_record
from ..store.test_flowquery import (
    SPAN,
    T0,
    admit,
    bag,
    expected,
    flow_rows,
    matches,
    python_resources,
    python_top,
    volume,
)
from ..web.test_flow_names import inventory_of_the_seeded_nic
from .conftest import Gateway
from .test_ingest import DENY, GOOD, send

WINDOW = {"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T12:00:00Z"}


@dataclass
class Loaded:
    gateway: Gateway
    rows: list[dict[str, Any]]
    contoso: str
    fabrikam: str

    def get(self, user: str, path: str, **params: Any) -> Any:
        headers = params.pop("headers", {})
        return self.gateway.client.get(
            path, params=params, headers={**self.gateway.bearer(user), **headers}
        )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Retention long enough to keep the seeded flows (March 2026, and 2018 in the ingest
    test): the gateway applies it as it starts, which would race the test's inserts."""
    return Settings(data_dir=tmp_path / "data", retention_days=3650)


@pytest.fixture
def loaded(gateway: Gateway) -> Loaded:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    contoso, fabrikam = (services.store.user(name).tenant_id for name in ("alice", "bob"))
    mine, theirs = flow_rows(300, 1, contoso), flow_rows(100, 2, fabrikam)
    admit(services.flows, mine, "a")
    admit(services.flows, theirs, "b")
    return Loaded(gateway, [*mine, *theirs], contoso, fabrikam)


def window(**filters: Any) -> FlowFilter:
    return FlowFilter(T0, T0 + SPAN, **filters)


def pages(loaded: Loaded, user: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        more = {"cursor": cursor} if cursor else {}
        response = loaded.get(user, "/cdr/v1/flows", limit=limit, **params, **more)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        if body["next"] is None:
            return items
        cursor = body["next"]


def export(loaded: Loaded, user: str, media: str, **params: Any) -> Any:
    response = loaded.get(user, "/cdr/v1/flows", headers={"Accept": media}, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media.split(";", maxsplit=1)[0])
    return response


def as_text(item: dict[str, Any]) -> dict[str, str]:
    return {name: "" if value is None else str(value) for name, value in item.items()}


@pytest.mark.parametrize(
    ("params", "f"),
    [
        ({}, window()),
        ({"src": "10.0.0.0/8", "decision": "allow"}, window(
            src=parse_network("10.0.0.0/8", "src"), decision="allow")),
        ({"dst": "2001:DB8::/32", "src_country": "de"}, window(
            dst=parse_network("2001:db8::/32", "dst"), src_country="DE")),
    ],
)  # fmt: skip
def test_pages_csv_and_ndjson_give_the_same_flows(
    loaded: Loaded, params: dict[str, str], f: FlowFilter
) -> None:
    paged = pages(loaded, "amy", 37, **WINDOW, **params)  # an analyst may query
    assert bag(paged) == bag(expected(loaded.rows, f, loaded.contoso))
    assert paged
    assert paged[0]["time"].endswith("Z")
    assert "tenant_id" not in paged[0]

    text = export(loaded, "amy", "text/csv", **WINDOW, **params, limit=1).text
    assert list(csv.DictReader(io.StringIO(text))) == [as_text(item) for item in paged]
    lines = export(loaded, "amy", "application/x-ndjson", **WINDOW, **params).text
    assert lines.endswith("\n")
    assert [json.loads(line) for line in lines.splitlines()] == paged


def test_an_empty_export_is_a_csv_header_or_nothing(loaded: Loaded) -> None:
    params = {**WINDOW, "rule": "NoSuchRule"}
    text = export(loaded, "alice", "text/csv; q=0.9", **params).text
    assert text.splitlines() == [text.splitlines()[0]]
    assert text.startswith('"time","log_type"')
    assert export(loaded, "alice", "application/x-ndjson", **params).content == b""


def test_json_unless_an_export_type_comes_first(loaded: Loaded) -> None:
    for accept in ("application/json, text/csv", "*/*", "text/html"):
        response = loaded.get("alice", "/cdr/v1/flows", headers={"Accept": accept}, **WINDOW)
        assert response.headers["content-type"] == "application/json"


def test_a_tenant_sees_only_its_own_flows(loaded: Loaded) -> None:
    for user in ("bob", "bea"):
        assert bag(pages(loaded, user, 1000, **WINDOW)) == bag(
            expected(loaded.rows, window(), loaded.fabrikam)
        )
    text = export(loaded, "bob", "application/x-ndjson", **WINDOW).text
    assert len(text.splitlines()) == len(expected(loaded.rows, window(), loaded.fabrikam))
    series = loaded.get("bob", "/cdr/v1/insights/timeseries", **WINDOW).json()
    assert sum(p["flows"] for p in series["points"]) == len(text.splitlines())
    # A cursor from contoso's walk does not open contoso's flows to fabrikam.
    cursor = loaded.get("alice", "/cdr/v1/flows", limit=5, **WINDOW).json()["next"]
    theirs = loaded.get("bob", "/cdr/v1/flows", cursor=cursor, limit=1000, **WINDOW).json()
    assert bag(theirs["items"]) <= bag(expected(loaded.rows, window(), loaded.fabrikam))


def test_sign_in_is_required(loaded: Loaded) -> None:
    for path in ("/cdr/v1/flows", "/cdr/v1/insights/timeseries", "/cdr/v1/insights/resources"):
        assert loaded.gateway.client.get(path).status_code == 401
    token = loaded.gateway.subscription_token("alice")
    response = loaded.gateway.client.get(
        "/cdr/v1/flows", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


def test_ingested_flows_can_be_queried(gateway: Gateway) -> None:
    token = gateway.subscription_token("alice")
    response = send(gateway, token, blob([nsg_record({"r": {"000D3AF87856": [GOOD, DENY]}})]), "k")
    assert response.status_code == 202, response.text
    headers = gateway.bearer("amy")
    day = {"start": "2018-11-13T00:00:00", "end": "2018-11-14T00:00:00"}  # no zone: UTC
    deadline = time.monotonic() + 10 * gateway.settings.ingest_merge_seconds
    while True:  # acknowledged flows become queryable once merged, within ingest_merge_seconds
        body = gateway.client.get("/cdr/v1/flows", params=day, headers=headers).json()
        if body["items"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [(f["time"], f["src_ip"], f["decision"]) for f in body["items"]] == [
        ("2018-11-13T12:00:02.000000Z", "94.102.49.190", "deny"),
        ("2018-11-13T11:59:39.000000Z", "10.5.16.4", "allow"),
    ]
    assert body["items"][1]["src_bytes"] == 66
    assert body["items"][0]["src_bytes"] is None
    denied = gateway.client.get(
        "/cdr/v1/insights/top/denied-sources", params=day, headers=headers
    ).json()
    assert denied["items"] == [{"value": "94.102.49.190", "flows": 1, "bytes": 0}]
    other = gateway.client.get("/cdr/v1/flows", params=day, headers=gateway.bearer("bob"))
    assert other.json() == {"items": [], "next": None}


def test_the_default_window_is_the_last_hour(loaded: Loaded) -> None:
    now = dt.datetime.now(dt.UTC)
    recent = [
        dict(loaded.rows[0], time=now - dt.timedelta(minutes=10)),
        dict(loaded.rows[0], time=now - dt.timedelta(minutes=70)),
    ]
    services = loaded.gateway.client.app.state.services  # type: ignore[attr-defined]
    admit(services.flows, recent, "recent")
    items = loaded.get("alice", "/cdr/v1/flows").json()["items"]
    assert [item["time"][:16] for item in items] == [recent[0]["time"].isoformat()[:16]]
    series = loaded.get("alice", "/cdr/v1/insights/timeseries").json()
    assert series["bucket_seconds"] == 60
    assert sum(p["flows"] for p in series["points"]) == 1


def test_timeseries_counts_what_python_counts(loaded: Loaded) -> None:
    body = loaded.get("alice", "/cdr/v1/insights/timeseries", **WINDOW, direction="inbound").json()
    rows = [row for row in loaded.rows if matches(row, window(direction="inbound"), loaded.contoso)]
    assert body["bucket_seconds"] == 300
    assert len(body["points"]) == 24
    assert body["points"][0]["time"] == "2026-03-01T10:00:00Z"
    totals = {key: sum(p[key] for p in body["points"]) for key in ("flows", "bytes")}
    assert totals == {"flows": len(rows), "bytes": sum(volume(row) for row in rows)}
    assert sum(p["denied"] for p in body["points"]) == sum(r["decision"] == "deny" for r in rows)
    assert all(p["allowed"] + p["denied"] == p["flows"] for p in body["points"])


@pytest.mark.parametrize("dimension", list(Dimension))
@pytest.mark.parametrize("by", ["flows", "bytes"])
def test_top_lists_match_python(loaded: Loaded, dimension: Dimension, by: Measure) -> None:
    path = f"/cdr/v1/insights/top/{dimension}"
    body = loaded.get("bea", path, **WINDOW, by=by, limit=5, decision="allow").json()
    want = python_top(loaded.rows, window(decision="allow"), dimension, by, loaded.fabrikam)
    assert body["dimension"] == dimension
    assert body["by"] == by
    expected_items = [
        {k: v for k, v in vars(item).items() if v is not None or k != "protocol"}
        for item in want[:5]
    ]
    assert body["items"] == expected_items


def test_resources_match_python(loaded: Loaded) -> None:
    body = loaded.get("alice", "/cdr/v1/insights/resources", **WINDOW, src="::/0").json()
    want = python_resources(loaded.rows, window(src=parse_network("::/0", "src")), loaded.contoso)
    assert body["items"] == [vars(item) for item in want]
    assert body["items"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/cdr/v1/flows", {"src": "10.0.0.0/33"}, "src"),
        ("/cdr/v1/flows", {"dst": "not-an-address"}, "dst"),
        ("/cdr/v1/flows", {"src": "fe80::1%eth0"}, "src"),
        ("/cdr/v1/flows", {"direction": "sideways"}, "direction"),
        ("/cdr/v1/flows", {"src_scope": "moon"}, "src_scope"),
        ("/cdr/v1/flows", {"flow_type": "weird"}, "flow_type"),
        ("/cdr/v1/flows", {"dst_port": "70000"}, "dst_port"),
        ("/cdr/v1/flows", {"protocol": "tcp"}, "protocol"),
        ("/cdr/v1/flows", {"limit": "0"}, "limit"),
        ("/cdr/v1/flows", {"limit": "1001"}, "limit"),
        ("/cdr/v1/flows", {"cursor": "not-a-cursor"}, "cursor"),
        ("/cdr/v1/flows", {"start": "yesterday"}, "start"),
        ("/cdr/v1/flows", {"start": "2026-03-01T12:00:00Z", "end": "2026-03-01T10:00Z"}, "end"),
        ("/cdr/v1/insights/timeseries", {"src": "1.2.3"}, "src"),
        ("/cdr/v1/insights/top/planets", {}, "dimension"),
        ("/cdr/v1/insights/top/talkers", {"by": "packets"}, "by"),
        ("/cdr/v1/insights/top/ports", {"limit": "101"}, "limit"),
        ("/cdr/v1/insights/resources", {"decision": "maybe"}, "decision"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    loaded: Loaded, path: str, params: dict[str, str], field: str
) -> None:
    response = loaded.get("amy", path, **params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid", field)
    assert error["message"]


def test_the_openapi_document_describes_the_query_api(gateway: Gateway) -> None:
    spec = gateway.client.get("/openapi.json").json()
    flows = spec["paths"]["/cdr/v1/flows"]["get"]
    params = {p["name"]: p for p in flows["parameters"]}
    assert {"src", "dst", "cursor", "limit", "flow_type"} <= set(params)
    assert params["direction"]["schema"]["enum"] == ["inbound", "outbound"]
    assert {"text/csv", "application/x-ndjson"} <= set(flows["responses"]["200"]["content"])
    for path in ("timeseries", "top/{dimension}", "resources"):
        assert f"/cdr/v1/insights/{path}" in spec["paths"]


def test_vm_narrows_to_its_addresses_from_the_callers_inventory(loaded: Loaded) -> None:
    services = loaded.gateway.client.app.state.services  # type: ignore[attr-defined]
    services.inventory.record(loaded.contoso, inventory_of_the_seeded_nic())  # web-01: 10.0.0.4
    f = window(hosts=(ipaddress.ip_address("10.0.0.4"),))
    want = expected(loaded.rows, f, loaded.contoso)
    assert 0 < len(want) < len(expected(loaded.rows, window(), loaded.contoso))
    assert bag(pages(loaded, "amy", 100, **WINDOW, vm="web-01")) == bag(want)

    theirs = loaded.get("bob", "/cdr/v1/flows", **WINDOW, vm="web-01")  # not in bob's inventory
    assert theirs.status_code == 422
    assert theirs.json()["error"]["field"] == "vm"
