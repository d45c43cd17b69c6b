"""A real ``flowcdr serve`` loaded with an hour of simulated traffic, and Debian's Chromium.

One gateway for the session (starting it and collecting the simulated hour takes seconds that
every test would otherwise repeat): an admin and an analyst of one tenant, flows collected
through ``flowcdr collect`` from ``flowcdr simulate`` blobs exactly as a deployment would, and
detection run until it has findings. The browser is the distribution's Chromium driven by
Playwright; no browser is ever downloaded. Without Chromium the tests skip locally and fail
when ``FLOWCDR_FUNCTIONAL_TESTS`` is set (CI), as the other integration tests do.
"""

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, sync_playwright

from ..integration.server import (
    COMMAND_SECONDS,
    DIRECT,
    USERNAME,
    Gateway,
    add_admin,
    call,
    clean_env,
    start,
)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
ANALYST = "amy"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FINDINGS_SECONDS = 90.0  # bound on waiting for the first detection pass over the hour
COLLECT_SECONDS = 120.0
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


def require_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"no Chromium at {CHROMIUM}: run `make test` (it installs Debian's chromium)"
    if os.environ.get("FLOWCDR_FUNCTIONAL_TESTS"):
        pytest.fail(message)
    pytest.skip(message)


def run(
    args: list[str], env: dict[str, str], stdin: str = "", timeout: float = COMMAND_SECONDS
) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flowcdr", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"flowcdr {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def sign_in_token(gateway: Gateway, username: str) -> str:
    request = urllib.request.Request(
        gateway.base_url + "/auth",
        method="POST",
        data=f"username={username}&password={gateway.password}&token=true".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with DIRECT.open(request, timeout=COMMAND_SECONDS) as response:
        token: str = response.read().decode()
    return token


def wait_for_findings(gateway: Gateway, token: str) -> int:
    deadline = time.monotonic() + FINDINGS_SECONDS
    while time.monotonic() < deadline:
        status, body = call(gateway, "GET", "/cdr/v1/findings?limit=500", token)
        assert status == 200, body
        if body["items"]:
            return len(body["items"])
        time.sleep(1.0)
    pytest.fail(f"no finding after {FINDINGS_SECONDS} s; log:\n{gateway.log()}")


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    require_chromium()
    root = tmp_path_factory.mktemp("portal")
    home = root / "home"
    home.mkdir()
    env = clean_env(home)
    password = "pw-" + secrets.token_hex(16)
    data_dir = root / "data"
    add_admin(data_dir, password, env)
    run(["users", "add", ANALYST, "--tenant", "contoso", "--role", "analyst",
         "--password-stdin", "--data-dir", str(data_dir)], env, stdin=password + "\n")  # fmt: skip
    blobs = root / "blobs"
    run(["simulate", "--out", str(blobs), "--hours", "1", "--vms", "5", "--seed", "3"], env,
        timeout=COLLECT_SECONDS)  # fmt: skip
    server_env = {**env, "FLOWCDR_DETECT_INTERVAL_SECONDS": "1"}
    gateway = start(data_dir, root / "server.log", password, server_env)
    try:
        token = sign_in_token(gateway, USERNAME)
        status, body = call(gateway, "POST", "/qas/subscription-token", token, {"expiry": 60})
        assert status == 200, body
        collector_env = {**env, "FLOWCDR_SUBSCRIPTION_TOKEN": body["subscriptionToken"]}
        run(["collect", "--gateway", gateway.base_url, "--folder", str(blobs), "--once",
             "--backfill-hours", "2", "--state", str(root / "checkpoints.db")],
            collector_env, timeout=COLLECT_SECONDS)  # fmt: skip
        wait_for_findings(gateway, token)
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    chromium = require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def js_errors() -> Iterator[list[str]]:
    """Script errors of the test's pages; any one fails the test."""
    errors: list[str] = []
    yield errors
    assert errors == []


def signed_in(browser: Browser, gateway: Gateway, username: str, errors: list[str]) -> Page:
    """A fresh browser context (its own cookies), signed in through the form; its pages'
    script errors go to ``errors``."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(gateway.base_url + "/portal/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", gateway.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/")
    return page


def screenshot(page: Page, name: str, *, hide: Sequence[Locator] = ()) -> None:
    """A full-page screenshot for the README; ``hide`` covers secrets such as a new token."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"), full_page=True, mask=list(hide), mask_color="#c9d2e6"
    )
