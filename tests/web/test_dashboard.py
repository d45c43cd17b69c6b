"""Sign in, see the dashboard's charts drawn with data, open a finding and acknowledge it."""

import re

import pytest
from playwright.sync_api import Browser, expect

from ..integration.server import USERNAME, Gateway
from .conftest import screenshot, signed_in

pytestmark = pytest.mark.integration


def test_dashboard_charts_render_with_data(
    browser: Browser, portal: Gateway, js_errors: list[str]
) -> None:
    page = signed_in(browser, portal, USERNAME, js_errors)
    flows_chart = page.locator("[data-chart=flows]")
    expect(flows_chart.locator("canvas")).to_be_visible()
    assert int(flows_chart.get_attribute("data-points") or 0) > 10
    expect(page.locator("[data-chart=bytes] canvas")).to_be_visible()
    total = page.locator("#traffic .kpi-value").first.inner_text()
    assert int(total.replace(",", "")) > 1000
    talkers = page.locator("#top-talkers tbody tr")
    expect(talkers.first).to_be_visible()
    assert talkers.count() >= 3
    for panel in ("top-ports", "top-countries", "top-rules", "resources"):
        expect(page.locator(f"#{panel} tbody tr").first).to_be_visible()
    expect(page.locator("#findings-summary .newest li").first).to_be_visible()
    screenshot(page, "dashboard")
    # Dragging over the flows chart opens those minutes as flows.
    area = flows_chart.locator(".u-over").bounding_box()
    assert area is not None
    middle = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] * 0.9, middle)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.99, middle, steps=5)
    page.mouse.up()
    page.wait_for_url("**/portal/flows?range=custom&start=*")
    expect(page.locator("#flows-table tr.flow-row").first).to_be_visible()
    page.go_back()
    # A top talker opens the flows it counts.
    address = talkers.first.locator("a").inner_text()
    talkers.first.locator("a").click()
    page.wait_for_url("**/portal/flows?**")
    sources = page.locator("#flows-table tr.flow-row td:nth-child(3)")
    expect(sources.first).to_be_visible()
    assert all(text.startswith(address + ":") for text in sources.all_inner_texts())


def test_acknowledging_a_finding_persists(
    browser: Browser, portal: Gateway, js_errors: list[str]
) -> None:
    page = signed_in(browser, portal, USERNAME, js_errors)
    page.goto(portal.base_url + "/portal/findings?status=open&tactic=TA0011")
    screenshot(page, "findings")
    page.locator("#findings-table tbody tr a").first.click()
    page.wait_for_url("**/portal/findings/*")
    expect(page.locator("#attack a").first).to_have_attribute(
        "href", re.compile(r"^https://attack\.mitre\.org/tactics/TA0011/$")
    )
    expect(page.locator("#timeline canvas")).to_be_visible()
    page.fill("textarea[name=note]", "checked with the VM owner")
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    page.wait_for_load_state()
    page.reload()
    expect(page.locator(".page-head .status")).to_have_text("acknowledged")
    expect(page.locator(".alert.note")).to_contain_text("checked with the VM owner")
    expect(page.get_by_role("button", name="Acknowledge", exact=True)).to_have_count(0)
    screenshot(page, "finding")
