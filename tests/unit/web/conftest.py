"""The API tests' gateway (two tenants, an admin and an analyst in each), signed in through
the portal's form, with flows and a finding of the first tenant loaded."""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ..api.conftest import PASSWORD, Gateway, gateway, password_hash, settings  # noqa: F401
from ..api.test_findings import scan_detected
from ..store.test_flowquery import admit, flow_rows

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/portal/sign-in",
        data={"username": username, "password": password, "next": "/portal/"},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Portal:
    gateway: Gateway
    tenant_id: str

    @property
    def client(self) -> TestClient:
        return self.gateway.client

    def as_user(self, username: str) -> TestClient:
        self.client.cookies.clear()
        response = sign_in(self.client, username)
        assert response.status_code == 303, response.text
        return self.client

    def csrf(self, path: str) -> str:
        return csrf_of(self.client.get(path).text)


@pytest.fixture
def portal(gateway: Gateway) -> Portal:  # noqa: F811
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    tenant_id = services.store.user("alice").tenant_id
    admit(services.flows, flow_rows(300, 1, tenant_id), "portal")
    admit(services.flows, flow_rows(50, 2, services.store.user("bob").tenant_id), "other")
    scan_detected(gateway)
    return Portal(gateway, tenant_id)


WINDOW = {"range": "custom", "start": "2026-03-01T09:00", "end": "2026-03-01T13:00"}
"""The seeded flows' window (March 2026), as the portal's custom range."""


def window(**more: Any) -> dict[str, Any]:
    return {**WINDOW, **more}
