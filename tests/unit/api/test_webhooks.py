"""Webhooks through the gateway: admins add them (secret shown once, URL masked, both encrypted
at rest), an opened finding is posted signed to a real loopback receiver, and failed
deliveries are retried with backoff, then given up on, each outcome kept on the webhook.

The receivers listen on loopback over plain HTTP, which the egress policy refuses by default
(test_webhook_egress.py): this module's gateway opts in, as an operator with an on-premises
receiver would."""

import datetime as dt
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa

from flowcdr.config import Settings
from flowcdr.detect.notify import Notifier
from flowcdr.store.schema import findings, webhooks

from ..detect.receiver import receiver, verified
from ..inventory.estate import NSG_WEB, estate, rule, with_rules
from .conftest import Gateway
from .test_findings import RULE, scan_detected


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The API tests' settings with http:// and loopback receivers allowed."""
    return settings.model_copy(
        update={"webhook_allow_http": True, "webhook_allow_private_targets": True}
    )


def add(gateway: Gateway, body: dict[str, Any], username: str = "alice") -> Any:
    return gateway.client.post("/cdr/v1/webhooks", json=body, headers=gateway.bearer(username))


def hook_state(gateway: Gateway, hook_id: str, until: str, timeout: float = 30.0) -> Any:
    """The webhook as listed, once ``until`` (a field) is non-zero."""
    deadline = time.monotonic() + timeout
    while True:
        listed = gateway.client.get("/cdr/v1/webhooks", headers=gateway.bearer("alice")).json()
        (hook,) = [h for h in listed if h["id"] == hook_id]
        if hook[until] or time.monotonic() > deadline:
            return hook
        time.sleep(0.05)


def test_admins_add_list_and_delete_webhooks(gateway: Gateway) -> None:
    url = "https://93.184.215.14/services/T000/B000/XXXXSECRETPATH"  # public: no DNS needed
    assert add(gateway, {"url": url}, "amy").status_code == 403
    assert gateway.client.get("/cdr/v1/webhooks", headers=gateway.bearer("amy")).status_code == 403
    for body, field in (({"url": "ftp://x.example/"}, "url"), ({"url": "hooks"}, "url"),
                        ({"url": "https://u:p@x.example/"}, "url"),
                        ({"url": url, "kind": "teams"}, "kind"),
                        ({"url": url, "name": "x" * 101}, "name"),
                        ({"url": url, "name": "bad\nname"}, "name"),
                        ({"url": url, "min_severity": "urgent"}, "min_severity")):  # fmt: skip
        refused = add(gateway, body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["field"] == field
    created = add(gateway, {"url": url, "kind": "slack", "min_severity": "high",
                            "name": " SOC channel "})  # fmt: skip
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    listed = gateway.client.get("/cdr/v1/webhooks", headers=gateway.bearer("alice")).json()
    assert [(h["name"], h["url"]) for h in listed] == [("SOC channel", "https://93.184.215.14/…")]
    assert "secret" not in listed[0]
    assert "SECRETPATH" not in json.dumps(listed)
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    with services.store.engine.connect() as c:
        row = c.execute(sa.select(webhooks)).mappings().one()
    assert url not in json.dumps(dict(row))
    assert secret not in json.dumps(dict(row))
    assert gateway.client.get("/cdr/v1/webhooks", headers=gateway.bearer("bob")).json() == []
    hook_id = created.json()["id"]
    foreign = gateway.client.delete(f"/cdr/v1/webhooks/{hook_id}", headers=gateway.bearer("bob"))
    assert foreign.status_code == 404
    gone = gateway.client.delete(f"/cdr/v1/webhooks/{hook_id}", headers=gateway.bearer("alice"))
    assert gone.status_code == 204
    audit = gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("alice")).json()
    assert {"webhook.add", "webhook.delete"} <= {e["action"] for e in audit}


def test_an_opened_finding_is_posted_signed(gateway: Gateway) -> None:
    with receiver() as json_hook, receiver() as slack_hook, receiver() as picky_hook:
        made = {
            name: add(gateway, {"url": r.url, "kind": kind, "min_severity": level}).json()
            for name, r, kind, level in (("json", json_hook, "json", "low"),
                                         ("slack", slack_hook, "slack", "low"),
                                         ("picky", picky_hook, "json", "critical"))
        }  # fmt: skip
        scan_detected(gateway)
        (got,) = json_hook.wait_for(1)
        assert verified(made["json"]["secret"], got)
        assert not verified(made["slack"]["secret"], got)
        sent = json.loads(got.body)
        assert (sent["event"], sent["finding"]["rule_id"], sent["finding"]["status"]) == (
            "finding.opened", RULE.id, "open")  # fmt: skip
        assert got.headers["X-Flowcdr-Delivery"] == sent["delivery_id"]
        (message,) = slack_hook.wait_for(1)
        assert verified(made["slack"]["secret"], message)
        assert "Vertical port scan" in json.loads(message.body)["text"]
        state = hook_state(gateway, made["json"]["id"], "delivered")
        assert (state["delivered"], state["failures"], state["last_status"]) == (1, 0, "HTTP 200")
        assert picky_hook.got == []  # a low finding is below "critical"


