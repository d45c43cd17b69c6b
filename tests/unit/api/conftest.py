"""A gateway per test: a fresh data dir, two tenants, an admin and an analyst in each."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
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

    def stored(self) -> bytes:
        """All that the control database keeps, for tests that no secret is there: SQLite's
        files (with the WAL), or every row of every table of the PostgreSQL database."""
        if self.settings.database_url is None:
            files = sorted(self.settings.data_dir.glob("control.db*"))
            assert self.settings.data_dir / "control.db" in files
            return b"".join(path.read_bytes() for path in files)
        engine = self.client.app.state.services.store.engine  # type: ignore[attr-defined]
        tables = sa.MetaData()
        tables.reflect(engine)
        with engine.connect() as c:
            rows = [repr(tuple(row)) for t in tables.sorted_tables for row in c.execute(t.select())]
        assert rows, "an empty database proves nothing"
        return "\n".join(rows).encode()

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
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """Every API test runs on both control databases (SQLite, PostgreSQL): see tests/conftest.py."""
    # Test flows date from 2018: a long retention keeps the start-up pass from racing the tests.
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        login_failures=3,
        login_window_seconds=60,
        retention_days=3650,
    )


@pytest.fixture
def gateway(settings: Settings, password_hash: str) -> Iterator[Gateway]:
    seed(settings, password_hash)
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, settings)
