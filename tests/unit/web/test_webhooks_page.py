"""The portal's webhooks page: admins add one (secret shown once, never listed), send a test
event to a real loopback receiver and see its outcome, see a refused URL's reason, delete it.
This module's deployment lets webhooks reach loopback over http, as an on-premises SIEM's would."""

import html
import json
import re

import pytest

from flowcdr.config import Settings

from ..detect.receiver import receiver, verified
from .conftest import Portal

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_allow_http": True, "webhook_allow_private_targets": True}
    )


def test_add_test_and_delete_a_webhook(portal: Portal) -> None:
    client = portal.as_user("alice")
    token = portal.csrf("/portal/webhooks")
    with receiver() as hook:
        added = client.post("/portal/webhooks", data={
            "csrf_token": token, "name": f"SOC {SCRIPT}", "url": hook.url, "kind": "json",
            "min_severity": "high"})  # fmt: skip
        assert added.status_code == 200, added.text
        secret = re.search(r'id="new-secret">(whsec_[\w-]+)<', added.text)
        assert secret, added.text
        assert "&lt;script&gt;" in added.text
        assert SCRIPT not in added.text
        listed = client.get("/portal/webhooks").text
        assert secret.group(1) not in listed  # shown once
        assert "/hooks/abc" not in listed  # the URL's path stays hidden
        assert f"http://127.0.0.1:{hook.port}/…" in listed
        hook_id = re.search(r'data-webhook-id="([0-9a-f-]{36})"', listed)
        assert hook_id
        tested = client.post(f"/portal/webhooks/{hook_id.group(1)}/test",
                             data={"csrf_token": token})  # fmt: skip
        assert tested.status_code == 200
        assert "delivered, the receiver answered HTTP 200" in tested.text
        (got,) = hook.got
        assert verified(secret.group(1), got)
        assert json.loads(got.body)["event"] == "webhook.test"
    deleted = client.post(f"/portal/webhooks/{hook_id.group(1)}/delete",
                          data={"csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert deleted.status_code == 303
    assert "No webhooks yet." in client.get("/portal/webhooks").text
    audit = portal.gateway.client.get("/cdr/v1/audit", headers=portal.gateway.bearer("alice"))
    assert {"webhook.add", "webhook.test", "webhook.delete"} <= {
        entry["action"] for entry in audit.json()
    }


@pytest.mark.parametrize(
    ("form", "why"),
    [
        ({"url": "https://169.254.169.254/metadata/identity/oauth2/token"}, "metadata address"),
        (
            {"url": "file:///etc/passwd"},
            "the scheme 'file' is refused: only http:// and https:// URLs",
        ),
        ({"url": "https://93.184.215.14/x", "kind": "teams"}, "kind"),
        ({"url": ""}, "url"),
    ],
)
def test_a_refused_webhook_shows_why_beside_the_form(
    portal: Portal, form: dict[str, str], why: str
) -> None:
    client = portal.as_user("alice")
    token = portal.csrf("/portal/webhooks")
    refused = client.post("/portal/webhooks", data={"csrf_token": token, "name": "x", **form})
    assert refused.status_code == 422
    error = re.search(r'id="webhook-error">([^<]*)<', refused.text)
    assert error
    assert why in html.unescape(error.group(1))
    assert f'value="{form["url"]}"' in refused.text  # kept to correct
    assert "No webhooks yet." in refused.text


def test_webhooks_are_for_admins(portal: Portal) -> None:
    client = portal.as_user("amy")
    assert client.get("/portal/webhooks").status_code == 403
    assert 'href="/portal/webhooks"' not in client.get("/portal/settings").text
    client = portal.as_user("alice")
    assert 'href="/portal/webhooks"' in client.get("/portal/settings").text
