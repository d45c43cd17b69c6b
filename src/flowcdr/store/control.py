"""The control store: tenants, users, subscription tokens, flow-log configurations, audit.

SQLAlchemy Core over SQLite by default, PostgreSQL (psycopg 3) by URL: the same statements run
on both, so several gateways can share one PostgreSQL control database (docs/postgresql.md).
Writes of one process go through one lock, so the embedded SQLite file has one writer at a time;
reads run concurrently (WAL). Between processes, PostgreSQL's unique constraints decide: a
concurrent duplicate is a ``ConflictError``, as a sequential one is. Connection strings are
encrypted with Fernet before they reach the database and decrypted only on the way out. Every
method that reads or changes tenant data takes the tenant id and filters on it.
"""

import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Engine, make_url

from flowcdr.config import Settings, mask_url
from flowcdr.errors import FlowcdrError
from flowcdr.store import keys, migrations
from flowcdr.store.schema import (
    audit_log,
    connectors,
    flowlog_buckets,
    flowlog_configs,
    subscription_tokens,
    tenants,
    users,
)

# The databases the control store is tested on (SQLite embedded, PostgreSQL for several gateways).
SUPPORTED_DRIVERS = frozenset({"sqlite", "postgresql+psycopg"})

# Users with their tenant's name, the shape every user lookup reads.
_USERS = sa.select(users, tenants.c.name.label("tenant")).join(
    tenants, tenants.c.id == users.c.tenant_id
)


class StoreError(FlowcdrError):
    """A control-store operation that cannot be done (duplicate, missing row)."""


class ConflictError(StoreError):
    pass


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class User:
    id: str
    tenant_id: str
    tenant: str
    username: str
    role: str
    password_hash: str
    disabled: bool


@dataclass(frozen=True)
class Bucket:
    storage_account: str
    region: str
    connection_string: str


@dataclass(frozen=True)
class FlowLogConfig:
    id: str
    tenant_id: str
    deployment_name: str
    subscription_id: str
    buckets: tuple[Bucket, ...]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class SubscriptionToken:
    id: str
    tenant_id: str
    token_hash: str
    created_at: str
    expires_at: str
    last_used_at: str | None
    revoked_at: str | None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    target: str | None
    client: str | None
    outcome: str


