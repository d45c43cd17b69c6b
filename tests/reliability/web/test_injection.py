"""Injection, escaping, CSRF and security headers of the API and the portal.

Hostile text (SQL metacharacters, HTML and script) goes in through every filter the query API
and the portal pages take, and through the data itself: rule names and resource ids of stored
flows, which end up in finding evidence. Nothing may fail (5xx), match more than it should, or
reach a page unescaped. Every mutating portal form refuses a missing or wrong CSRF token and a
foreign origin; every portal page carries the security headers. File names built from outside
input (dead letters, the Terraform zip) stay inside their folder.
"""

import datetime as dt
import io
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from flowcdr.api.detection import detect_once
from flowcdr.collect.deadletter import DeadLetter, FolderDeadLetters
from flowcdr.collect.keys import part_key
from flowcdr.enrich import enrich, stamp
from flowcdr.store.flows import Batch
from flowcdr.web import portal as portal_module

from ...unit.api.conftest import Gateway
from ...unit.api.test_findings import CASE, RULE
from ...unit.api.test_flowlogs import config
from ...unit.web.conftest import WINDOW, Portal

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQL = ["' OR '1'='1", "x'); DROP TABLE flows; --", '" OR ""="', "%' --", "\\'; SELECT 1; --"]
HOSTILE = [*SQL, SCRIPT, "{{7*7}}", "\u202e\x00"]
TEMPLATES = Path(portal_module.__file__).with_name("templates")
# Query parameters of the flow filter (API and portal) that take free text.
TEXT_FILTERS = [
    *("src", "dst", "rule", "resource_id", "subscription_id", "src_country", "dst_country"),
    *("direction", "decision", "state", "src_scope", "flow_type"),
]
EXPECTED_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def portal_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the portal router, its included routers too."""
    found: list[tuple[str, str]] = []

    def walk(router: Any, prefix: str) -> None:
        for route in router.routes:
            if hasattr(route, "methods"):
                found.extend((method, prefix + route.path) for method in route.methods)
            else:
                sub = getattr(route, "original_router", None)
                context = getattr(route, "include_context", None)
                walk(sub, prefix + (context.prefix if context else ""))

    walk(portal_module.router, "")
    return sorted(set(found))


def flows_count(portal: Portal) -> int:
    services = portal.gateway.client.app.state.services  # type: ignore[attr-defined]
    reader = services.flows.reader()
    try:
        (count,) = reader.execute("SELECT count(*) FROM flows").fetchone()
    finally:
        reader.close()
    return int(count)


def test_sql_metacharacters_in_every_filter_are_values_not_sql(portal: Portal) -> None:
    before = flows_count(portal)
    bearer = portal.gateway.bearer("alice")
    client = portal.client
    api = ["/cdr/v1/flows", "/cdr/v1/insights/timeseries", "/cdr/v1/insights/top/talkers",
           "/cdr/v1/insights/resources"]  # fmt: skip
    failed = []
    for text in SQL:
        for name in TEXT_FILTERS:
            params = {"start": "2026-03-01T09:00:00Z", "end": "2026-03-01T13:00:00Z", name: text}
            for path in api:
                response = client.get(path, params=params, headers=bearer)
                if response.status_code >= 500:
                    failed.append(f"{path}?{name}={text!r}: {response.status_code}")
                elif path == "/cdr/v1/flows" and response.is_success and response.json()["items"]:
                    failed.append(f"{path}?{name}={text!r} matched flows")  # none has that name
        for params in ({"rule": text}, {"ip": text}, {"cursor": text}):
            response = client.get("/cdr/v1/findings", params=params, headers=bearer)
            if response.status_code >= 500 or (response.is_success and response.json()["items"]):
                failed.append(f"findings?{params}: {response.status_code}")
    portal.as_user("alice")
    for text in SQL:
        for name in TEXT_FILTERS:
            for path in ("/portal/flows", "/portal/findings", "/portal/"):
                response = client.get(path, params={**WINDOW, name: text})
                if response.status_code >= 500:
                    failed.append(f"{path}?{name}={text!r}: {response.status_code}")
    assert failed == [], "\n".join(failed)
    assert flows_count(portal) == before


def hostile_flows(portal: Portal) -> None:
    """The detection case's flows with the script in their rule name and resource id."""
    services = portal.gateway.client.app.state.services  # type: ignore[attr-defined]
    table = CASE.table()
    for column, value in (("rule", SCRIPT), ("resource_id", f"/subscriptions/x/{SCRIPT}")):
        index = table.schema.get_field_index(column)
        field = table.schema.field(index)
        table = table.set_column(index, field, pa.array([value] * table.num_rows, field.type))
    stored = stamp(enrich(table), portal.tenant_id, SCRIPT)
    services.flows.admit(Batch(portal.tenant_id, "xss", stored, {"flows": 1}, "test"))
    services.flows.flush()
    assert detect_once(services).findings >= 1


