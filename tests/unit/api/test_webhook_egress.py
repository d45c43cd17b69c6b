"""The egress policy through the gateway, as deployed by default (https only, public addresses
only): webhook URLs pointing at the gateway itself, the cloud's metadata service, private
networks or other schemes are refused when added (422 on ``url``, saying why), and a webhook
whose target became refused since (its DNS answer or the policy changed) is not sent to, by
the test route or by the notifier. Real receivers listen on loopback to show nothing arrives."""

import datetime as dt
import time
from typing import Any

import pytest

from flowcdr.detect.notify import Notifier
from flowcdr.detect.webhook_guard import TargetGuard
from flowcdr.detect.webhooks import WebhookStore

from ..detect.receiver import receiver
from .conftest import Gateway
from .test_findings import RULE, scan_detected


def add(gateway: Gateway, url: str) -> Any:
    return gateway.client.post("/cdr/v1/webhooks", json={"url": url},
                               headers=gateway.bearer("alice"))  # fmt: skip


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1:{port}/hooks", "127.0.0.1 is a loopback address"),
        ("https://localhost:{port}/hooks", "is a loopback address"),  # 127.0.0.1 or ::1
        ("https://[::ffff:127.0.0.1]:{port}/hooks", "is a loopback address"),
        ("https://169.254.169.254/metadata/identity/oauth2/token", "cloud metadata address"),
        ("https://168.63.129.16/machine?comp=goalstate", "cloud metadata address"),
        ("https://10.0.0.5/hooks", "10.0.0.5 is a private address"),
        ("https://[fd00::5]/hooks", "is a private address"),
        ("https://0.0.0.0:{port}/hooks", "unspecified address"),
        ("http://93.184.215.14/hooks", "unless the deployment sets webhook_allow_http"),
        ("http://127.0.0.1:{port}/hooks", "webhook_allow_http"),
        ("file:///etc/passwd", "the scheme 'file' is refused"),
        ("gopher://127.0.0.1:{port}/_POST", "the scheme 'gopher' is refused"),
    ],
)
def test_refused_targets_are_refused_when_added(gateway: Gateway, url: str, why: str) -> None:
    with receiver() as target:
        refused = add(gateway, url.format(port=target.port))
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["field"] == "url"
        assert why in error["message"]
        assert "refused" in error["message"]
    assert target.got == []
    listed = gateway.client.get("/cdr/v1/webhooks", headers=gateway.bearer("alice")).json()
    assert listed == []


def test_a_host_that_does_not_resolve_is_refused_by_name(gateway: Gateway) -> None:
    refused = add(gateway, "https://hooks.does-not-exist.invalid/x")
    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert message.startswith("the URL's host 'hooks.does-not-exist.invalid' does not resolve")


def added_while_allowed(gateway: Gateway, url: str) -> str:
    """A webhook to ``url`` as kept when the policy let it in (since tightened, or its name
    since resolving elsewhere): written by a store with an open guard."""
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    open_store = WebhookStore(services.store, TargetGuard(allow_http=True, allow_private=True))
    tenant_id = services.store.user("alice").tenant_id
    hook, _ = open_store.add(tenant_id, url=url, kind="json", min_severity="low", actor="alice",
                             now=dt.datetime.now(dt.UTC))  # fmt: skip
    return hook.id


def test_a_target_refused_since_it_was_added_is_not_sent_to(gateway: Gateway) -> None:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    with receiver() as target:
        hook_id = added_while_allowed(gateway, target.url)
        tested = gateway.client.post(f"/cdr/v1/webhooks/{hook_id}/test",
                                     headers=gateway.bearer("alice"))  # fmt: skip
        assert tested.status_code == 200
        assert tested.json() == {
            "delivered": False,
            "status": "refused: http:// is refused unless the deployment sets webhook_allow_http",
            "delivery_id": None,
        }
        # The finding the gateway's own notifier announces is refused the same way.
        scan_detected(gateway)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (hook,) = services.webhooks.all(services.store.user("alice").tenant_id)
            if hook.failures:
                break
            time.sleep(0.05)
        time.sleep(0.3)
    assert target.got == []
    assert (hook.failures, hook.delivered) == (1, 0)  # given up at once: a refusal is no blip
    assert hook.last_status is not None
    assert hook.last_status.startswith("refused: ")
    assert "/hooks/abc" not in hook.last_status  # the URL's path may be a credential
    assert services.ledger.findings(hook.tenant_id, rule_id=RULE.id)


def test_an_address_refused_at_delivery_is_never_connected_to(gateway: Gateway) -> None:
    """Plain http allowed, private targets not: the loopback receiver is refused by address."""
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    strict = WebhookStore(services.store, TargetGuard(allow_http=True))
    with receiver() as target:
        hook_id = added_while_allowed(gateway, f"http://localhost:{target.port}/hooks")
        notifier = Notifier(strict, services.ledger)
        sent = notifier.send_test(services.store.user("alice").tenant_id, hook_id)
    assert sent is not None
    _, outcome = sent
    assert outcome.refused
    assert outcome.status.startswith("refused: localhost (")
    assert "is a loopback address" in outcome.status
    assert target.got == []
