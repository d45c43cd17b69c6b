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

# Leases (flowcdr.store.lease): work that one gateway at a time does, such as detection passes
# over a flow store that several gateways share. A row per lease, taken over once it expires.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("acquired_at", sa.String(32), nullable=False),  # when this holder took it
    sa.Column("expires_at", sa.String(32), nullable=False),
)

# Failed sign-ins (flowcdr.store.signins), counted here when gateways share a PostgreSQL control
# database; ``key`` is the SHA-256 of the throttle key (a username or a client address).
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Index("sign_in_failures_by_key", "key", "at"),
)

# Findings of the detection engine (design.md section 6), with their lifecycle. A finding is the
# sum of its hits: one row per rule window that fired, keyed so that a window evaluated again
# (late flows) replaces its hit instead of adding one. ``first_bucket``/``last_bucket_end``
# bound the windows, for the dedup rule: a new hit within the rule's dedup time extends it.
findings = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("rule_id", sa.String(64), nullable=False),
    sa.Column("dedup_key", sa.Text, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("tactics", sa.Text, nullable=False),  # JSON list
    sa.Column("techniques", sa.Text, nullable=False),  # JSON list
    sa.Column("src_ip", sa.String(45)),
    sa.Column("dst_ip", sa.String(45)),
    sa.Column("dst_port", sa.Integer),
    sa.Column("protocol", sa.Integer),
    sa.Column("resource_id", sa.Text),
    sa.Column("subscription_id", sa.String(64)),
    sa.Column("first_seen", sa.String(32), nullable=False),
    sa.Column("last_seen", sa.String(32), nullable=False),
    sa.Column("flow_count", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger),
    sa.Column("windows", sa.Integer, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),  # JSON object
    sa.Column("first_bucket", sa.String(32), nullable=False),
    sa.Column("last_bucket_end", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_by", sa.String(128)),
    sa.Column("status_at", sa.String(32)),
    sa.Column("note", sa.Text),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    sa.Index("findings_by_key", "tenant_id", "rule_id", "dedup_key"),
    sa.Index("findings_by_time", "tenant_id", "last_seen"),
)

finding_hits = sa.Table(
    "finding_hits",
    metadata,
    sa.Column("tenant_id", sa.String(36), primary_key=True),
    sa.Column("rule_id", sa.String(64), primary_key=True),
    sa.Column("dedup_key", sa.Text, primary_key=True),
    sa.Column("bucket", sa.String(32), primary_key=True),
    sa.Column(
        "finding_id",
        sa.String(36),
        sa.ForeignKey("findings.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("bucket_end", sa.String(32), nullable=False),
    sa.Column("hit", sa.Text, nullable=False),  # JSON: addresses, counts, severity, evidence
    sa.Index("hits_by_finding", "finding_id"),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("cidr", sa.String(50)),
    sa.Column("port", sa.Integer),
    sa.Column("rule_id", sa.String(64)),
    sa.Column("resource_id", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32)),
    sa.Index("suppressions_by_tenant", "tenant_id"),
)

# Azure AD applications that a Terraform apply registered (POST /cdr/v1/azure/connectors/register):
# one row per tenant and client id, upserted by each registration, deleted by terraform destroy.
connectors = sa.Table(
    "connectors",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("client_id", sa.String(36), nullable=False),
    sa.Column("azure_tenant_id", sa.String(36), nullable=False),
    sa.Column("subscription_id", sa.String(36), nullable=False),
    sa.Column("config_id", sa.String(36)),  # no foreign key: the configuration may be deleted first
    sa.Column("regions", sa.Text, nullable=False),  # JSON list
    sa.Column("token_id", sa.String(36), nullable=False),  # the subscription token that registered
    sa.Column("registered_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
    # The application's client secret for the inventory sync: a Fernet token, never plain text.
    sa.Column("client_secret", sa.Text),
    sa.UniqueConstraint("tenant_id", "client_id"),
)

# The Azure inventory (flowcdr.inventory): per tenant and subscription, the resources the last
# sync saw (``body`` is the resource as JSON, in the inventory model's shape, never a secret),
# every sync's outcome, and what changed between syncs.
inventory_resources = sa.Table(
    "inventory_resources",
    metadata,
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("resource_key", sa.String(600), primary_key=True),  # the lower-case ARM id
    sa.Column("subscription_id", sa.String(36), nullable=False),
    sa.Column("resource_id", sa.Text, nullable=False),
    sa.Column("name", sa.String(260), nullable=False),
    sa.Column("resource_group", sa.String(90), nullable=False),
    sa.Column("location", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # JSON
    sa.Column("first_seen", sa.String(32), nullable=False),
    sa.Column("last_seen", sa.String(32), nullable=False),
    sa.Index("inventory_by_subscription", "tenant_id", "subscription_id", "kind"),
)

inventory_syncs = sa.Table(
    "inventory_syncs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("subscription_id", sa.String(36), nullable=False),
    sa.Column("taken_at", sa.String(32), nullable=False),
    sa.Column("counts", sa.Text, nullable=False),  # JSON: kind -> resources seen
    sa.Column("errors", sa.Text, nullable=False),  # JSON list of what could not be listed
    sa.Column("failed_kinds", sa.Text, nullable=False),  # JSON list: kinds kept from before
    sa.Index("inventory_syncs_by_subscription", "tenant_id", "subscription_id", "id"),
)

inventory_changes = sa.Table(
    "inventory_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("subscription_id", sa.String(36), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("resource_id", sa.Text, nullable=False),
    sa.Column("name", sa.String(260), nullable=False),
    sa.Column("change", sa.String(32), nullable=False),  # added, removed, changed, rule_*
    sa.Column("summary", sa.Text, nullable=False),  # the change in words
    sa.Column("before", sa.Text),  # JSON
    sa.Column("after", sa.Text),  # JSON
    sa.Index("inventory_changes_by_tenant", "tenant_id", "id"),
)

# A tenant's choices for one detection: on or off, and the tunables it overrides (JSON object of
# name to value; the catalogue's defaults hold for every other tunable and every rule not here).
rule_settings = sa.Table(
    "rule_settings",
    metadata,
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("rule_id", sa.String(64), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("tunables", sa.Text, nullable=False),  # JSON object
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

# Where a tenant's findings are announced (flowcdr.detect.webhooks). The URL and the signing
# secret are Fernet tokens (a Slack URL is itself a credential); the last delivery's outcome is
# kept beside them, and ``failures`` counts deliveries given up on since the last success.
webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("url", sa.Text, nullable=False),  # Fernet token
    sa.Column("url_hint", sa.String(300), nullable=False),  # scheme and host, shown in lists
    sa.Column("name", sa.String(100)),  # what the admin calls it (migration 11; older: none)
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("min_severity", sa.String(8), nullable=False),
    sa.Column("secret", sa.Text, nullable=False),  # Fernet token
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("last_attempt_at", sa.String(32)),
    sa.Column("last_status", sa.String(200)),
    sa.Column("last_success_at", sa.String(32)),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("delivered", sa.Integer, nullable=False),
    sa.Index("webhooks_by_tenant", "tenant_id"),
)
