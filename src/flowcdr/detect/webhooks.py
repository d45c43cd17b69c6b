"""Webhooks that announce a tenant's findings: where, in which shape, signed how.

A webhook is a name, a URL, a kind (``json``: the finding as the API gives it; ``slack``: a
message an incoming Slack webhook, or anything Slack-compatible, posts) and the lowest severity
it wants.
Each has a signing secret the server generates and shows once. Every request carries::

    X-Flowcdr-Timestamp: <Unix seconds when it was sent>
    X-Flowcdr-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
    X-Flowcdr-Delivery: <id, the same on every retry of one delivery>
    X-Flowcdr-Event: finding.opened (or finding.escalated: its severity rose)

so a receiver checks the signature over the exact bytes it got, refuses old timestamps
(replays), and drops a delivery id it has seen (retries). URL and secret are encrypted at rest
(a Slack webhook URL is itself a credential); lists show only the URL's scheme and host.
Where a URL may point is the deployment's egress policy (flowcdr.detect.webhook_guard),
checked when a webhook is added and again, on a fresh resolution, at every delivery.
"""

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import sqlalchemy as sa

from flowcdr.detect.finding import Finding, iso
from flowcdr.detect.rule import SEVERITIES, Severity
from flowcdr.detect.webhook_guard import TargetGuard, TargetRefusedError
from flowcdr.errors import FlowcdrError
from flowcdr.store.control import ControlStore
from flowcdr.store.schema import webhooks

Kind = Literal["json", "slack"]
KINDS: tuple[Kind, ...] = ("json", "slack")
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that says what the value is, not a secret
SIGNATURE_VERSION = "v1"
MAX_NAME = 100
EVENT_TEST = "webhook.test"


class WebhookError(FlowcdrError):
    """A webhook that cannot be kept as given; ``field`` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Webhook:
    id: str
    tenant_id: str
    name: str
    url_hint: str
    kind: Kind
    min_severity: Severity
    created_by: str
    created_at: str
    last_attempt_at: str | None
    last_status: str | None
    last_success_at: str | None
    failures: int
    delivered: int

    def wants(self, severity: Severity) -> bool:
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity)


@dataclass(frozen=True)
class Target:
    """What a delivery needs: the webhook and its decrypted URL and secret."""

    hook: Webhook
    url: str
    secret: str


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Flowcdr-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def checked_url(guard: TargetGuard, url: str) -> str:
    """``url`` if the guard lets webhooks reach it now; raises ``WebhookError`` naming ``url``
    and saying why not (a refused address, or a host that does not resolve)."""
    try:
        guard.pinned(url)
    except TargetRefusedError as error:
        raise WebhookError("url", f"the URL is refused: {error}") from None
    except OSError as error:
        host = urlsplit(url).hostname
        raise WebhookError("url", f"the URL's host {host!r} does not resolve: {error}") from None
    return url


def url_hint(url: str) -> str:
    """The URL with its path and query hidden: Slack puts the credential in the path."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/…"


def body(kind: Kind, event: str, delivery_id: str, finding: Finding, sent: dt.datetime) -> bytes:
    """The request body for ``finding``: the API's finding, or a Slack message."""
    if kind == "slack":
        text = _slack_text(finding, escalated=event == "finding.escalated")
        message: dict[str, Any] = {"text": text}
    else:
        message = {
            "event": event,
            "delivery_id": delivery_id,
            "sent_at": iso(sent),
            "finding": finding.as_dict(),
        }
    return json.dumps(message, separators=(",", ":")).encode()


def test_body(kind: Kind, delivery_id: str, sent: dt.datetime) -> bytes:
    """A test event's body: marked as a test in the event, a field and the text, so no receiver
    mistakes it for a finding."""
    text = "flowcdr test event: this webhook is wired correctly. It is not a finding."
    if kind == "slack":
        message: dict[str, Any] = {"text": f"*[TEST]* {text}"}
    else:
        message = {"event": EVENT_TEST, "delivery_id": delivery_id, "sent_at": iso(sent),
                   "test": True, "message": text}  # fmt: skip
    return json.dumps(message, separators=(",", ":")).encode()


def _slack_text(finding: Finding, *, escalated: bool) -> str:
    ends = " → ".join(
        part
        for part in (
            finding.src_ip,
            f"{finding.dst_ip or '*'}:{finding.dst_port}" if finding.dst_port else finding.dst_ip,
        )
        if part
    )
    techniques = ", ".join(finding.techniques) or "hygiene"
    news = "escalated to " if escalated else ""
    return (
        f"*[{news}{finding.severity.upper()}] {finding.title}*\n{ends or 'no addresses'} "
        f"({finding.flow_count} flows, {techniques})\nrule `{finding.rule_id}`, "
        f"first seen {iso(finding.first_seen)}, finding {finding.id}"
    )


