"""Every API route against every kind of bad or wrong credential: refused, never served.

The routes come from the app's own OpenAPI document, so a new route joins the matrix without
anyone adding it. Management routes take only a valid sign-in token of a live user, collector
routes only a valid subscription token, and nothing answers 2xx or 5xx to a missing, tampered,
unsigned (``alg: none``), expired, revoked or wrong-kind token, or to a disabled user's token.
"""

import base64
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable

import pytest

from flowcdr.auth.tokens import token_hash

from .conftest import Gateway

# Routes a collector (subscription token) calls; everything else under these prefixes is
# the management API (sign-in token). DELETE of a connector takes either (terraform destroy).
COLLECTOR = {("POST", "/cdr/v1/ingest"), ("POST", "/cdr/v1/azure/connectors/register")}
EITHER = {("DELETE", "/cdr/v1/azure/connectors/{client_id}")}
PROTECTED = ("/cdr/v1/", "/qas/")


def api_routes(gateway: Gateway) -> list[tuple[str, str]]:
    """Every (method, path) the app publishes in its OpenAPI document under the API prefixes."""
    schema = gateway.client.app.openapi()  # type: ignore[attr-defined]
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if path.startswith(PROTECTED)
        for method in operations
    ]


def unsigned(token: str) -> str:
    """The same claims with ``alg: none`` and no signature."""
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{header}.{token.split('.')[1]}."


def tampered(token: str) -> str:
    """The payload changed (another tenant), the signature kept."""
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["tenant"] = str(uuid.uuid4())
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def expired(gateway: Gateway, username: str) -> str:
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    user = services.store.user(username)
    return str(
        services.signer.issue_auth(
            user.id, user.username, user.tenant_id, user.role, dt.timedelta(seconds=-5)
        )
    )


def expired_subscription(gateway: Gateway, username: str) -> str:
    """A subscription token issued and stored as the route does, whose time is up."""
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    user = services.store.user(username)
    token, token_id, expires = services.signer.issue_subscription(
        user.tenant_id, dt.timedelta(seconds=-5)
    )
    services.store.add_subscription_token(
        token_id, user.tenant_id, user.id, token_hash(token), expires.isoformat()
    )
    return str(token)


def revoked_subscription(gateway: Gateway, username: str) -> str:
    """A subscription token issued through the API, then revoked through it."""
    token = gateway.subscription_token(username)
    listed = gateway.client.get("/cdr/v1/subscription-tokens", headers=gateway.bearer(username))
    newest = max(listed.json(), key=lambda t: t["createdAt"])
    gone = gateway.client.delete(
        f"/cdr/v1/subscription-tokens/{newest['id']}", headers=gateway.bearer(username)
    )
    assert gone.status_code == 204, gone.text
    return token


def call(gateway: Gateway, method: str, path: str, token: str | None) -> int:
    url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path.replace("{dimension}", "talkers"))
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = gateway.client.request(method, url, headers=headers, json={})
    return response.status_code


def test_every_route_refuses_bad_and_wrong_kind_credentials(gateway: Gateway) -> None:
    sign_in = gateway.sign_in("alice")
    subscription = gateway.subscription_token("alice")
    bad: dict[str, Callable[[], str | None]] = {
        "none": lambda: None,
        "garbage": lambda: "not-a-token",
        "tampered sign-in": lambda: tampered(sign_in),
        "unsigned sign-in": lambda: unsigned(sign_in),
        "expired sign-in": lambda: expired(gateway, "alice"),
        "tampered subscription": lambda: tampered(subscription),
        "unsigned subscription": lambda: unsigned(subscription),
        "expired subscription": lambda: expired_subscription(gateway, "alice"),
        "revoked subscription": lambda: revoked_subscription(gateway, "alice"),
    }
    table = api_routes(gateway)
    assert len(table) >= 25  # the matrix really covers the API
    served = []
    for method, path in table:
        credentials = dict(bad)
        if (method, path) in COLLECTOR:
            credentials["a sign-in token on a collector route"] = lambda: sign_in
        elif (method, path) not in EITHER:
            credentials["a subscription token on a management route"] = lambda: subscription
        for name, token in credentials.items():
            status = call(gateway, method, path, token())
            if status not in (401, 403):
                served.append(f"{method} {path} with {name}: {status}")
    assert served == []


def test_a_disabled_users_valid_token_is_refused_everywhere(gateway: Gateway) -> None:
    token = gateway.sign_in("amy")
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    services.store.set_disabled("amy", True)
    served = [
        f"{method} {path}: {status}"
        for method, path in api_routes(gateway)
        if (method, path) not in COLLECTOR
        and (status := call(gateway, method, path, token)) not in (401, 403)
    ]
    assert served == []


@pytest.mark.parametrize("username", ["amy", "bea"])
def test_analysts_cannot_change_anything_admin_only(gateway: Gateway, username: str) -> None:
    token = gateway.sign_in(username)
    admin_only = [
        ("POST", "/qas/subscription-token"),
        ("POST", "/cdr/v1/azure/flowlogs"),
        ("PATCH", "/cdr/v1/azure/flowlogs/{config_id}"),
        ("DELETE", "/cdr/v1/azure/flowlogs/{config_id}"),
        ("GET", "/cdr/v1/azure/flowlogs/{config_id}/scripts"),
        ("DELETE", "/cdr/v1/subscription-tokens/{token_id}"),
        ("GET", "/cdr/v1/audit"),
        ("POST", "/cdr/v1/suppressions"),
        ("DELETE", "/cdr/v1/suppressions/{suppression_id}"),
        ("PATCH", "/cdr/v1/findings/{finding_id}"),
        ("POST", "/cdr/v1/inventory/sync"),
        ("PUT", "/cdr/v1/rules/{rule_id}/settings"),
        ("GET", "/cdr/v1/webhooks"),
        ("POST", "/cdr/v1/webhooks"),
        ("DELETE", "/cdr/v1/webhooks/{webhook_id}"),
        ("POST", "/cdr/v1/webhooks/{webhook_id}/test"),
    ]
    known = set(api_routes(gateway))
    assert set(admin_only) <= known
    assert [(m, p) for m, p in admin_only if call(gateway, m, p, token) != 403] == []
