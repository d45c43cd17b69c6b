"""Webhooks that announce the caller's tenant's new findings (admins only: they hold secrets).

- ``POST /cdr/v1/webhooks``: ``{"name", "url", "kind": "json"|"slack", "min_severity"}``; the
  answer carries the signing ``secret``, shown this once (see docs/operations.md for how a
  receiver checks the ``X-Flowcdr-Signature`` header). A URL the deployment's egress policy
  refuses (plain http, loopback, private or metadata addresses: docs/security.md) is a 422 on
  ``url`` saying why.
- ``GET /cdr/v1/webhooks``: each webhook with its URL masked (scheme and host) and its last
  delivery's outcome: ``last_status``, ``failures`` (deliveries given up on since the last
  success), ``delivered``.
- ``DELETE /cdr/v1/webhooks/{id}``.
- ``POST /cdr/v1/webhooks/{id}/test``: one signed ``webhook.test`` event, sent now; the answer
  is the receiver's status or why it was not sent. Not retried, not counted as a delivery.

Adding, deleting and testing are audited.
"""

import datetime as dt

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from flowcdr.api.deps import Admin, ServicesDep, client_address
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.detect.rule import Severity
from flowcdr.detect.webhooks import Kind, Webhook, WebhookError

router = APIRouter(prefix="/cdr/v1", tags=["webhooks"])


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100, description="What to call it (default: its host)")
    url: str = Field(
        min_length=1, max_length=2048, description="https:// (http:// if the deployment allows)"
    )
    kind: Kind = "json"
    min_severity: Severity = Field(default="medium", description="Lowest severity announced")


class WebhookOut(BaseModel):
    id: str
    name: str
    url: str = Field(description="Scheme and host only; the rest is kept encrypted")
    kind: Kind
    min_severity: Severity
    created_by: str
    created_at: str
    last_attempt_at: str | None
    last_status: str | None = Field(description="HTTP status or network error of the last try")
    last_success_at: str | None
    failures: int = Field(description="Deliveries given up on since the last success")
    delivered: int


class WebhookCreated(WebhookOut):
    secret: str = Field(description="HMAC-SHA256 signing secret; shown only in this answer")


class WebhookTestOut(BaseModel):
    delivered: bool = Field(description="The receiver answered 2xx")
    status: str = Field(
        description="HTTP status, the network error, or `refused: <why>` when the egress "
        "policy does not let the URL be reached now"
    )
    delivery_id: str | None = Field(
        description="X-Flowcdr-Delivery of the test event; null when it was refused"
    )


@router.get("/webhooks", responses=ERROR_RESPONSES)
async def list_webhooks(user: Admin, found: ServicesDep) -> list[WebhookOut]:
    """The tenant's webhooks, URLs masked, with their deliveries' outcomes (admins)."""
    hooks = await run_in_threadpool(found.webhooks.all, user.tenant_id)
    return [_out(hook) for hook in hooks]


@router.post("/webhooks", status_code=201, responses=ERROR_RESPONSES)
async def add_webhook(
    given: WebhookIn, user: Admin, found: ServicesDep, request: Request
) -> WebhookCreated:
    """Announce the tenant's new findings to a URL; the answer holds the signing secret."""
    try:
        hook, secret = await run_in_threadpool(
            lambda: found.webhooks.add(
                user.tenant_id,
                name=given.name,
                url=given.url,
                kind=given.kind,
                min_severity=given.min_severity,
                actor=user.username,
                now=dt.datetime.now(dt.UTC),
            )
        )
    except WebhookError as error:
        raise ApiError(422, str(error), field=error.field) from None
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username, "webhook.add",
                            target=hook.id, client=client_address(request))  # fmt: skip
    return WebhookCreated(**_out(hook).model_dump(), secret=secret)


@router.delete("/webhooks/{webhook_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_webhook(
    webhook_id: str, user: Admin, found: ServicesDep, request: Request
) -> Response:
    """Stop announcing to this webhook; deliveries already under way finish."""
    done = await run_in_threadpool(found.webhooks.delete, user.tenant_id, webhook_id)
    if not done:
        raise ApiError(404, f"no webhook {webhook_id!r}", field="webhook_id")
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username, "webhook.delete",
                            target=webhook_id, client=client_address(request))  # fmt: skip
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/test", responses=ERROR_RESPONSES)
async def test_webhook(
    webhook_id: str, user: Admin, found: ServicesDep, request: Request
) -> WebhookTestOut:
    """Send a signed test event (webhook.test) now; the answer is its outcome."""
    sent = await run_in_threadpool(found.notifier.send_test, user.tenant_id, webhook_id)
    if sent is None:
        raise ApiError(404, f"no webhook {webhook_id!r}", field="webhook_id")
    delivery_id, outcome = sent
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username, "webhook.test",
                            target=webhook_id, client=client_address(request))  # fmt: skip
    return WebhookTestOut(delivered=outcome.delivered, status=outcome.status,
                          delivery_id=None if outcome.refused else delivery_id)  # fmt: skip


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=hook.id,
        name=hook.name,
        url=hook.url_hint,
        kind=hook.kind,
        min_severity=hook.min_severity,
        created_by=hook.created_by,
        created_at=hook.created_at,
        last_attempt_at=hook.last_attempt_at,
        last_status=hook.last_status,
        last_success_at=hook.last_success_at,
        failures=hook.failures,
        delivered=hook.delivered,
    )
