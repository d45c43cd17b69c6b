"""Sign in and out of the portal, with the accounts, throttle and audit of ``POST /auth``."""

import datetime as dt

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from flowcdr.api.deps import ServicesDep, client_address
from flowcdr.auth.passwords import verify_password
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import (
    COOKIE,
    SIGN_IN,
    PortalViewer,
    checked_form,
    same_origin,
    secure_cookie,
)

router = APIRouter(route_class=PortalRoute)
HOME = "/portal/"


def _safe_next(target: str | None) -> str:
    """Only a portal path: never another site (``//evil``) nor an API answer."""
    if target and target.startswith("/portal/") and not target.startswith("//"):
        return target
    return HOME


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get(SIGN_IN)
async def sign_in_form(request: Request, next: str | None = None) -> Response:
    return page(request, "sign_in.html", None, next=_safe_next(next), error=None, username="")


@router.post(SIGN_IN)
async def sign_in(request: Request, found: ServicesDep) -> Response:
    """Check the password as ``POST /auth`` does, then keep its token in the session cookie.

    There is no session yet to tie a CSRF token to; a sign-in posted from another site's page
    (which would sign the victim into the attacker's account) is told apart by its Origin."""
    if not same_origin(request):
        raise HTTPException(403, "cross-site sign-in is refused")
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    client = client_address(request)
    keys = (f"user:{username}", f"client:{client}")

    def refused(message: str, status: int) -> Response:
        return page(request, "sign_in.html", None, status=status, next=target, error=message,
                    username=username)  # fmt: skip

    wait = found.throttle.retry_after(*keys)
    if wait:
        return refused(f"Too many failed sign-ins; try again in {wait} s.", 429)
    user = await run_in_threadpool(found.store.user, username) if username else None
    usable = user is not None and not user.disabled
    stored_hash = user.password_hash if usable and user is not None else None
    matched = await run_in_threadpool(verify_password, stored_hash, password)
    if not matched or user is None:
        found.throttle.fail(*keys)
        tenant = user.tenant_id if user is not None else None
        await run_in_threadpool(found.store.audit, tenant, username, "sign_in",
                                client=client, outcome="denied")  # fmt: skip
        return refused("Invalid username or password.", 401)
    found.throttle.succeed(keys[0])
    lifetime = dt.timedelta(minutes=found.settings.auth_token_minutes)
    token = found.signer.issue_auth(user.id, user.username, user.tenant_id, user.role, lifetime)
    await run_in_threadpool(found.store.audit, user.tenant_id, username, "sign_in", client=client)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookie(request),
    )
    return response


@router.post("/portal/sign-out")
async def sign_out(request: Request, viewer: PortalViewer, found: ServicesDep) -> Response:
    await checked_form(request, viewer)
    await run_in_threadpool(found.store.audit, viewer.user.tenant_id, viewer.user.username,
                            "sign_out", client=client_address(request))  # fmt: skip
    response = RedirectResponse(SIGN_IN, status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure_cookie(request))  # fmt: skip
    return response