def notifier_for(
    gateway: Gateway, url: str, attempts: int, *, scan: bool = True
) -> tuple[Notifier, dict[str, Any]]:
    """A notifier with short waits, a webhook to ``url``, and a finding to announce; the
    gateway's own notifier has nothing to send (the finding is older than the webhook)."""
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    if scan:
        scan_detected(gateway)
    created: dict[str, Any] = add(gateway, {"url": url, "min_severity": "low"}).json()
    notifier = Notifier(services.webhooks, services.ledger, attempts=attempts, backoff_seconds=0.05)
    notifier.start()
    tenant_id = services.store.user("alice").tenant_id
    (item,) = services.ledger.findings(tenant_id, rule_id=RULE.id)
    opened = dt.datetime.fromisoformat(item.created_at)
    notifier.findings_changed(tenant_id, [item.finding.id], opened)
    return notifier, created


def test_server_errors_are_retried_until_delivered(gateway: Gateway) -> None:
    with receiver([500, 503]) as target:
        notifier, created = notifier_for(gateway, target.url, attempts=4)
        try:
            tries = target.wait_for(3)
            state = hook_state(gateway, created["id"], "delivered")
        finally:
            notifier.close()
    assert len({t.headers["X-Flowcdr-Delivery"] for t in tries}) == 1  # one delivery, retried
    assert len({t.body for t in tries}) == 1
    assert all(verified(created["secret"], t) for t in tries)
    assert (state["delivered"], state["failures"], state["last_status"]) == (1, 0, "HTTP 200")


def test_a_delivery_is_given_up_after_its_attempts(gateway: Gateway) -> None:
    with receiver([500, 500, 500, 500]) as target:
        notifier, created = notifier_for(gateway, target.url, attempts=3)
        try:
            target.wait_for(3)
            state = hook_state(gateway, created["id"], "failures")
            time.sleep(0.3)  # no fourth try comes
            assert len(target.got) == 3
        finally:
            notifier.close()
    assert (state["delivered"], state["failures"], state["last_status"]) == (0, 1, "HTTP 500")


def test_a_client_error_is_not_retried_and_a_dead_receiver_is_recorded(gateway: Gateway) -> None:
    with receiver([410]) as target:
        notifier, created = notifier_for(gateway, target.url, attempts=5)
        try:
            target.wait_for(1)
            state = hook_state(gateway, created["id"], "failures")
            time.sleep(0.3)
            assert len(target.got) == 1
        finally:
            notifier.close()
    assert (state["failures"], state["last_status"]) == (1, "HTTP 410")
    # The discard port: nothing listens on loopback.
    notifier, created = notifier_for(gateway, "http://127.0.0.1:9/hook", attempts=2, scan=False)
    try:
        state = hook_state(gateway, created["id"], "failures")
    finally:
        notifier.close()
    assert state["failures"] == 1
    assert state["last_status"].startswith("ConnectionRefusedError")


def test_backoff_doubles_with_jitter_and_is_capped(gateway: Gateway) -> None:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    for jitter, share in ((lambda: 0.0, 0.5), (lambda: 1.0, 1.0)):
        notifier = Notifier(services.webhooks, services.ledger, backoff_seconds=2.0,
                            max_backoff_seconds=30.0, jitter=jitter)  # fmt: skip
        assert [notifier.backoff(a) for a in range(6)] == [
            share * s for s in (2.0, 4.0, 8.0, 16.0, 30.0, 30.0)
        ]


