"""Issue a subscription token (shown once, with a copy button) and revoke it."""

import pytest
from playwright.sync_api import Browser, expect

from ..integration.server import JWT, USERNAME, Gateway, claims
from .conftest import screenshot, signed_in

pytestmark = pytest.mark.integration


def test_issue_and_revoke_a_token(browser: Browser, portal: Gateway, js_errors: list[str]) -> None:
    page = signed_in(browser, portal, USERNAME, js_errors)
    page.goto(portal.base_url + "/portal/tokens")
    page.select_option("select[name=expiry]", label="30 days")
    page.click("#issue-form button[type=submit]")
    token = page.locator("#new-token").inner_text().strip()
    assert JWT.fullmatch(token)
    token_id = claims(token)["sub"]
    row = page.locator(f"tr[data-token-id='{token_id}']")
    expect(row).to_contain_text("active")
    page.click("[data-copy]")
    expect(page.locator("[data-copy]")).to_have_text("Copied")
    screenshot(page, "tokens", hide=[page.locator("#new-token")])
    page.goto(portal.base_url + "/portal/tokens")
    expect(page.locator("#new-token")).to_have_count(0)  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="Revoke").click()
    page.wait_for_load_state()
    expect(page.locator(f"tr[data-token-id='{token_id}']")).to_contain_text("revoked")
    expect(page.locator(f"tr[data-token-id='{token_id}'] button")).to_have_count(0)