class ControlStore:
    """One control database; create with ``ControlStore.open(settings)``."""

    def __init__(self, engine: Engine, fernet: Fernet) -> None:
        self.engine = engine
        self._fernet = fernet
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> "ControlStore":
        """Open (and create or upgrade) the control database named by the settings."""
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = connect(settings.control_url)
        try:
            migrations.upgrade(engine)
        except sa.exc.OperationalError as error:
            engine.dispose()
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise StoreError(
                f"database_url: cannot open the control database at"
                f" {mask_url(settings.control_url)}: {reason}"
            ) from None
        key = keys.load_or_create(
            settings.data_dir / "encryption.key", settings.encryption_key, keys.new_fernet_key()
        )
        fernet = Fernet(key)
        try:
            _check_key(engine, fernet)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, fernet)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction; writers take turns (SQLite has one writer at a time).

        A unique constraint that refuses the change (another gateway on the same PostgreSQL
        database won a race that the checks before the insert could not see) is a conflict.
        """
        try:
            with self._write_lock, self.engine.begin() as connection:
                yield connection
        except sa.exc.IntegrityError:
            raise ConflictError("a concurrent change made the same entry first") from None

    # Tenants and users -------------------------------------------------------------------

    def add_user(self, username: str, tenant: str, role: str, password_hash: str) -> User:
        with self.write() as c:
            tenant_id = c.execute(sa.select(tenants.c.id).where(tenants.c.name == tenant)).scalar()
            if tenant_id is None:
                tenant_id = new_id()
                c.execute(tenants.insert().values(id=tenant_id, name=tenant, created_at=now()))
            if c.execute(sa.select(users.c.id).where(users.c.username == username)).first():
                raise ConflictError(f"user {username!r} already exists")
            user_id = new_id()
            c.execute(
                users.insert().values(
                    id=user_id,
                    tenant_id=tenant_id,
                    username=username,
                    role=role,
                    password_hash=password_hash,
                    disabled=False,
                    created_at=now(),
                )
            )
        return User(user_id, tenant_id, tenant, username, role, password_hash, False)

    def user(self, username: str) -> User | None:
        query = _USERS.where(users.c.username == username)
        with self.engine.connect() as c:
            row = c.execute(query).mappings().first()
        return None if row is None else _user(row)

    def users(self) -> list[User]:
        query = _USERS.order_by(tenants.c.name, users.c.username)
        with self.engine.connect() as c:
            return [_user(row) for row in c.execute(query).mappings()]

    def set_disabled(self, username: str, disabled: bool) -> None:
        with self.write() as c:
            done = c.execute(
                users.update().where(users.c.username == username).values(disabled=disabled)
            )
            if done.rowcount == 0:
                raise StoreError(f"no user {username!r}")

    # Subscription tokens -----------------------------------------------------------------

    def add_subscription_token(
        self, token_id: str, tenant_id: str, user_id: str, token_hash: str, expires_at: str
    ) -> SubscriptionToken:
        created = now()
        with self.write() as c:
            c.execute(
                subscription_tokens.insert().values(
                    id=token_id,
                    tenant_id=tenant_id,
                    created_by=user_id,
                    token_hash=token_hash,
                    created_at=created,
                    expires_at=expires_at,
                )
            )
        return SubscriptionToken(token_id, tenant_id, token_hash, created, expires_at, None, None)

    def subscription_token(self, token_id: str) -> SubscriptionToken | None:
        query = sa.select(subscription_tokens).where(subscription_tokens.c.id == token_id)
        with self.engine.connect() as c:
            row = c.execute(query).mappings().first()
        return None if row is None else _token(row)

    def subscription_tokens(self, tenant_id: str) -> list[SubscriptionToken]:
        query = (
            sa.select(subscription_tokens)
            .where(subscription_tokens.c.tenant_id == tenant_id)
            .order_by(subscription_tokens.c.created_at)
        )
        with self.engine.connect() as c:
            return [_token(row) for row in c.execute(query).mappings()]

    def touch_subscription_token(self, token_id: str, when: str) -> None:
        with self.write() as c:
            c.execute(
                subscription_tokens.update()
                .where(subscription_tokens.c.id == token_id)
                .values(last_used_at=when)
            )

    def revoke_subscription_token(self, tenant_id: str, token_id: str) -> bool:
        table = subscription_tokens
        with self.write() as c:
            done = c.execute(
                table.update()
                .where(table.c.id == token_id, table.c.tenant_id == tenant_id)
                .where(table.c.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            if done.rowcount:
                return True
            found = c.execute(
                sa.select(table.c.id).where(table.c.id == token_id, table.c.tenant_id == tenant_id)
            ).first()
        return found is not None

    # Flow-log configurations -------------------------------------------------------------

    def create_config(
        self, tenant_id: str, deployment_name: str, subscription_id: str, buckets: Sequence[Bucket]
    ) -> FlowLogConfig:
        config_id, stamp = new_id(), now()
        with self.write() as c:
            self._check_unique_name(c, tenant_id, deployment_name, None)
            c.execute(
                flowlog_configs.insert().values(
                    id=config_id,
                    tenant_id=tenant_id,
                    deployment_name=deployment_name,
                    subscription_id=subscription_id,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            self._insert_buckets(c, config_id, buckets)
        return FlowLogConfig(
            config_id, tenant_id, deployment_name, subscription_id, tuple(buckets), stamp, stamp
        )

    def update_config(
        self,
        tenant_id: str,
        config_id: str,
        deployment_name: str,
        subscription_id: str,
        buckets: Sequence[Bucket],
    ) -> FlowLogConfig | None:
        stamp = now()
        with self.write() as c:
            done = c.execute(
                flowlog_configs.update()
                .where(flowlog_configs.c.id == config_id, flowlog_configs.c.tenant_id == tenant_id)
                .values(
                    deployment_name=deployment_name,
                    subscription_id=subscription_id,
                    updated_at=stamp,
                )
            )
            if done.rowcount == 0:
                return None
            self._check_unique_name(c, tenant_id, deployment_name, config_id)
            c.execute(flowlog_buckets.delete().where(flowlog_buckets.c.config_id == config_id))
            self._insert_buckets(c, config_id, buckets)
        return self.config(tenant_id, config_id)

    def delete_config(self, tenant_id: str, config_id: str) -> bool:
        with self.write() as c:
            owned = c.execute(
                sa.select(flowlog_configs.c.id).where(
                    flowlog_configs.c.id == config_id, flowlog_configs.c.tenant_id == tenant_id
                )
            ).first()
            if owned is None:
                return False
            c.execute(flowlog_buckets.delete().where(flowlog_buckets.c.config_id == config_id))
            c.execute(flowlog_configs.delete().where(flowlog_configs.c.id == config_id))
        return True

    def config(self, tenant_id: str, config_id: str) -> FlowLogConfig | None:
        found = self._configs(tenant_id, flowlog_configs.c.id == config_id)
        return found[0] if found else None

    def configs(self, tenant_id: str) -> list[FlowLogConfig]:
        return self._configs(tenant_id, sa.true())

    def _configs(self, tenant_id: str, condition: sa.ColumnElement[bool]) -> list[FlowLogConfig]:
        query = (
            sa.select(flowlog_configs)
            .where(flowlog_configs.c.tenant_id == tenant_id, condition)
            .order_by(flowlog_configs.c.created_at)
        )
        with self.engine.connect() as c:
            rows = list(c.execute(query).mappings())
            ids = [row["id"] for row in rows]
            bucket_rows = c.execute(
                sa.select(flowlog_buckets)
                .where(flowlog_buckets.c.config_id.in_(ids))
                .order_by(flowlog_buckets.c.config_id, flowlog_buckets.c.position)
            ).mappings()
            by_config: dict[str, list[Bucket]] = {i: [] for i in ids}
            for b in bucket_rows:
                by_config[b["config_id"]].append(
                    Bucket(b["storage_account"], b["region"], self._decrypt(b["connection_string"]))
                )
        return [
            FlowLogConfig(
                row["id"],
                row["tenant_id"],
                row["deployment_name"],
                row["subscription_id"],
                tuple(by_config[row["id"]]),
                row["created_at"],
                row["updated_at"],
            )
            for row in rows
        ]

    def _check_unique_name(
        self, c: sa.Connection, tenant_id: str, name: str, config_id: str | None
    ) -> None:
        query = sa.select(flowlog_configs.c.id).where(
            flowlog_configs.c.tenant_id == tenant_id, flowlog_configs.c.deployment_name == name
        )
        for (found,) in c.execute(query):
            if found != config_id:
                raise ConflictError(f"a configuration named {name!r} already exists")

    def _insert_buckets(self, c: sa.Connection, config_id: str, buckets: Sequence[Bucket]) -> None:
        c.execute(
            flowlog_buckets.insert(),
            [
                {
                    "config_id": config_id,
                    "position": position,
                    "storage_account": bucket.storage_account,
                    "region": bucket.region,
                    "connection_string": self._encrypt(bucket.connection_string),
                }
                for position, bucket in enumerate(buckets)
            ],
        )

    def seal(self, text: str) -> str:
        """A secret as it may be stored (Fernet, with this database's key): for the modules
        beside this one that keep secrets of their own, such as webhook signing secrets."""
        return self._encrypt(text)

    def unseal(self, token: str) -> str:
        return self._decrypt(token)

    def _encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def _decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    # Audit -------------------------------------------------------------------------------

    def audit(
        self,
        tenant_id: str | None,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        client: str | None = None,
        outcome: str = "ok",
    ) -> None:
        entry = {"actor": actor, "action": action, "target": target, "client": client}
        with self.write() as c:
            c.execute(
                audit_log.insert().values(
                    tenant_id=tenant_id,
                    at=now(),
                    outcome=outcome,
                    # A failed sign-in records the username as typed, of any length: clipped
                    # to its column, which PostgreSQL enforces (SQLite would keep it whole).
                    **{name: _clip(audit_log.c[name], value) for name, value in entry.items()},
                )
            )

    def audit_entries(
        self, tenant_id: str, limit: int, before: int | None = None
    ) -> list[AuditEntry]:
        query = sa.select(audit_log).where(audit_log.c.tenant_id == tenant_id)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        query = query.order_by(audit_log.c.id.desc()).limit(limit)
        with self.engine.connect() as c:
            return [
                AuditEntry(
                    r["id"],
                    r["at"],
                    r["actor"],
                    r["action"],
                    r["target"],
                    r["client"],
                    r["outcome"],
                )
                for r in c.execute(query).mappings()
            ]

    # Connectors --------------------------------------------------------------------------

    def upsert_connector(
        self, tenant_id: str, token_id: str, fields: "ConnectorFields"
    ) -> tuple["Connector", bool]:
        """Register an Azure AD application, or refresh its registration; True when it is new.

        Keyed by tenant and client id, so a Terraform apply run again (or a retried POST)
        changes one row instead of adding one. A client secret sent replaces the one on file
        (rotation by re-applying); it is stored encrypted and only ``connector_secret`` reads it.
        """
        stamp = now()
        values: dict[str, str | None] = {
            "azure_tenant_id": fields.azure_tenant_id,
            "subscription_id": fields.subscription_id,
            "config_id": fields.config_id,
            "regions": json.dumps(list(fields.regions)),
            "token_id": token_id,
            "updated_at": stamp,
        }
        if fields.client_secret is not None:  # a module without one keeps the secret on file
            values["client_secret"] = self._encrypt(fields.client_secret)
        table = connectors
        key = (table.c.tenant_id == tenant_id, table.c.client_id == fields.client_id)
        with self.write() as c:
            found = c.execute(sa.select(table.c.id).where(*key)).scalar()
            if found is None:
                c.execute(
                    table.insert().values(
                        id=new_id(),
                        tenant_id=tenant_id,
                        client_id=fields.client_id,
                        registered_at=stamp,
                        **values,
                    )
                )
            else:
                c.execute(table.update().where(*key).values(**values))
            row = c.execute(sa.select(table).where(*key)).mappings().one()
        return _connector(row), found is None

    def connectors(self, tenant_id: str) -> list["Connector"]:
        query = (
            sa.select(connectors)
            .where(connectors.c.tenant_id == tenant_id)
            .order_by(connectors.c.registered_at, connectors.c.client_id)
        )
        with self.engine.connect() as c:
            return [_connector(row) for row in c.execute(query).mappings()]

    def connector_secret(self, tenant_id: str, client_id: str) -> str | None:
        """The application's client secret, decrypted, for the inventory sync only."""
        query = sa.select(connectors.c.client_secret).where(
            connectors.c.tenant_id == tenant_id, connectors.c.client_id == client_id
        )
        with self.engine.connect() as c:
            token = c.execute(query).scalar()
        return None if token is None else self._decrypt(token)

    def connectors_with_credentials(self) -> list["Connector"]:
        """Every tenant's connectors that have a client secret on file: what the scheduled
        inventory sync reads, one at a time."""
        query = (
            sa.select(connectors)
            .where(connectors.c.client_secret.is_not(None))
            .order_by(connectors.c.tenant_id, connectors.c.registered_at, connectors.c.client_id)
        )
        with self.engine.connect() as c:
            return [_connector(row) for row in c.execute(query).mappings()]

    def delete_connector(self, tenant_id: str, client_id: str) -> bool:
        with self.write() as c:
            done = c.execute(
                connectors.delete().where(
                    connectors.c.tenant_id == tenant_id, connectors.c.client_id == client_id
                )
            )
        return bool(done.rowcount)


def connect(url: str) -> Engine:
    """An engine for the control database at ``url``: SQLite or PostgreSQL through psycopg 3.

    A bare ``postgresql://`` (or ``postgres://``) URL means psycopg 3, the driver flowcdr
    installs, rather than SQLAlchemy's default psycopg2. Other databases are refused by name.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError("database_url: not a database URL (e.g. postgresql://host/db)") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise StoreError(
            f"database_url: {parsed.drivername!r} is not supported; use one of"
            f" {', '.join(sorted(SUPPORTED_DRIVERS))}"
        )
    if parsed.drivername == "sqlite":
        engine = sa.create_engine(parsed)
        _create_private(engine.url.database)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A server can drop idle connections (restart, failover): test each before use.
    return sa.create_engine(parsed, pool_pre_ping=True)


def _check_key(engine: Engine, fernet: Fernet) -> None:
    """Refuse to start with an encryption key that cannot read the secrets already stored.

    Gateways sharing a PostgreSQL control database each load the key from their own data dir
    unless ``encryption_key`` is set: a second gateway with a key of its own would otherwise
    start, then fail on every configuration the first one saved.
    """
    queries = (
        sa.select(flowlog_buckets.c.connection_string).limit(1),
        sa.select(connectors.c.client_secret)
        .where(connectors.c.client_secret.is_not(None))
        .limit(1),
    )
    with engine.connect() as c:
        sample = next(filter(None, (c.execute(query).scalar() for query in queries)), None)
    if sample is None:
        return
    try:
        fernet.decrypt(sample.encode())
    except InvalidToken:
        raise StoreError(
            "encryption_key: this key cannot decrypt the secrets in the control database; every"
            " gateway sharing it needs the same key (FLOWCDR_ENCRYPTION_KEY)"
        ) from None


def _clip(column: sa.Column[Any], value: str | None) -> str | None:
    length = getattr(column.type, "length", None)
    return value[:length] if value is not None and length else value


def _create_private(path: str | None) -> None:
    """Create the SQLite file readable by its owner only (SQLite gives its -wal and -shm
    files the same mode); it holds password hashes and encrypted secrets."""
    if path and path != ":memory:" and not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(connection: object, _: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _user(row: sa.RowMapping) -> User:
    return User(
        row["id"],
        row["tenant_id"],
        row["tenant"],
        row["username"],
        row["role"],
        row["password_hash"],
        bool(row["disabled"]),
    )


def _token(row: sa.RowMapping) -> SubscriptionToken:
    return SubscriptionToken(
        row["id"],
        row["tenant_id"],
        row["token_hash"],
        row["created_at"],
        row["expires_at"],
        row["last_used_at"],
        row["revoked_at"],
    )


@dataclass(frozen=True)
class ConnectorFields:
    """What a registration says about the deployed application."""

    client_id: str
    azure_tenant_id: str
    subscription_id: str
    config_id: str | None
    regions: tuple[str, ...]
    client_secret: str | None = None


@dataclass(frozen=True)
class Connector:
    """A registration as shown; the secret itself stays in the store (``connector_secret``)."""

    id: str
    tenant_id: str
    client_id: str
    azure_tenant_id: str
    subscription_id: str
    config_id: str | None
    regions: tuple[str, ...]
    token_id: str
    registered_at: str
    updated_at: str
    has_credential: bool = False


def _connector(row: sa.RowMapping) -> Connector:
    return Connector(
        row["id"],
        row["tenant_id"],
        row["client_id"],
        row["azure_tenant_id"],
        row["subscription_id"],
        row["config_id"],
        tuple(json.loads(row["regions"])),
        row["token_id"],
        row["registered_at"],
        row["updated_at"],
        row["client_secret"] is not None,
    )
