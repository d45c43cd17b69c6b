"""The gateway as an operator runs it: real CLI, real ``flowcdr serve`` process, real sockets.

The unit tests drive the app in-process with a TestClient; they cannot see what only a real
deployment shows: that ``python -m flowcdr serve`` starts and answers on a socket, that the
documentation's two ``curl`` commands work byte for byte (curl's ``-d`` form encoding, a bare
JWT on stdout), and that no secret ends up in the files an attacker or a backup would read
(the SQLite control database with its WAL, the server log), while the key files stay private.
"""

import base64
import datetime as dt
import json
import os
import secrets
import shutil
import stat
import subprocess

import pytest

from .server import (
    COMMAND_SECONDS,
    EXPIRY_MINUTES,
    JWT,
    USERNAME,
    Gateway,
    call,
    claims,
)

pytestmark = pytest.mark.integration

CURL = shutil.which("curl")
REQUIRED = os.environ.get("FLOWCDR_FUNCTIONAL_TESTS") == "1"
if CURL is None:
    if REQUIRED:
        pytest.fail("FLOWCDR_FUNCTIONAL_TESTS=1 but there is no curl on PATH", pytrace=False)
    pytest.skip(
        "curl is not on PATH (set FLOWCDR_FUNCTIONAL_TESTS=1 to make this a failure)",
        allow_module_level=True,
    )


def curl(gateway: Gateway, *args: str) -> str:
    """Run the real curl binary with an argument list (no shell) and return its stdout."""
    assert CURL is not None
    result = subprocess.run(
        [CURL, *args],
        capture_output=True,
        text=True,
        env=gateway.env,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"curl {args} exited {result.returncode}: {result.stderr}"
    return result.stdout


def test_documented_flow_works_and_leaves_no_secret_behind(gateway: Gateway) -> None:
    """The docs' curl commands, a flow-log config with a key, then files and log hold no secret."""
    base = gateway.base_url
    jwt_text = curl(
        gateway,
        "-s",
        "-X",
        "POST",
        f"{base}/auth",
        "-d",
        f"username={USERNAME}&password={gateway.password}&token=true",
    )
    assert JWT.fullmatch(jwt_text), f"expected only a JWT on stdout, got {jwt_text!r}"

    before = dt.datetime.now(dt.UTC)
    issued = curl(
        gateway,
        "-s",
        "-X",
        "POST",
        f"{base}/qas/subscription-token",
        "-H",
        f"Authorization: Bearer {jwt_text}",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"expiry": 500000}',
    )
    after = dt.datetime.now(dt.UTC)
    body = json.loads(issued)
    assert set(body) == {"subscriptionToken", "expiresAt"}
    subscription_token = body["subscriptionToken"]
    assert JWT.fullmatch(subscription_token)
    expires_at = dt.datetime.fromisoformat(body["expiresAt"])
    assert expires_at.tzinfo is not None
    lifetime = dt.timedelta(minutes=EXPIRY_MINUTES)
    slack = dt.timedelta(minutes=1)
    assert before + lifetime - slack <= expires_at <= after + lifetime + slack

    # A distinctive Azure-sized (64-byte) account key, so a leak cannot be a coincidence.
    key_bytes = (b"flowcdr-integration-account-key:" + secrets.token_bytes(32))[:64]
    account_key = base64.b64encode(key_bytes).decode()
    config = {
        "deploymentName": "azure-integration",
        "subscriptionId": "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
        "buckets": [
            {
                "storageAccount": "flowcdrint",
                "region": "eastus",
                "connectionString": "DefaultEndpointsProtocol=https;AccountName=flowcdrint;"
                f"AccountKey={account_key};EndpointSuffix=core.windows.net",
            }
        ],
    }
    status, created = call(gateway, "POST", "/cdr/v1/azure/flowlogs", jwt_text, config)
    assert status == 201, created
    shown = created["buckets"][0]["connectionString"]
    assert "AccountKey=****" in shown
    assert account_key not in json.dumps(created)

    status, listed = call(gateway, "GET", "/cdr/v1/subscription-tokens", jwt_text)
    assert status == 200, listed
    assert len(listed) == 1
    assert set(listed[0]) == {"id", "createdAt", "expiresAt", "lastUsedAt", "revokedAt"}
    assert listed[0]["id"] == claims(subscription_token)["sub"]
    assert listed[0]["revokedAt"] is None
    assert subscription_token.split(".")[2] not in json.dumps(listed)

    # The WAL is checkpointed away on a clean shutdown: look at it while it still exists too.
    while_running = {
        f"{path.name} (while running)": path.read_bytes()
        for path in sorted(gateway.data_dir.glob("control.db*"))
    }
    gateway.stop()
    assert gateway.process.returncode is not None

    secrets_by_name = {
        "password": gateway.password.encode(),
        "sign-in JWT": jwt_text.encode(),
        "sign-in JWT signature": jwt_text.split(".")[2].encode(),
        "subscription token": subscription_token.encode(),
        "subscription token signature": subscription_token.split(".")[2].encode(),
        "account key": account_key.encode(),
        "account key bytes": key_bytes,
    }
    database_files = sorted(gateway.data_dir.glob("control.db*"))
    assert gateway.data_dir / "control.db" in database_files
    contents = {path.name: path.read_bytes() for path in database_files} | while_running
    leaks = [
        f"{name} in {where}"
        for where, data in contents.items()
        for name, secret in secrets_by_name.items()
        if secret in data
    ]
    assert leaks == [], f"secrets at rest: {leaks}"

    for name in ("jwt.key", "encryption.key"):
        key_file = gateway.data_dir / name
        assert key_file.is_file(), f"{name} missing"
        mode = stat.S_IMODE(key_file.stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"

    log = gateway.log_path.read_bytes()
    assert log, "the server log is empty: is it captured at all?"
    logged = [name for name, secret in secrets_by_name.items() if secret in log]
    assert logged == [], f"secrets in the server log: {logged}"


def test_bad_sign_in_is_a_json_401(gateway: Gateway) -> None:
    """A wrong password gets 401 with the one error shape, and the password is not echoed."""
    wrong = "wrong-" + secrets.token_hex(8)
    out = curl(
        gateway,
        "-s",
        "-X",
        "POST",
        f"{gateway.base_url}/auth",
        "-d",
        f"username={USERNAME}&password={wrong}&token=true",
        "-w",
        "%{http_code}",
    )
    body, status = out[:-3], out[-3:]
    assert status == "401", out
    error = json.loads(body)
    assert set(error) == {"error"}
    assert isinstance(error["error"]["code"], str)
    assert isinstance(error["error"]["message"], str)
    assert error["error"]["code"] == "unauthorized"
    assert wrong not in body
