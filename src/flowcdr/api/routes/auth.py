"""Sign-in and subscription tokens, exactly as the product's documentation uses them:

    curl -X POST <gateway>/auth -d "username=...&password=...&token=true"
    curl -X POST <gateway>/qas/subscription-token -H "Authorization: Bearer <jwt>" \\
         -H "Content-Type: application/json" -d '{"expiry": 500000}'
"""

import datetime as dt
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from flowcdr.api.deps import Admin, ServicesDep, client_address
from flowcdr.api.errors import ERROR_RESPONSES, NON_JSON_ROUTE_ERRORS, ApiError
from flowcdr.auth.passwords import verify_password
from flowcdr.auth.tokens import token_hash

router = APIRouter(tags=["auth"])

FORM = "application/x-www-form-urlencoded"
MAX_EXPIRY_MINUTES = 1_051_200  # two years
MAX_FORM_BYTES = 16 * 1024
_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["username", "password", "token"],
                    "properties": {
                        "username": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                        "token": {"type": "string", "enum": ["true"]},
                    },
                }
            }
        },
    }
}


@router.post(
    "/auth",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {}}, "description": "The sign-in JWT, alone."},
        **NON_JSON_ROUTE_ERRORS,
    },
    openapi_extra=_FORM_SCHEMA,
)
async def sign_in(request: Request, found: ServicesDep) -> PlainTextResponse:
    """Exchange a username and password for a sign-in token (about 4 hours)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != FORM:
        raise ApiError(400, f"send the form as {FORM}, not {kind or 'no content type'}")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_FORM_BYTES:
            raise ApiError(413, f"a sign-in form is at most {MAX_FORM_BYTES} bytes")
    try:
        form = dict(reversed(parse_qsl(body.decode(), keep_blank_values=True)))
    except UnicodeDecodeError:
        raise ApiError(400, "the form is not UTF-8") from None
    fields = {}
    for name in ("username", "password", "token"):
        value = form.get(name)
        if not value:
            raise ApiError(400, f"form field {name!r} is required", field=name)
        fields[name] = value
    if fields["token"] != "true":  # noqa: S105 - the form flag, not a secret
        raise ApiError(400, "form field 'token' must be true", field="token")
    username, client = fields["username"], client_address(request)
    keys = (f"user:{username}", f"client:{client}")
    wait = found.throttle.retry_after(*keys)
    if wait:
        raise ApiError(429, f"too many failed sign-ins; retry in {wait} s",
                       headers={"Retry-After": str(wait)})  # fmt: skip
    user = await run_in_threadpool(found.store.user, username)
    usable = user is not None and not user.disabled
    stored_hash = user.password_hash if usable and user is not None else None
    matched = await run_in_threadpool(verify_password, stored_hash, fields["password"])
    tenant_id = user.tenant_id if user is not None else None
    if not matched or user is None:
        found.throttle.fail(*keys)
        await run_in_threadpool(found.store.audit, tenant_id, username, "sign_in",
                                client=client, outcome="denied")  # fmt: skip
        raise ApiError(401, "invalid username or password")
    found.throttle.succeed(keys[0])
    lifetime = dt.timedelta(minutes=found.settings.auth_token_minutes)
    token = found.signer.issue_auth(user.id, user.username, user.tenant_id, user.role, lifetime)
    await run_in_threadpool(found.store.audit, user.tenant_id, username, "sign_in", client=client)
    return PlainTextResponse(token)


class SubscriptionTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expiry: Annotated[int, Field(ge=1, le=MAX_EXPIRY_MINUTES, strict=True)] = Field(
        description="Lifetime in minutes (500000 is about 347 days)."
    )


class SubscriptionTokenResponse(BaseModel):
    subscriptionToken: str  # noqa: N815 - the product's field name
    expiresAt: dt.datetime  # noqa: N815


@router.post("/qas/subscription-token", responses=ERROR_RESPONSES)
async def subscription_token(
    body: SubscriptionTokenRequest, user: Admin, found: ServicesDep, request: Request
) -> SubscriptionTokenResponse:
    """Issue a subscription token for collectors of the caller's tenant (admins only)."""
    token, token_id, expires = found.signer.issue_subscription(
        user.tenant_id, dt.timedelta(minutes=body.expiry)
    )
    await run_in_threadpool(
        found.store.add_subscription_token,
        token_id,
        user.tenant_id,
        user.id,
        token_hash(token),
        expires.isoformat(timespec="microseconds"),
    )
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username,
                            "subscription_token.issue", target=token_id,
                            client=client_address(request))  # fmt: skip
    return SubscriptionTokenResponse(subscriptionToken=token, expiresAt=expires)
