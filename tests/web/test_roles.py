"""Analysts see every page without a mutating control; forged posts are refused."""

import pytest
from playwright.sync_api import Browser, expect

from ..integration.server import USERNAME, Gateway
from .conftest import ANALYST, screenshot, signed_in

pytestmark = pytest.mark.integration

PAGES = ("/portal/findings", "/portal/configure/azure", "/portal/tokens", "/portal/settings",
         "/portal/health", "/portal/flows")  # fmt: skip


def test_an_analyst_sees_no_mutating_controls(
    browser: Browser, portal: Gateway, js_errors: list[str]
) -> None:
    page = signed_in(browser, portal, ANALYST, js_errors)
    expect(page.locator(".who")).to_contain_text("read-only")
    for path in PAGES:
        page.goto(portal.base_url + path)
        # The only form that posts is signing out.
        actions = page.locator("form[method=post]").evaluate_all("f => f.map(x => x.action)")
        assert actions == [portal.base_url + "/portal/sign-out"], (path, actions)
    page.goto(portal.base_url + "/portal/findings")
    page.locator("#findings-table tbody tr a").first.click()
    page.wait_for_url("**/portal/findings/*")
    expect(page.locator("#triage")).to_have_count(0)
    page.goto(portal.base_url + "/portal/health")
    screenshot(page, "health")
    # A post made by hand, with the analyst's session: refused for the role.
    refused = page.request.post(portal.base_url + "/portal/tokens", form={"expiry": "60"})
    assert refused.status == 403


def test_a_post_without_the_csrf_token_fails(
    browser: Browser, portal: Gateway, js_errors: list[str]
) -> None:
    page = signed_in(browser, portal, USERNAME, js_errors)
    page.goto(portal.base_url + "/portal/settings")
    screenshot(page, "settings")
    before = page.locator("#suppressions tbody tr").count()
    forged: dict[str, str | float | bool] = {"cidr": "203.0.113.0/24", "reason": "forged"}
    refused = page.request.post(portal.base_url + "/portal/settings/suppressions", form=forged)
    assert refused.status == 403
    assert "CSRF" in refused.text()
    wrong = page.request.post(
        portal.base_url + "/portal/settings/suppressions", form={**forged, "csrf_token": "0" * 64}
    )
    assert wrong.status == 403
    page.reload()
    expect(page.locator("#suppressions tbody tr")).to_have_count(before)
