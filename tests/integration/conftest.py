"""Fixtures of the integration tests: a fresh data dir with an admin and a running gateway."""

import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .azurite import Azurite
from .server import COMMAND_SECONDS, DIRECT, Gateway, add_admin, call, clean_env, start


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    """A fresh data dir with one admin and a server on a free port; always stopped afterwards."""
    data_dir = tmp_path / "data"
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    password = "pw-" + secrets.token_hex(16)  # unique per run: any match in a file is a leak
    add_admin(data_dir, password, env)
    running = start(data_dir, tmp_path / "server.log", password, env)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def azurite(tmp_path: Path) -> Iterator[Azurite]:
    """Azurite on free ports over a data folder of the test; always stopped afterwards."""
    running = Azurite(tmp_path / "azurite", tmp_path / "azurite.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def subscription_token(gateway: Gateway) -> str:
    """A subscription token of the gateway's admin, as a collector is given one."""
    request = urllib.request.Request(
        gateway.base_url + "/auth",
        method="POST",
        data=f"username=alice&password={gateway.password}&token=true".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
        token = response.read().decode()
    status, body = call(gateway, "POST", "/qas/subscription-token", token, {"expiry": 60})
    assert status == 200, body
    subscription: str = body["subscriptionToken"]
    return subscription
