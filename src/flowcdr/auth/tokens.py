"""Signed tokens: sign-in tokens for people, subscription tokens for collectors.

Both are HS256 JWTs signed with the deployment's key, told apart by the ``typ`` claim so one
kind can never be used where the other is expected. A subscription token also names its
tenant and id; the server stores only its SHA-256 and checks that too, so a revoked or deleted
token stops working on the next request even though its signature is still valid.
"""

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt

from flowcdr.errors import FlowcdrError

ALGORITHM = "HS256"
Kind = Literal["auth", "subscription"]


class TokenError(FlowcdrError):
    """A token that is malformed, forged, expired or of the wrong kind."""


@dataclass(frozen=True)
class Claims:
    kind: Kind
    subject: str  # user id, or subscription token id
    tenant_id: str
    username: str | None
    role: str | None
    expires_at: dt.datetime


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue_auth(
        self, user_id: str, username: str, tenant_id: str, role: str, lifetime: dt.timedelta
    ) -> str:
        return self._sign("auth", user_id, tenant_id, lifetime, {"name": username, "role": role})

    def issue_subscription(
        self, tenant_id: str, lifetime: dt.timedelta
    ) -> tuple[str, str, dt.datetime]:
        """A new subscription token: (token, its id, when it expires)."""
        token_id = str(uuid.uuid4())
        token = self._sign("subscription", token_id, tenant_id, lifetime, {})
        return token, token_id, _now() + lifetime

    def verify(self, token: str, kind: Kind) -> Claims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "iat", "sub", "typ", "tenant"]},
            )
        except jwt.PyJWTError as error:
            raise TokenError(str(error)) from None
        if claims.get("typ") != kind:
            raise TokenError(f"not a {kind} token")
        return Claims(
            kind,
            str(claims["sub"]),
            str(claims["tenant"]),
            claims.get("name"),
            claims.get("role"),
            dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
        )

    def _sign(
        self,
        kind: Kind,
        subject: str,
        tenant_id: str,
        lifetime: dt.timedelta,
        extra: dict[str, str],
    ) -> str:
        issued = _now()
        payload = {
            "typ": kind,
            "sub": subject,
            "tenant": tenant_id,
            "iat": issued,
            "exp": issued + lifetime,
            "jti": str(uuid.uuid4()),
            **extra,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
