"""Subscription tokens: issue one (shown once, with a copy button), list, revoke.

Issuing and revoking call the API's route functions, so the token is made, hashed, stored and
audited exactly as ``POST /qas/subscription-token`` does. The new token is in that one answer
only (never in a redirect URL, never cached); afterwards only its id and dates are shown.
"""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from flowcdr.api.deps import ServicesDep
from flowcdr.api.errors import ApiError
from flowcdr.api.routes import auth as auth_api
from flowcdr.api.routes import tokens as tokens_api
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalAdmin, PortalViewer, checked_form

router = APIRouter(prefix="/portal/tokens", route_class=PortalRoute)
# Lifetimes offered, in minutes: what a collector deployment usually wants.
LIFETIMES = {"1 day": 1440, "30 days": 43_200, "90 days": 129_600, "1 year": 525_600}
DEFAULT_LIFETIME = 525_600


async def _page(
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
    *,
    issued: auth_api.SubscriptionTokenResponse | None = None,
    error: str | None = None,
) -> Response:
    tokens = await tokens_api.list_tokens(viewer.user, found)
    tokens.sort(key=lambda t: t.createdAt, reverse=True)
    return page(request, "tokens.html", viewer, status=422 if error else 200, nav="tokens",
                tokens=tokens, issued=issued, error=error, lifetimes=LIFETIMES,
                default_lifetime=DEFAULT_LIFETIME)  # fmt: skip


@router.get("")
async def list_tokens(request: Request, viewer: PortalViewer, found: ServicesDep) -> Response:
    return await _page(request, viewer, found)


@router.post("")
async def issue(request: Request, viewer: PortalAdmin, found: ServicesDep) -> Response:
    form = await checked_form(request, viewer)
    text = str(form.get("expiry", "")).strip()
    try:
        body = auth_api.SubscriptionTokenRequest(expiry=int(text) if text.isdigit() else -1)
        issued = await auth_api.subscription_token(body, viewer.user, found, request)
    except (ValidationError, ApiError):
        message = f"the lifetime must be 1 to {auth_api.MAX_EXPIRY_MINUTES:,} minutes"
        return await _page(request, viewer, found, error=message)
    return await _page(request, viewer, found, issued=issued)


@router.post("/{token_id}/revoke")
async def revoke(
    token_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    await checked_form(request, viewer)
    await tokens_api.revoke_token(token_id, viewer.user, found, request)
    return RedirectResponse("/portal/tokens", status_code=303)
