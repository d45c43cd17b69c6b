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
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

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

USERNAME = "alice"
TENANT = "contoso"
JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
EXPIRY_MINUTES = 500_000
READY_SECONDS = 20.0  # how long ``serve`` may take to answer /healthz
COMMAND_SECONDS = 30.0  # bound on any one CLI or curl run (argon2 hashing is deliberately slow)
STOP_SECONDS = 10.0  # graceful shutdown before the server is killed
# urllib would honour http_proxy & co.; the gateway is on loopback, never behind a proxy.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Gateway:
    """A running ``flowcdr serve`` process, its data dir and its log file."""

    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log_path: Path
    password: str
    env: dict[str, str]
    log_file: IO[bytes] = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server (idempotent): SIGTERM, a bounded wait, then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)
        if not self.log_file.closed:
            self.log_file.close()


def clean_env(home: Path) -> dict[str, str]:
    """The environment for child processes, isolated from the developer's machine.

    ``FLOWCDR_*`` variables would override the data dir or supply keys (then no key files
    are written); proxy variables would route curl's loopback requests elsewhere; a user's
    ``.curlrc`` could add options. None of them may change what the test observes.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("FLOWCDR_") and not name.lower().endswith("_proxy")
    }
    env.update(PYTHONUNBUFFERED="1", CURL_HOME=str(home), XDG_CONFIG_HOME=str(home), HOME=str(home))
    return env


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; a tiny race is acceptable)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def add_admin(data_dir: Path, password: str, env: dict[str, str]) -> None:
    """Create the admin with the real CLI, the password on stdin as the docs tell operators."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowcdr",
            "users",
            "add",
            USERNAME,
            "--tenant",
            TENANT,
            "--role",
            "admin",
            "--password-stdin",
            "--data-dir",
            str(data_dir),
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"users add failed:\n{result.stdout}\n{result.stderr}"
    assert password not in result.stdout + result.stderr


def wait_until_ready(gateway: Gateway) -> None:
    """Poll /healthz until it answers, failing fast if the process dies, within READY_SECONDS."""
    deadline = time.monotonic() + READY_SECONDS
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            pytest.fail(
                f"flowcdr serve exited with {gateway.process.returncode} before it was ready;"
                f" log:\n{gateway.log()}"
            )
        try:
            with DIRECT.open(f"{gateway.base_url}/healthz", timeout=1.0) as response:
                if response.status == 200 and json.load(response) == {"status": "ok"}:
                    return
                last_error = f"HTTP {response.status}"
        except (OSError, ValueError) as error:  # refused while starting, or a half-open socket
            last_error = repr(error)
        time.sleep(0.1)
    pytest.fail(
        f"flowcdr serve not ready after {READY_SECONDS} s ({last_error}); log:\n{gateway.log()}"
    )


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """A fresh data dir with one admin and a server on a free port; always stopped afterwards."""
    data_dir = tmp_path / "data"
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    password = "pw-" + secrets.token_hex(16)  # unique per run: any match in a file is a leak
    add_admin(data_dir, password, env)
    port = free_port()
    log_path = tmp_path / "server.log"
    log_file = log_path.open("wb")
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flowcdr",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    except BaseException:
        log_file.close()
        raise
    running = Gateway(
        process, f"http://127.0.0.1:{port}", data_dir, log_path, password, env, log_file
    )
    try:
        wait_until_ready(running)
        yield running
    finally:
        running.stop()


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


def call(gateway: Gateway, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    """One JSON request with urllib over a real socket: (status, decoded body)."""
    request = urllib.request.Request(
        gateway.base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def claims(token: str) -> dict[str, Any]:
    """The (unverified) payload of a JWT: enough to tie a token to its listed id."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


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
