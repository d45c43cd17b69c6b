"""Fixtures every test folder may use: the control database on each backend flowcdr supports.

``database_url`` is a parametrized fixture: a test that takes it (directly or through the API
tests' ``settings``) runs twice, on the embedded SQLite file (``None``: the default in the
data dir) and on a fresh database of a real PostgreSQL server started once per session.
"""

from collections.abc import Iterator

import pytest

from .postgres import Postgres, start_postgres

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The control database's URL for one backend: None is SQLite in the data dir."""
    if request.param == "sqlite":
        return None
    server: Postgres = request.getfixturevalue("postgres")
    return server.new_database()
