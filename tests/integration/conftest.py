"""Fixtures of the integration tests: a fresh data dir with an admin and a running gateway."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import Gateway, add_admin, clean_env, start


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
