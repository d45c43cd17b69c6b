"""The control database is created from nothing and upgraded from every earlier version, on
SQLite and on PostgreSQL; gateways starting together on one PostgreSQL database migrate once."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowcdr.store import migrations, schema
from flowcdr.store.control import connect

from ...postgres import Postgres

Fresh = Callable[[], sa.Engine]


@pytest.fixture
def fresh(
    tmp_path: Path, database_url: str | None, request: pytest.FixtureRequest
) -> Iterator[Fresh]:
    """Engines on new, empty databases of the test's backend (see ``database_url``)."""
    engines: list[sa.Engine] = []

    def make() -> sa.Engine:
        if database_url is None:
            url = f"sqlite:///{tmp_path / f'c{len(engines)}.db'}"
        else:
            server: Postgres = request.getfixturevalue("postgres")
            url = database_url if not engines else server.new_database()
        engines.append(connect(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def columns(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {
        name: {c["name"] for c in inspector.get_columns(name)}
        for name in inspector.get_table_names()
        if name != "schema_version"
    }


def test_from_an_empty_database_to_the_schema(fresh: Fresh) -> None:
    engine = fresh()
    assert migrations.upgrade(engine) == [v for v, _, _ in migrations.MIGRATIONS]
    expected = {t.name: {c.name for c in t.columns} for t in schema.metadata.sorted_tables}
    assert columns(engine) == expected
    assert migrations.upgrade(engine) == []  # idempotent
    with engine.connect() as c:
        assert migrations.current_version(c) == migrations.LATEST


def test_from_every_earlier_version_keeping_the_data(fresh: Fresh) -> None:
    for start in range(1, migrations.LATEST):
        engine = fresh()
        migrations.upgrade(engine, target=start)
        with engine.begin() as c:
            c.execute(
                schema.tenants.insert().values(id="t1", name="contoso", created_at="2026-01-01")
            )
        applied = migrations.upgrade(engine)
        assert applied == [v for v, _, _ in migrations.MIGRATIONS if v > start]
        with engine.connect() as c:
            assert c.execute(sa.select(schema.tenants.c.name)).scalar_one() == "contoso"
            assert migrations.current_version(c) == migrations.LATEST


def test_gateways_starting_together_migrate_once(postgres: Postgres) -> None:
    """Four engines upgrade one empty PostgreSQL database at once, as gateways starting
    together do: the advisory lock makes one apply each migration and the others find it."""
    url = postgres.new_database()
    engines = [connect(url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    applied: list[list[int]] = []
    failures: list[BaseException] = []

    def upgrade(engine: sa.Engine) -> None:
        start.wait()
        try:
            applied.append(migrations.upgrade(engine))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=upgrade, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    every = [v for v, _, _ in migrations.MIGRATIONS]
    assert sorted(v for done in applied for v in done) == every  # each applied exactly once
    with engines[0].connect() as c:
        assert migrations.current_version(c) == migrations.LATEST
    for engine in engines:
        engine.dispose()
