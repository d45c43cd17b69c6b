"""Posture findings in the portal: listed beside detections and filtered apart from them."""

import datetime as dt

import pytest
from playwright.sync_api import Browser, expect

from flowcdr.config import Settings
from flowcdr.detect.ledger import FindingLedger
from flowcdr.inventory.posture import audit
from flowcdr.store.control import ControlStore

from ..integration.server import USERNAME, Gateway
from ..unit.inventory.estate import NSG_WEB, estate, rule, with_rules
from .conftest import signed_in

pytestmark = pytest.mark.integration


def posture_findings(portal: Gateway) -> None:
    """Audit a hand-built snapshot into the gateway's own control database (no Azure here)."""
    control = ControlStore.open(Settings(data_dir=portal.data_dir))
    try:
        user = control.user(USERNAME)
        assert user is not None
        exposed = with_rules(estate(), NSG_WEB, rule("AllowAnyRDP", 200, ports=("3389",)))
        result = audit(
            user.tenant_id, exposed, None, FindingLedger(control), dt.datetime.now(dt.UTC)
        )
        assert result.found == 1
    finally:
        control.close()


def test_posture_and_detection_findings_filter_apart(
    browser: Browser, portal: Gateway, js_errors: list[str]
) -> None:
    posture_findings(portal)
    page = signed_in(browser, portal, USERNAME, js_errors)
    rows = page.locator("#findings-table tbody tr")

    page.goto(portal.base_url + "/portal/findings")
    page.select_option("select[name=kind]", "posture")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**kind=posture**")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("NSG rule opens a management port to the internet")
    expect(rows.first).to_contain_text("posture")
    expect(rows.first).to_contain_text("nsg-web")

    page.select_option("select[name=kind]", "detection")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**kind=detection**")
    expect(rows.first).to_be_visible()
    titles = rows.locator("td:nth-child(2) a").all_inner_texts()
    assert titles
    assert "NSG rule opens a management port to the internet" not in titles

    page.goto(portal.base_url + "/portal/findings?kind=posture")
    rows.first.locator("td:nth-child(2) a").click()
    page.wait_for_url("**/portal/findings/*")
    expect(page.locator("main")).to_contain_text("change rule AllowAnyRDP's source from *")
