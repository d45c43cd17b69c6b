"""Every portal page renders for admins and analysts, over the seeded flows and finding."""

import json
from urllib.parse import urlencode

from .conftest import Portal, window

PAGES = (
    "/portal/",
    "/portal/findings",
    "/portal/flows?" + urlencode(window()),
    "/portal/health",
    "/portal/configure/azure",
    "/portal/tokens",
    "/portal/settings",
)
PANELS = (
    "/portal/panels/traffic",
    "/portal/panels/findings",
    "/portal/panels/resources",
    *(f"/portal/panels/top/{d}" for d in ("talkers", "ports", "countries", "rules",
                                          "denied-sources")),
)  # fmt: skip


def test_every_page_renders_for_both_roles(portal: Portal) -> None:
    for user in ("alice", "amy"):
        client = portal.as_user(user)
        for path in PAGES:
            response = client.get(path)
            assert response.status_code == 200, (user, path, response.text[:500])
            assert "text/html" in response.headers["content-type"]
            assert "script-src 'self'" in response.headers["content-security-policy"]
        for path in PANELS:
            response = client.get(path, params=window())
            assert response.status_code == 200, (user, path, response.text[:500])


def test_data_health_names_the_sources_gone_quiet(portal: Portal) -> None:
    """The seeded flows carry March 2026 admission stamps: every source has gone quiet."""
    page = portal.as_user("amy").get("/portal/health").text
    assert 'id="quiet-banner"' in page
    assert page.count('class="quiet"') >= 1
    assert "nsg-web" in page


def test_errors_are_pages_in_the_portal_look(portal: Portal) -> None:
    client = portal.as_user("amy")
    missing = client.get("/portal/findings/no-such-finding")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "no finding &#39;no-such-finding&#39;" in missing.text  # autoescaped
    refused = client.get("/portal/configure/azure/new")
    assert refused.status_code == 403
    assert "needs the admin role" in refused.text


def test_findings_filter_by_tactic_resource_and_address(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    (item,) = services.ledger.findings(portal.tenant_id, rule_id="vertical_port_scan")
    f = item.finding
    client = portal.as_user("amy")

    def listed(**params: str) -> bool:
        return f"/portal/findings/{f.id}" in client.get("/portal/findings", params=params).text

    assert listed(tactic=f.tactics[0], resource=f.resource_id.upper(), ip=f.src_ip)
    assert not listed(tactic="TA0040")
    assert not listed(resource=f.resource_id + "-other")
    assert not listed(ip="192.0.2.1")
    detail = client.get(f"/portal/findings/{f.id}").text
    assert "/portal/findings?resource=" in detail


def test_a_country_links_to_its_inbound_and_outbound_flows(portal: Portal) -> None:
    html = portal.as_user("amy").get("/portal/panels/top/countries", params=window()).text
    assert "src_country=" in html
    assert "direction=inbound" in html
    assert "dst_country=" in html
    assert "direction=outbound" in html


def test_data_health_lists_registered_applications(portal: Portal) -> None:
    token = portal.gateway.subscription_token()
    client_id = "66666666-7777-8888-9999-000000000000"
    registration = {
        "tenantId": "11111111-2222-3333-4444-555555555555",
        "clientId": client_id,
        "subscriptionId": "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e",
        "regions": ["westeurope"],
    }
    registered = portal.client.post(
        "/cdr/v1/azure/connectors/register",
        json=registration,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert registered.status_code == 201, registered.text
    page = portal.as_user("amy").get("/portal/health").text
    assert client_id in page
    assert "westeurope" in page


def test_a_findings_timeline_counts_its_flows(portal: Portal) -> None:
    services = portal.client.app.state.services  # type: ignore[attr-defined]
    (item,) = services.ledger.findings(portal.tenant_id, rule_id="vertical_port_scan")
    client = portal.as_user("amy")
    detail = client.get(f"/portal/findings/{item.finding.id}").text
    assert f'hx-get="/portal/findings/{item.finding.id}/timeline"' in detail
    panel = client.get(f"/portal/findings/{item.finding.id}/timeline")
    assert panel.status_code == 200
    data = panel.text.split('<script type="application/json">')[1].split("</script>")[0]
    series = json.loads(data)
    assert sum(series["allowed"]) + sum(series["denied"]) == item.finding.flow_count


def test_the_settings_page_says_whether_azure_ranges_are_loaded(portal: Portal) -> None:
    client = portal.as_user("amy")
    before = client.get("/portal/settings").text
    assert "No file loaded" in before
    settings = portal.client.app.state.services.settings  # type: ignore[attr-defined]
    tags = {"changeNumber": 412, "cloud": "Public", "values": [
        {"name": "Storage", "properties": {"addressPrefixes": ["20.38.96.0/19", "20.60.0.0/16"]}},
        {"name": "Storage.WestEurope", "properties": {"addressPrefixes": ["20.38.96.0/19"]}},
    ]}  # fmt: skip
    settings.service_tags_path.write_text(json.dumps(tags))
    after = client.get("/portal/settings").text
    assert "Public cloud</strong>, change 412: 2 service tags, 3 prefixes in 2 ranges." in after