def test_a_rising_severity_is_announced_once(gateway: Gateway) -> None:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    scan_detected(gateway)
    tenant_id = services.store.user("alice").tenant_id
    (item,) = services.ledger.findings(tenant_id, rule_id=RULE.id)
    assert item.finding.severity == "low"
    with receiver() as every, receiver() as medium:
        add(gateway, {"url": every.url, "min_severity": "low"})
        created = add(gateway, {"url": medium.url, "min_severity": "medium"}).json()
        notifier = Notifier(services.webhooks, services.ledger, backoff_seconds=0.05)
        notifier.start()
        try:
            opened = dt.datetime.fromisoformat(item.created_at)
            notifier.findings_changed(tenant_id, [item.finding.id], opened)
            every.wait_for(1)  # announced as opened (low): below the second webhook's level
            # A stronger hit joined the finding, as the ledger's refresh records it.
            with services.store.write() as c:
                c.execute(findings.update().where(findings.c.id == item.finding.id)
                          .values(severity="high"))  # fmt: skip
            later = opened + dt.timedelta(minutes=1)
            notifier.findings_changed(tenant_id, [item.finding.id], later)
            (got,) = medium.wait_for(1)
            notifier.findings_changed(tenant_id, [item.finding.id], later)  # no higher again
            time.sleep(0.5)
        finally:
            notifier.close()
    assert [r.headers["X-Flowcdr-Event"] for r in every.got] == [
        "finding.opened",
        "finding.escalated",
    ]
    assert len(medium.got) == 1
    assert verified(created["secret"], got)
    sent = json.loads(got.body)
    assert (sent["event"], sent["finding"]["severity"]) == ("finding.escalated", "high")


def test_posture_findings_the_audit_opens_are_announced(gateway: Gateway) -> None:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    tenant = services.store.user("alice").tenant_id
    with receiver() as hook:
        made = add(gateway, {"url": hook.url, "kind": "json", "min_severity": "low"}).json()
        (after_sync,) = services.inventory_sync.hooks  # the posture audit, as after a sync
        exposed = with_rules(estate(), NSG_WEB, rule("AllowAnyRDP", 100, ports=("3389",)))
        after_sync(tenant, exposed)
        got = hook.wait_for(1)
        assert all(verified(made["secret"], request) for request in got)
        sent = [json.loads(request.body) for request in got]
        assert {item["event"] for item in sent} == {"finding.opened"}
        assert all(item["finding"]["rule_id"].startswith("posture.") for item in sent)
        count = len(hook.wait_for(len(sent)))
        after_sync(tenant, exposed)  # the same issue again: extended, not announced again
        time.sleep(1.0)
        assert len(hook.got) == count


def send_test(gateway: Gateway, hook_id: str, username: str = "alice") -> Any:
    return gateway.client.post(f"/cdr/v1/webhooks/{hook_id}/test",
                               headers=gateway.bearer(username))  # fmt: skip


def test_a_test_event_is_sent_now_and_its_outcome_answered(gateway: Gateway) -> None:
    with receiver() as json_hook, receiver() as slack_hook, receiver([500]) as failing:
        made = add(gateway, {"url": json_hook.url, "name": "SIEM"}).json()
        answer = send_test(gateway, made["id"])
        assert answer.status_code == 200, answer.text
        result = answer.json()
        (got,) = json_hook.got  # synchronous: there when the answer is
        assert verified(made["secret"], got)
        sent = json.loads(got.body)
        assert (sent["event"], sent["test"], got.headers["X-Flowcdr-Event"]) == (
            "webhook.test", True, "webhook.test")  # fmt: skip
        assert "not a finding" in sent["message"]
        assert "finding" not in sent
        assert result == {"delivered": True, "status": "HTTP 200",
                          "delivery_id": got.headers["X-Flowcdr-Delivery"]}  # fmt: skip
        slack = add(gateway, {"url": slack_hook.url, "kind": "slack"}).json()
        assert send_test(gateway, slack["id"]).json()["delivered"]
        assert json.loads(slack_hook.got[0].body)["text"].startswith("*[TEST]*")
        broken = add(gateway, {"url": failing.url}).json()
        answer = send_test(gateway, broken["id"])
        assert answer.json()["delivered"] is False
        assert answer.json()["status"] == "HTTP 500"
        time.sleep(0.3)
        assert len(failing.got) == 1  # a test is not retried
    listed = gateway.client.get("/cdr/v1/webhooks", headers=gateway.bearer("alice")).json()
    assert [(h["delivered"], h["failures"]) for h in listed] == [(0, 0)] * 3  # not deliveries
    assert send_test(gateway, made["id"], "bob").status_code == 404  # another tenant's
    assert send_test(gateway, "no-such-hook").status_code == 404
    assert send_test(gateway, made["id"], "amy").status_code == 403
    audit = gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("alice")).json()
    assert sum(e["action"] == "webhook.test" for e in audit) == 3


def test_a_redirect_answers_the_test_and_is_not_followed(gateway: Gateway) -> None:
    with receiver() as elsewhere, receiver([302], location=elsewhere.url) as first:
        made = add(gateway, {"url": first.url}).json()
        result = send_test(gateway, made["id"]).json()
        assert len(first.got) == 1
    assert (result["delivered"], result["status"]) == (False, "HTTP 302")
    assert elsewhere.got == []
