"""A gateway per test: a fresh data dir, two tenants, an admin and an analyst in each."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flowcdr.api.app import create_app
from flowcdr.auth.passwords import hash_password
from flowcdr.config import Settings
from flowcdr.store.control import ControlStore

PASSWORD = "correct horse battery staple"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Gateway:
    client: TestClient
    settings: Settings

    def sign_in(self, username: str, password: str = PASSWORD) -> str:
        response = self.client.post(
            "/auth", data={"username": username, "password": password, "token": "true"}
        )
        assert response.status_code == 200, response.text
        return response.text

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.sign_in(username)}"}

    def subscription_token(self, username: str = "alice", expiry: int = 60) -> str:
        response = self.client.post(
            "/qas/subscription-token", json={"expiry": expiry}, headers=self.bearer(username)
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["subscriptionToken"]
        return token


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


def seed(settings: Settings, password_hash: str) -> None:
    store = ControlStore.open(settings)
    for username, tenant, role in (
        ("alice", "contoso", "admin"),
        ("amy", "contoso", "analyst"),
        ("bob", "fabrikam", "admin"),
        ("bea", "fabrikam", "analyst"),
    ):
        store.add_user(username, tenant, role, password_hash)
    store.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Test flows date from 2018: a long retention keeps the start-up pass from racing the tests.
    return Settings(
        data_dir=tmp_path / "data",
        login_failures=3,
        login_window_seconds=60,
        retention_days=3650,
    )


@pytest.fixture
def gateway(settings: Settings, password_hash: str) -> Iterator[Gateway]:
    seed(settings, password_hash)
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, settings)
