"""POST /auth and POST /qas/subscription-token as the product's users call them."""

import base64
import datetime as dt
import json
import statistics
import time
from typing import Any

import jwt

from flowcdr.auth.passwords import verify_password

from .conftest import FORM, PASSWORD, Gateway


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def test_sign_in_returns_only_the_jwt_as_text(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/auth", content=f"username=alice&password={PASSWORD}&token=true", headers=FORM
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    token = response.text
    assert token.count(".") == 2
    assert "\n" not in token
    body = claims(token)
    assert (body["typ"], body["name"], body["role"]) == ("auth", "alice", "admin")
    lifetime = body["exp"] - body["iat"]
    assert lifetime == 4 * 3600


def test_wrong_password_and_unknown_user_look_the_same(gateway: Gateway) -> None:
    wrong = gateway.client.post(
        "/auth", data={"username": "alice", "password": "nope", "token": "true"}
    )
    unknown = gateway.client.post(
        "/auth", data={"username": "mallory", "password": "nope", "token": "true"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["message"] == "invalid username or password"


def test_unknown_users_cost_a_full_password_verification(password_hash: str) -> None:
    real = password_hash

    def median(stored: str | None) -> float:
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            verify_password(stored, "wrong password")
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    known, unknown = median(real), median(None)
    assert 0.5 < unknown / known < 2.0


def test_form_problems_are_400_naming_the_problem(gateway: Gateway) -> None:
    as_json = gateway.client.post(
        "/auth", json={"username": "alice", "password": PASSWORD, "token": "true"}
    )
    assert as_json.status_code == 400
    assert "application/x-www-form-urlencoded" in as_json.json()["error"]["message"]
    no_token = gateway.client.post("/auth", data={"username": "alice", "password": PASSWORD})
    assert (no_token.status_code, no_token.json()["error"]["field"]) == (400, "token")
    false_token = gateway.client.post(
        "/auth", data={"username": "alice", "password": PASSWORD, "token": "false"}
    )
    assert (false_token.status_code, false_token.json()["error"]["field"]) == (400, "token")
    no_user = gateway.client.post("/auth", data={"password": PASSWORD, "token": "true"})
    assert (no_user.status_code, no_user.json()["error"]["field"]) == (400, "username")


def test_repeated_failures_are_throttled_per_username_and_address(gateway: Gateway) -> None:
    for _ in range(3):
        failed = gateway.client.post(
            "/auth", data={"username": "amy", "password": "bad", "token": "true"}
        )
        assert failed.status_code == 401
    blocked = gateway.client.post(
        "/auth", data={"username": "amy", "password": PASSWORD, "token": "true"}
    )
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    # The same client address is now throttled for other usernames too.
    other = gateway.client.post(
        "/auth", data={"username": "bob", "password": PASSWORD, "token": "true"}
    )
    assert other.status_code == 429


def test_disabled_users_cannot_sign_in_and_their_tokens_stop(gateway: Gateway) -> None:
    headers = gateway.bearer("amy")
    assert gateway.client.get("/cdr/v1/azure/flowlogs", headers=headers).status_code == 200
    gateway.client.app.state.services.store.set_disabled("amy", True)  # type: ignore[attr-defined]
    assert gateway.client.get("/cdr/v1/azure/flowlogs", headers=headers).status_code == 401
    refused = gateway.client.post(
        "/auth", data={"username": "amy", "password": PASSWORD, "token": "true"}
    )
    assert refused.status_code == 401


def test_subscription_token_is_jwt_shaped_and_only_its_hash_is_stored(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/qas/subscription-token", json={"expiry": 500000}, headers=gateway.bearer("alice")
    )
    assert response.status_code == 200
    body = response.json()
    token = body["subscriptionToken"]
    assert len(token.split(".")) == 3
    decoded = claims(token)
    assert decoded["typ"] == "subscription"
    assert decoded["tenant"]
    assert decoded["sub"]
    assert decoded["exp"] - decoded["iat"] == 500000 * 60
    expires_at = dt.datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert abs(expires_at.timestamp() - decoded["exp"]) < 1
    stored = gateway.stored()
    assert token.encode() not in stored
    assert token.split(".")[2].encode() not in stored


def test_subscription_token_expiry_is_bounded(gateway: Gateway) -> None:
    headers = gateway.bearer("alice")
    for bad in (0, -5, 1_051_201, "500000", 1.5, None):
        response = gateway.client.post(
            "/qas/subscription-token", json={"expiry": bad}, headers=headers
        )
        assert response.status_code == 422, bad
        assert response.json()["error"]["field"] == "expiry"
    missing = gateway.client.post("/qas/subscription-token", json={}, headers=headers)
    assert missing.status_code == 422


def test_analysts_cannot_issue_subscription_tokens(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/qas/subscription-token", json={"expiry": 60}, headers=gateway.bearer("amy")
    )
    assert response.status_code == 403


def test_a_forged_or_foreign_key_token_is_refused(gateway: Gateway) -> None:
    forged = jwt.encode(
        {"typ": "auth", "sub": "x", "tenant": "y", "iat": 0, "exp": 4_000_000_000},
        "a-key-that-is-not-the-gateways-signing-key",
        algorithm="HS256",
    )
    response = gateway.client.get(
        "/cdr/v1/azure/flowlogs", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_oversized_sign_in_form_is_refused_unread(gateway: Gateway) -> None:
    response = gateway.client.post(
        "/auth", content="username=" + "a" * 20000 + "&password=x&token=true", headers=FORM
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