class WebhookStore:
    """Webhooks of every tenant in the control database; every call names its tenant."""

    def __init__(self, control: ControlStore, guard: TargetGuard | None = None) -> None:
        self._control = control
        self.guard = guard or TargetGuard()
        """Where webhooks may point; the notifier checks deliveries against it too."""

    def add(
        self,
        tenant_id: str,
        *,
        url: str,
        kind: str,
        min_severity: str,
        actor: str,
        now: dt.datetime,
        name: str = "",
    ) -> tuple[Webhook, str]:
        """Keep a webhook; returns it and its new signing secret (shown this once)."""
        name = name.strip()
        if len(name) > MAX_NAME or not name.isprintable():
            raise WebhookError("name", f"the name must be at most {MAX_NAME} printable characters")
        if kind not in KINDS:
            raise WebhookError("kind", f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if min_severity not in SEVERITIES:
            raise WebhookError(
                "min_severity", f"min_severity {min_severity!r} is not one of {SEVERITIES}"
            )
        checked_url(self.guard, url)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        hook_id = str(uuid.uuid4())
        with self._control.write() as c:
            c.execute(
                webhooks.insert().values(
                    id=hook_id,
                    tenant_id=tenant_id,
                    url=self._control.seal(url),
                    url_hint=url_hint(url),
                    name=name or None,
                    kind=kind,
                    min_severity=min_severity,
                    secret=self._control.seal(secret),
                    created_by=actor,
                    created_at=iso(now),
                    failures=0,
                    delivered=0,
                )
            )
        stored = self.get(tenant_id, hook_id)
        if stored is None:  # deleted by a concurrent request between the two statements
            raise WebhookError("id", f"webhook {hook_id} was deleted while being added")
        return stored, secret

    def all(self, tenant_id: str) -> list[Webhook]:
        query = (
            sa.select(webhooks)
            .where(webhooks.c.tenant_id == tenant_id)
            .order_by(webhooks.c.created_at, webhooks.c.id)
        )
        with self._control.engine.connect() as c:
            return [_webhook(row) for row in c.execute(query).mappings()]

    def get(self, tenant_id: str, hook_id: str) -> Webhook | None:
        query = sa.select(webhooks).where(webhooks.c.tenant_id == tenant_id,
                                          webhooks.c.id == hook_id)  # fmt: skip
        with self._control.engine.connect() as c:
            row = c.execute(query).mappings().one_or_none()
        return None if row is None else _webhook(row)

    def targets(self, tenant_id: str, hook_id: str | None = None) -> list[Target]:
        """The tenant's webhooks (or the one ``hook_id``) with their URLs and secrets
        decrypted, for delivery."""
        query = sa.select(webhooks).where(webhooks.c.tenant_id == tenant_id)
        if hook_id is not None:
            query = query.where(webhooks.c.id == hook_id)
        with self._control.engine.connect() as c:
            rows = list(c.execute(query).mappings())
        return [
            Target(_webhook(row), self._control.unseal(row["url"]),
                   self._control.unseal(row["secret"]))
            for row in rows
        ]  # fmt: skip

    def delete(self, tenant_id: str, hook_id: str) -> bool:
        with self._control.write() as c:
            done = c.execute(webhooks.delete().where(webhooks.c.tenant_id == tenant_id,
                                                     webhooks.c.id == hook_id))  # fmt: skip
        return bool(done.rowcount)

    def attempted(self, hook_id: str, status: str, *, at: dt.datetime) -> None:
        """One attempt's outcome (an HTTP status or the network error)."""
        with self._control.write() as c:
            c.execute(
                webhooks.update()
                .where(webhooks.c.id == hook_id)
                .values(last_attempt_at=iso(at), last_status=status[:200])
            )

    def finished(self, hook_id: str, delivered: bool, *, at: dt.datetime) -> None:
        """A delivery's end: delivered (failures back to 0) or given up on (one more)."""
        values: dict[str, Any] = (
            {"failures": 0, "delivered": webhooks.c.delivered + 1, "last_success_at": iso(at)}
            if delivered
            else {"failures": webhooks.c.failures + 1}
        )
        with self._control.write() as c:
            c.execute(webhooks.update().where(webhooks.c.id == hook_id).values(**values))


def _webhook(row: sa.RowMapping) -> Webhook:
    return Webhook(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"] or row["url_hint"],
        url_hint=row["url_hint"],
        kind=row["kind"],
        min_severity=row["min_severity"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_attempt_at=row["last_attempt_at"],
        last_status=row["last_status"],
        last_success_at=row["last_success_at"],
        failures=row["failures"],
        delivered=row["delivered"],
    )
