"""A running gateway (``flowcdr serve`` in a child process) and the tokens to call it with."""

import contextlib
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..integration.server import COMMAND_SECONDS, DIRECT, Gateway, add_admin, call, clean_env, start


def sign_in(gateway: Gateway) -> str:
    """A sign-in token of the admin, from the real form post."""
    request = urllib.request.Request(
        gateway.base_url + "/auth",
        method="POST",
        data=f"username=alice&password={gateway.password}&token=true".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
        token: str = response.read().decode()
        return token


def subscription(gateway: Gateway, auth: str) -> str:
    status, body = call(gateway, "POST", "/qas/subscription-token", auth, {"expiry": 60})
    assert status == 200, body
    token: str = body["subscriptionToken"]
    return token


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory (``VmRSS``) or its peak (``VmHWM``), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@contextlib.contextmanager
def launched(tmp_path: Path, data_dir: Path | None = None, **settings: str) -> Iterator[Gateway]:
    """A fresh data dir with one admin and a server on a free port; always stopped afterwards.

    ``settings`` are ``FLOWCDR_*`` variables (without the prefix) for the server process.
    """
    data_dir, home = data_dir or tmp_path / "data", tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = clean_env(home)
    password = "pw-" + secrets.token_hex(16)
    add_admin(data_dir, password, env)
    env.update({f"FLOWCDR_{name.upper()}": value for name, value in settings.items()})
    running = start(data_dir, tmp_path / "server.log", password, env)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    with launched(tmp_path) as running:
        yield running
