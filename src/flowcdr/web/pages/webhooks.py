"""Webhooks: list, add (signing secret shown once), send a test event, delete; admins only.

Every action calls the API's route function, so a URL is checked against the deployment's
egress policy, the secret made and sealed, and each change audited exactly as through
``/cdr/v1/webhooks``; a refused URL comes back as the API's reason beside the form. The list
shows a URL's scheme and host only and never a secret. A test event's outcome (the receiver's
status, or why it was not sent) is shown on the page its form posted to, not carried in a URL.
"""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from flowcdr.api.deps import ServicesDep
from flowcdr.api.errors import ApiError
from flowcdr.api.routes import webhooks as webhooks_api
from flowcdr.detect.rule import SEVERITIES
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalAdmin, checked_form

router = APIRouter(prefix="/portal/webhooks", route_class=PortalRoute)
KINDS = {"json": "Generic JSON", "slack": "Slack-compatible"}
FIELDS = ("name", "url", "kind", "min_severity")


async def _page(
    request: Request,
    viewer: PortalAdmin,
    found: ServicesDep,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    created: webhooks_api.WebhookCreated | None = None,
    tested: tuple[webhooks_api.WebhookOut, webhooks_api.WebhookTestOut] | None = None,
) -> Response:
    hooks = await webhooks_api.list_webhooks(viewer.user, found)
    return page(request, "webhooks.html", viewer, status=422 if error else 200, nav="webhooks",
                hooks=hooks, error=error, values=values or {}, created=created, tested=tested,
                kinds=KINDS, severities=SEVERITIES)  # fmt: skip


@router.get("")
async def webhooks(request: Request, viewer: PortalAdmin, found: ServicesDep) -> Response:
    return await _page(request, viewer, found)


@router.post("")
async def add(request: Request, viewer: PortalAdmin, found: ServicesDep) -> Response:
    form = await checked_form(request, viewer)
    values = {name: str(form.get(name, "")).strip() for name in FIELDS}
    try:
        given = webhooks_api.WebhookIn.model_validate({k: v for k, v in values.items() if v})
        created = await webhooks_api.add_webhook(given, viewer.user, found, request)
    except ApiError as error:
        return await _page(request, viewer, found, error=error.message, values=values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        return await _page(request, viewer, found, error=message, values=values)
    return await _page(request, viewer, found, created=created)


@router.post("/{webhook_id}/test")
async def send_test(
    webhook_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    await checked_form(request, viewer)
    result = await webhooks_api.test_webhook(webhook_id, viewer.user, found, request)
    hooks = await webhooks_api.list_webhooks(viewer.user, found)
    hook = next((hook for hook in hooks if hook.id == webhook_id), None)
    if hook is None:  # deleted between the test and this page
        return RedirectResponse("/portal/webhooks", status_code=303)
    return await _page(request, viewer, found, tested=(hook, result))


@router.post("/{webhook_id}/delete")
async def delete(
    webhook_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    await checked_form(request, viewer)
    await webhooks_api.delete_webhook(webhook_id, viewer.user, found, request)
    return RedirectResponse("/portal/webhooks", status_code=303)
