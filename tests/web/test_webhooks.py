"""Webhooks in the browser: add one, send a test event to a real loopback receiver and see its
answer, see an SSRF-refused URL's reason, delete it.

A gateway of its own: its deployment lets webhooks reach loopback over http (an on-premises
receiver), narrowed to 127.0.0.0/8, so the metadata service and the private network stay
refused as they would in any deployment."""

import json
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from ..integration.server import USERNAME, Gateway, add_admin, clean_env, start
from ..unit.detect.receiver import receiver, verified
from .conftest import require_chromium, signed_in

pytestmark = pytest.mark.integration
METADATA_URL = (
    "http://169.254.169.254/metadata/identity/oauth2/token?resource=https://vault.azure.net"
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    require_chromium()
    root = tmp_path_factory.mktemp("webhooks")
    (root / "home").mkdir()
    env = clean_env(root / "home")
    password = "pw-" + secrets.token_hex(16)
    add_admin(root / "data", password, env)
    opted_in = {**env, "FLOWCDR_WEBHOOK_ALLOW_HTTP": "true",
                "FLOWCDR_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                "FLOWCDR_WEBHOOK_PRIVATE_NETWORKS": '["127.0.0.0/8"]'}  # fmt: skip
    running = start(root / "data", root / "server.log", password, opted_in)
    try:
        yield running
    finally:
        running.stop()


def test_add_test_refuse_and_delete_a_webhook(
    browser: Browser, gateway: Gateway, js_errors: list[str]
) -> None:
    page = signed_in(browser, gateway, USERNAME, js_errors)
    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url("**/portal/webhooks")
    expect(page.locator(".empty")).to_have_text("No webhooks yet.")
    with receiver() as hook:
        page.fill("#webhook-form input[name=name]", "SOC receiver")
        page.fill("#webhook-form input[name=url]", hook.url)
        page.select_option("#webhook-form select[name=min_severity]", "low")
        page.click("#webhook-form button[type=submit]")
        secret = page.locator("#new-secret").inner_text().strip()
        assert secret.startswith("whsec_")
        row = page.locator("#webhooks-table tbody tr", has_text="SOC receiver")
        expect(row).to_contain_text(f"http://127.0.0.1:{hook.port}/…")
        expect(row).not_to_contain_text(secret)
        row.get_by_role("button", name="Send test event").click()
        expect(page.locator("#test-result")).to_contain_text(
            "SOC receiver: delivered, the receiver answered HTTP 200"
        )
        expect(page.locator("#new-secret")).to_have_count(0)  # shown once
        (got,) = hook.got
        assert verified(secret, got)
        assert json.loads(got.body)["test"] is True
    for url, why in ((METADATA_URL, "is a cloud metadata address, never a webhook target"),
                     ("http://10.0.0.5/hooks", "outside webhook_private_networks"),
                     ("file:///etc/passwd", "the scheme 'file' is refused")):  # fmt: skip
        page.fill("#webhook-form input[name=name]", "sneaky")
        page.fill("#webhook-form input[name=url]", url)
        page.click("#webhook-form button[type=submit]")
        expect(page.locator("#webhook-error")).to_contain_text(why)
        expect(page.locator("#webhook-form input[name=url]")).to_have_value(url)
    expect(page.locator("#webhooks-table tbody tr")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#webhooks-table tbody tr", has_text="SOC receiver").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.locator(".empty")).to_have_text("No webhooks yet.")
