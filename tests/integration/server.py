"""Running ``flowcdr serve`` as a real process for integration tests: start, call, stop."""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

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


def start(data_dir: Path, log_path: Path, password: str, env: dict[str, str]) -> Gateway:
    """Start ``flowcdr serve`` on a free port over ``data_dir`` and wait until it answers."""
    port = free_port()
    log_file = log_path.open("ab")
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
    except BaseException:
        running.stop()
        raise
    return running


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
