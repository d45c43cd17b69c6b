"""The control database is created from nothing and upgraded from every earlier version."""

from pathlib import Path

import sqlalchemy as sa

from flowcdr.store import migrations, schema


def engine_at(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}")


def columns(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {
        name: {c["name"] for c in inspector.get_columns(name)}
        for name in inspector.get_table_names()
        if name != "schema_version"
    }


def test_from_an_empty_database_to_the_schema(tmp_path: Path) -> None:
    engine = engine_at(tmp_path / "c.db")
    assert migrations.upgrade(engine) == [v for v, _, _ in migrations.MIGRATIONS]
    expected = {t.name: {c.name for c in t.columns} for t in schema.metadata.sorted_tables}
    assert columns(engine) == expected
    assert migrations.upgrade(engine) == []  # idempotent
    with engine.connect() as c:
        assert migrations.current_version(c) == migrations.LATEST
    engine.dispose()


def test_from_every_earlier_version_keeping_the_data(tmp_path: Path) -> None:
    for start in range(1, migrations.LATEST):
        engine = engine_at(tmp_path / f"v{start}.db")
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
        engine.dispose()
