"""Versioned upgrades of the control database, applied in order on every start.

The version is kept in ``schema_version``; each migration runs in its own transaction and bumps
it. Rule for authors: a migration that creates a table may build it from ``schema.py`` only
while that table is unchanged since; the first later change to the table comes as a new
migration (ALTER ...), and the creating migration then gets a frozen copy of the old shape.
"""

from collections.abc import Callable

import sqlalchemy as sa

from flowcdr.store import schema

Migration = tuple[int, str, Callable[[sa.Connection], None]]

_version = sa.Table(
    "schema_version",
    sa.MetaData(),
    sa.Column("version", sa.Integer, nullable=False),
)


def _create(*tables: sa.Table) -> Callable[[sa.Connection], None]:
    def apply(connection: sa.Connection) -> None:
        for table in tables:
            table.create(connection)

    return apply


# The connectors table as migration 4 created it, before migration 5 added client_secret.
_connectors_v4 = sa.Table(
    "connectors",
    sa.MetaData(),
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey(schema.tenants.c.id), nullable=False),
    sa.Column("client_id", sa.String(36), nullable=False),
    sa.Column("azure_tenant_id", sa.String(36), nullable=False),
    sa.Column("subscription_id", sa.String(36), nullable=False),
    sa.Column("config_id", sa.String(36)),
    sa.Column("regions", sa.Text, nullable=False),
    sa.Column("token_id", sa.String(36), nullable=False),
    sa.Column("registered_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("tenant_id", "client_id"),
)


# The webhooks table as migration 9 created it, before migration 11 added its name.
_webhooks_v9 = sa.Table(
    "webhooks",
    sa.MetaData(),
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey(schema.tenants.c.id), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("url_hint", sa.String(300), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("min_severity", sa.String(8), nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("last_attempt_at", sa.String(32)),
    sa.Column("last_status", sa.String(200)),
    sa.Column("last_success_at", sa.String(32)),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("delivered", sa.Integer, nullable=False),
    sa.Index("webhooks_by_tenant", "tenant_id"),
)


def _webhook_names(connection: sa.Connection) -> None:
    connection.execute(sa.text("ALTER TABLE webhooks ADD COLUMN name VARCHAR(100)"))


def _inventory(connection: sa.Connection) -> None:
    connection.execute(sa.text("ALTER TABLE connectors ADD COLUMN client_secret TEXT"))
    _create(schema.inventory_resources, schema.inventory_syncs, schema.inventory_changes)(
        connection
    )


MIGRATIONS: tuple[Migration, ...] = (
    (1, "accounts and subscription tokens",
     _create(schema.tenants, schema.users, schema.subscription_tokens)),
    (2, "flow-log configurations and audit",
     _create(schema.flowlog_configs, schema.flowlog_buckets, schema.audit_log)),
    (3, "findings, their hits and suppressions",
     _create(schema.findings, schema.finding_hits, schema.suppressions)),
    (4, "connectors registered by the Terraform module", _create(_connectors_v4)),
    (5, "connector credentials and the Azure inventory", _inventory),
    # No 6: numbers were reserved while these were built side by side; versions only ascend.
    (7, "leases: scheduled work that one gateway at a time does", _create(schema.leases)),
    (8, "per-tenant rule settings", _create(schema.rule_settings)),
    (9, "webhooks that announce findings", _create(_webhooks_v9)),
    (10, "failed sign-ins counted across gateways", _create(schema.sign_in_failures)),
    (11, "webhook names", _webhook_names),
)  # fmt: skip
LATEST = MIGRATIONS[-1][0]


def current_version(connection: sa.Connection) -> int:
    if not sa.inspect(connection).has_table("schema_version"):
        return 0
    return int(connection.execute(sa.select(_version.c.version)).scalar_one())


# Key of the PostgreSQL advisory lock that migrations hold: any constant, the same in every process.
_MIGRATION_LOCK = 0x666C6F77  # "flow"


def _serialize(connection: sa.Connection) -> None:
    """Let one process at a time migrate: gateways starting together on one PostgreSQL database
    would otherwise both see version N and both create N+1's tables. The lock ends with the
    transaction, so the second reads the version after the first committed. (DDL is
    transactional in PostgreSQL; SQLite is one process's file.)"""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))


def upgrade(engine: sa.Engine, target: int = LATEST) -> list[int]:
    """Apply every migration above the database's version up to ``target``; return them."""
    applied = []
    for version, _, apply in MIGRATIONS:
        if version > target:
            break
        with engine.begin() as connection:
            _serialize(connection)
            found = current_version(connection)
            if version <= found:
                continue
            if found == 0:
                _version.create(connection)
                connection.execute(_version.insert().values(version=0))
            apply(connection)
            connection.execute(_version.update().values(version=version))
        applied.append(version)
    return applied