def test_hostile_names_in_flows_and_findings_are_escaped_on_every_page(gateway: Gateway) -> None:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    portal = Portal(gateway, services.store.user("alice").tenant_id)
    hostile_flows(portal)
    client = portal.as_user("alice")
    listed = client.get("/cdr/v1/findings", headers=portal.gateway.bearer("alice")).json()
    finding = next(item for item in listed["items"] if item["rule_id"] == RULE.id)
    start = CASE.table().column("time")[0].as_py()
    span = {"range": "custom", "start": f"{start - dt.timedelta(hours=1):%Y-%m-%dT%H:%M}",
            "end": f"{start + dt.timedelta(hours=2):%Y-%m-%dT%H:%M}"}  # fmt: skip
    pages = {
        "flows": client.get("/portal/flows", params=span),
        "flows by rule": client.get("/portal/flows", params={**span, "rule": SCRIPT}),
        "findings": client.get("/portal/findings", params={"rule": SCRIPT}),
        "finding": client.get(f"/portal/findings/{finding['id']}"),
        "dashboard": client.get("/portal/", params=span),
        "resources panel": client.get("/portal/panels/resources", params=span),
        "rules panel": client.get("/portal/panels/top/rules", params=span),
        "health": client.get("/portal/health"),
        "unknown finding": client.get(f"/portal/findings/{SCRIPT}"),
    }
    shown = []
    for name, page in pages.items():
        assert page.status_code < 500, (name, page.status_code)
        assert "<script>alert" not in page.text, name
        assert "onerror=alert" not in page.text.replace("onerror=alert(1)&gt;", ""), name
        if "&lt;script&gt;alert" in page.text or "\\u003cscript\\u003e" in page.text:
            shown.append(name)
    assert {"flows", "flows by rule", "finding"} <= set(shown)  # shown, escaped


def test_templates_have_no_inline_script_or_event_handler() -> None:
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template.name}: {tag}")
        offenders += [f"{template.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
        offenders += [f"{template.name}: {m}" for m in re.findall(r"\|\s*safe\b", text)]
        offenders += [f"{template.name}: {m}" for m in re.findall(r"javascript:", text)]
    assert offenders == []


def test_every_mutating_portal_form_needs_csrf_and_the_origin(portal: Portal) -> None:
    posts = [path for method, path in portal_routes() if method == "POST"]
    assert len(posts) >= 10
    served = []
    for path in posts:
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        if path == "/portal/sign-in":
            form = {"username": "alice", "password": "x", "next": "/"}
            foreign = {"Origin": "https://evil.example"}
            refused = portal.client.post(url, data=form, headers=foreign)
            if refused.status_code != 403:
                served.append(f"{path} from a foreign origin: {refused.status_code}")
            continue
        client = portal.as_user("alice")  # again: a sign-out that got through would end it
        token = portal.csrf("/portal/settings")
        attempts = {
            "no token": ({}, {}),
            "a wrong token": ({"csrf_token": "0" * 64}, {}),
            "a foreign origin": ({"csrf_token": token}, {"Origin": "https://evil.example"}),
        }
        for name, (form, headers) in attempts.items():
            response = client.post(url, data=form, headers=headers, follow_redirects=False)
            if response.status_code != 403:
                served.append(f"{path} with {name}: {response.status_code}")
    assert served == [], "\n".join(served)


def test_every_portal_page_carries_the_security_headers(portal: Portal) -> None:
    client = portal.client
    unsigned = {"/", "/portal/sign-in"}
    missing = []
    pages = [path for method, path in portal_routes() if method == "GET"]
    for signed_in in (False, True):
        if signed_in:
            portal.as_user("alice")
        for path in pages:
            url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path).replace(
                "/static/" + str(uuid.uuid4()), "/static/portal.css"
            )
            response = client.get(url, follow_redirects=False)
            if (
                response.status_code in (301, 302, 303, 307)
                and not signed_in
                and path not in unsigned
            ):
                continue  # to the sign-in page, which is checked itself
            headers = {name.lower(): value for name, value in response.headers.items()}
            for name, value in EXPECTED_HEADERS.items():
                if headers.get(name) != value:
                    missing.append(f"{url} ({response.status_code}): {name}={headers.get(name)}")
            if "text/html" in headers.get("content-type", ""):
                policy = headers.get("content-security-policy", "")
                script = re.search(r"script-src ([^;]*)", policy)
                if (
                    not script
                    or "unsafe-inline" in script.group(1)
                    or "frame-ancestors 'none'" not in policy
                ):
                    missing.append(f"{url} ({response.status_code}): CSP {policy!r}")
    assert missing == [], "\n".join(missing)


def test_a_dead_letter_name_stays_in_its_folder_whatever_the_blob_name(tmp_path: Path) -> None:
    folder = FolderDeadLetters(tmp_path / "letters")
    for blob in ("../../../../etc/passwd", "/abs/path", "a/../../b", "..\\..\\win"):
        key = part_key(blob, "block", 0, 10, "1")
        folder.put(DeadLetter(key, blob, "block", 0, 10, "1", 422, "refused", 1, b"x"))
    written = [path.resolve() for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) == 4
    assert all((tmp_path / "letters").resolve() in path.parents for path in written)


@pytest.mark.parametrize("name", ["../../evil", "..\\evil", "/etc/passwd", SCRIPT])
def test_a_hostile_deployment_name_never_reaches_a_zip_path(portal: Portal, name: str) -> None:
    api = portal.gateway
    response = api.client.post(
        "/cdr/v1/azure/flowlogs", json=config(deploymentName=name), headers=api.bearer("alice")
    )
    if response.status_code == 422:
        return  # refused by name: nothing to download
    assert response.status_code == 201, response.text
    created = response.json()
    download = api.client.get(
        f"/cdr/v1/azure/flowlogs/{created['id']}/scripts", headers=api.bearer("alice")
    )
    assert download.status_code == 200
    assert name not in download.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        for member in archive.namelist():
            assert ".." not in Path(member).parts
            assert not member.startswith(("/", "\\"))
            assert name not in member
