"""Who is calling, as FastAPI dependencies: people (sign-in JWT) and collectors (subscription).

The two token kinds never stand in for each other, every principal carries its tenant, and
every route filters on it.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from flowcdr.api.errors import ApiError
from flowcdr.api.services import Services
from flowcdr.auth.tokens import TokenError, same_hash, token_hash
from flowcdr.store.control import now

_bearer = HTTPBearer(auto_error=False, description="A sign-in token from POST /auth")
_subscription = HTTPBearer(
    auto_error=False,
    scheme_name="SubscriptionToken",
    description="A subscription token from POST /qas/subscription-token",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# A collector calls every few seconds; recording each use would be a write per request.
_TOUCH_EVERY = dt.timedelta(minutes=1)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


@dataclass(frozen=True)
class User:
    id: str
    username: str
    tenant_id: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Collector:
    token_id: str
    tenant_id: str


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_user(
    found: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise ApiError(401, "sign in first: Authorization: Bearer <token from POST /auth>",
                       headers=_CHALLENGE)  # fmt: skip
    try:
        claims = found.signer.verify(credentials.credentials, "auth")
    except TokenError as error:
        raise ApiError(401, f"invalid sign-in token: {error}", headers=_CHALLENGE) from None
    user = await run_in_threadpool(found.store.user, claims.username or "")
    if user is None or user.disabled or user.id != claims.subject:
        raise ApiError(401, "invalid sign-in token: the user is disabled or gone",
                       headers=_CHALLENGE)  # fmt: skip
    return User(user.id, user.username, user.tenant_id, user.role)


async def admin(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise ApiError(403, "this action needs the admin role")
    return user


async def collector(
    found: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_subscription)],
) -> Collector:
    if credentials is None:
        raise ApiError(401, "a subscription token is required", headers=_CHALLENGE)
    token = credentials.credentials
    try:
        claims = found.signer.verify(token, "subscription")
    except TokenError as error:
        raise ApiError(401, f"invalid subscription token: {error}", headers=_CHALLENGE) from None
    stored = await run_in_threadpool(found.store.subscription_token, claims.subject)
    if (
        stored is None
        or stored.tenant_id != claims.tenant_id
        or not same_hash(stored.token_hash, token_hash(token))
        or stored.revoked_at is not None
        or stored.expires_at <= now()
    ):
        raise ApiError(401, "invalid subscription token: revoked, expired or unknown",
                       headers=_CHALLENGE)  # fmt: skip
    stamp = now()
    last = stored.last_used_at
    if last is None or dt.datetime.fromisoformat(last) + _TOUCH_EVERY < dt.datetime.fromisoformat(
        stamp
    ):
        await run_in_threadpool(found.store.touch_subscription_token, stored.id, stamp)
    return Collector(stored.id, stored.tenant_id)


CurrentUser = Annotated[User, Depends(current_user)]
Admin = Annotated[User, Depends(admin)]
CurrentCollector = Annotated[Collector, Depends(collector)]
