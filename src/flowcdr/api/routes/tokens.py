"""Subscription tokens of the tenant: list (ids and dates only) and revoke."""

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from flowcdr.api.deps import Admin, CurrentUser, ServicesDep, client_address
from flowcdr.api.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/cdr/v1/subscription-tokens", tags=["tokens"])


class TokenInfo(BaseModel):
    id: str
    createdAt: str  # noqa: N815
    expiresAt: str  # noqa: N815
    lastUsedAt: str | None  # noqa: N815
    revokedAt: str | None  # noqa: N815


@router.get("", responses=ERROR_RESPONSES)
async def list_tokens(user: CurrentUser, found: ServicesDep) -> list[TokenInfo]:
    tokens = await run_in_threadpool(found.store.subscription_tokens, user.tenant_id)
    return [
        TokenInfo(
            id=t.id,
            createdAt=t.created_at,
            expiresAt=t.expires_at,
            lastUsedAt=t.last_used_at,
            revokedAt=t.revoked_at,
        )
        for t in tokens
    ]


@router.delete("/{token_id}", status_code=204, responses=ERROR_RESPONSES)
async def revoke_token(
    token_id: str, user: Admin, found: ServicesDep, request: Request
) -> Response:
    """Revoke a token; collectors using it are refused from their next request."""
    done = await run_in_threadpool(found.store.revoke_subscription_token, user.tenant_id, token_id)
    if not done:
        raise ApiError(404, f"no subscription token {token_id!r}", field="token_id")
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username,
                            "subscription_token.revoke", target=token_id,
                            client=client_address(request))  # fmt: skip
    return Response(status_code=204)
