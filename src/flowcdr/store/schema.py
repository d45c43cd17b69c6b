"""The control database's tables, as they are after every migration has run.

SQLAlchemy Core tables, portable between SQLite (embedded default) and PostgreSQL. Times are
UTC ISO 8601 text with microseconds, so they sort and compare the same in both.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("username", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

subscription_tokens = sa.Table(
    "subscription_tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("created_by", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
    sa.Column("last_used_at", sa.String(32)),
    sa.Column("revoked_at", sa.String(32)),
)

flowlog_configs = sa.Table(
    "flowlog_configs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("deployment_name", sa.String(64), nullable=False),
    sa.Column("subscription_id", sa.String(36), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("tenant_id", "deployment_name"),
)

flowlog_buckets = sa.Table(
    "flowlog_buckets",
    metadata,
    sa.Column(
        "config_id",
        sa.String(36),
        sa.ForeignKey("flowlog_configs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("storage_account", sa.String(24), nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("connection_string", sa.Text, nullable=False),  # Fernet token, never plain text
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(36), nullable=True),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(128)),
    sa.Column("client", sa.String(64)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Index("audit_by_tenant", "tenant_id", "id"),
)
