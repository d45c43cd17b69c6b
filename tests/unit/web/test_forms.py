"""The portal's forms change what the API would: findings, configurations, tokens, exports."""

import csv
import io
import re
from urllib.parse import urlencode

from ..azure.samples import ACCOUNT, KEY, KEY_STRING
from .conftest import Portal, window

SUBSCRIPTION = "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"


def test_triage_and_suppress_a_finding(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    (item,) = services.ledger.findings(portal.tenant_id, rule_id="vertical_port_scan")
    finding = item.finding
    client = portal.as_user("alice")
    path = f"/portal/findings/{finding.id}"
    token = portal.csrf(path)
    acknowledged = client.post(
        f"{path}/status",
        data={"csrf_token": token, "status": "acknowledged", "note": "owner asked"},
        follow_redirects=False,
    )
    assert acknowledged.status_code == 303
    stored = services.ledger.finding(portal.tenant_id, finding.id)
    assert (stored.finding.status, stored.status_by, stored.note) == (
        "acknowledged",
        "alice",
        "owner asked",
    )
    bad = client.post(f"{path}/status", data={"csrf_token": token, "status": "gone"})
    assert bad.status_code == 422
    assert "status" in bad.text
    suppressed = client.post(
        f"{path}/suppress",
        data={"csrf_token": token, "scope": "src_ip", "days": "7", "reason": "pen test"},
        follow_redirects=False,
    )
    assert suppressed.status_code == 303
    (rule,) = services.ledger.suppressions(portal.tenant_id)
    assert (rule.rule.cidr, rule.rule.reason) == (finding.src_ip, "pen test")
    assert rule.rule.expires is not None
    assert services.ledger.finding(portal.tenant_id, finding.id).finding.status == "suppressed"
    page = client.get(path).text
    assert "pen test" in page
    assert "https://attack.mitre.org/tactics/" in page


def _bucket_form(token: str, *rows: tuple[str, str, str]) -> dict[str, object]:
    return {
        "csrf_token": token,
        "deployment_name": "azure-prod",
        "subscription_id": SUBSCRIPTION,
        "storage_account": [r[0] for r in rows],
        "region": [r[1] for r in rows],
        "connection_string": [r[2] for r in rows],
    }


def test_configuration_errors_show_beside_their_input_and_secrets_stay_masked(
    portal: Portal,
) -> None:
    client = portal.as_user("alice")
    token = portal.csrf("/portal/configure/azure/new")
    bad = client.post(
        "/portal/configure/azure/new",
        data=_bucket_form(token, (ACCOUNT, "eastus", KEY_STRING), ("other01", "eastus", "nope")),
    )
    assert bad.status_code == 422
    rows = bad.text.split('<tr class="bucket-row">')
    assert 'class="field-error"' in rows[2]
    assert 'class="field-error"' not in rows[1]
    assert "other01" in bad.text  # the form comes back as typed
    unknown = client.post(
        "/portal/configure/azure/new",
        data=_bucket_form(token, (ACCOUNT, "atlantis", KEY_STRING)),
    )
    assert "unknown Azure region" in unknown.text
    made = client.post(
        "/portal/configure/azure/new",
        data=_bucket_form(token, (ACCOUNT, "eastus", KEY_STRING)),
        follow_redirects=False,
    )
    assert made.status_code == 303
    details = client.get(made.headers["location"]).text
    assert KEY not in details
    assert "AccountKey=****" in details
    config_id = made.headers["location"].rsplit("/", 1)[-1]
    edit = client.get(f"/portal/configure/azure/{config_id}/edit").text
    assert KEY not in edit
    masked = re.search(r'name="connection_string" value="([^"]+)"', edit)
    assert masked
    kept = client.post(
        f"/portal/configure/azure/{config_id}/edit",
        data=_bucket_form(token, (ACCOUNT, "westeurope", masked.group(1).replace("&amp;", "&"))),
        follow_redirects=False,
    )
    assert kept.status_code == 303
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    (bucket,) = services.store.config(portal.tenant_id, config_id).buckets
    assert (bucket.region, KEY in bucket.connection_string) == ("westeurope", True)
    scripts = client.get(f"/portal/configure/azure/{config_id}/scripts")
    assert scripts.status_code == 200
    assert scripts.headers["content-type"] == "application/zip"
    analyst = portal.as_user("amy")
    assert analyst.get(f"/portal/configure/azure/{config_id}/scripts").status_code == 403


def test_a_token_is_shown_once_and_revoked(portal: Portal) -> None:
    client = portal.as_user("alice")
    token = portal.csrf("/portal/tokens")
    issued = client.post("/portal/tokens", data={"csrf_token": token, "expiry": "60"})
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    shown = re.search(r'id="new-token">([^<]+)<', issued.text)
    assert shown
    listing = client.get("/portal/tokens").text
    assert shown.group(1) not in listing
    token_id = re.search(r'data-token-id="([^"]+)"', listing)
    assert token_id
    revoked = client.post(
        f"/portal/tokens/{token_id.group(1)}/revoke",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert "revoked" in client.get("/portal/tokens").text
    too_long = client.post("/portal/tokens", data={"csrf_token": token, "expiry": "99999999"})
    assert too_long.status_code == 422


def test_flows_filter_and_csv_export_agree(portal: Portal) -> None:
    client = portal.as_user("alice")
    query = window(decision="deny", dst_port="22")
    page = client.get("/portal/flows?" + urlencode(query)).text
    exported = client.get("/portal/flows.csv?" + urlencode(query))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows
    assert {(row["decision"], row["dst_port"]) for row in rows} == {("deny", "22")}
    assert page.count('class="flow-row"') == min(len(rows), 50)
    refused = client.get("/portal/flows?" + urlencode(window(src="not-an-ip")))
    assert "src" in refused.text
    assert 'class="alert error"' in refused.text
