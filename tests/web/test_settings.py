"""An admin switches a detection off and changes a tunable on the settings page; the API
then reports the tenant's choice, and a misfit value is refused on the page, naming it."""

import pytest
from playwright.sync_api import Browser, expect

from ..integration.server import USERNAME, Gateway, call
from .conftest import sign_in_token, signed_in

pytestmark = pytest.mark.integration

RULE = "long_connection"


def test_an_admin_changes_a_rule_on_the_settings_page(
    browser: Browser, portal: Gateway, js_errors: list[str]
) -> None:
    page = signed_in(browser, portal, USERNAME, js_errors)
    page.goto(portal.base_url + "/portal/settings")
    form = page.locator(f"#rule-form-{RULE}")
    field = form.locator("input[name^=t_]").first
    name = (field.get_attribute("name") or "")[2:]
    field.fill("nine")
    form.locator("button[type=submit]").click()
    expect(page.locator(".alert.error")).to_contain_text(f"tunable '{name}'")
    expect(page.locator(f"#rule-form-{RULE} input[name=t_{name}]")).to_have_value("nine")

    form = page.locator(f"#rule-form-{RULE}")
    form.locator(f"input[name=t_{name}]").fill("7200")
    form.locator("input[name=enabled]").uncheck()
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**/portal/settings#rule-{RULE}")
    row = page.locator(f"#rule-{RULE}")
    expect(row).to_contain_text("off")
    expect(row).to_contain_text(f"changed by {USERNAME}")
    expect(row.locator(f"input[name=t_{name}]")).to_have_value("7200")

    token = sign_in_token(portal, USERNAME)
    status, body = call(portal, "GET", f"/cdr/v1/rules/{RULE}/settings", token)
    assert status == 200, body
    assert body["enabled"] is False
    assert body["tunables"][name]["value"] == 7200
    # Back to the defaults, for the session's other tests.
    status, body = call(portal, "PUT", f"/cdr/v1/rules/{RULE}/settings", token, {"enabled": True})
    assert status == 200, body
