"""The thin layer between the ClickHouse flow store and an engine: chDB in process, or a server.

Everything above this module (DDL, inserts, queries, detection rules) is the same SQL text for
both; what differs is only how a statement reaches the engine. chDB (the ClickHouse engine as
a Python extension) serves the tests and an embedded single process; clickhouse-connect speaks
HTTP to a server or cluster. Both take ``{name:Type}`` placeholders, with values rendered here
in one way for both (``_rendered``), and both answer in Arrow.

A chDB session is one engine in this process and not safe for concurrent use, so calls on it
are serialized; it cannot be shared between processes either (scale-out needs a server).
"""

import datetime as dt
import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from flowcdr.errors import FlowcdrError

Params = Mapping[str, Any]


def _moment(value: dt.datetime) -> str:
    """A time as DateTime64(6) text in UTC (clickhouse-connect would drop the microseconds)."""
    utc = value.astimezone(dt.UTC) if value.utcoffset() is not None else value
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f")


def _rendered(params: Params | None) -> dict[str, str]:
    """Parameter values as the text ClickHouse parses for ``{name:Type}``."""
    from clickhouse_connect.driver.binding import format_bind_value

    rendered: dict[str, str] = {}
    for name, value in (params or {}).items():
        if isinstance(value, dt.datetime):
            rendered[name] = _moment(value)
        else:
            rendered[name] = str(format_bind_value(value, dt.UTC))
    return rendered


SESSION_SETTINGS = {
    # The SQL semantics DuckDB has and the shared rule text relies on: a CAST of NULL stays
    # NULL, a name means the column even where an alias of it exists, an outer join's missing
    # side is NULL rather than a default.
    "cast_keep_nullable": 1,
    "prefer_column_name_to_alias": 1,
    "join_use_nulls": 1,
}
INSERT_SETTINGS = {
    "deduplicate_blocks_in_dependent_materialized_views": 1,
    "insert_distributed_sync": 1,
}
"""A dropped duplicate insert drops its materialized views' blocks too (the rollups would
otherwise count a replayed batch twice); an insert into a Distributed table returns once the
shards have it, so the batch's row is never written before its flows."""


def _shown(url: str) -> str:
    """A server URL fit for a message or a log: no user or password."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def dedup_token(*parts: str) -> str:
    """An insert deduplication token for a batch: a digest, so no caller text reaches SQL."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class Connection(ABC):
    """Statements to one ClickHouse database, answered in Arrow."""

    @abstractmethod
    def use(self, database: str) -> None:
        """Make ``database`` the default of every later statement (once it exists)."""

    @abstractmethod
    def query(self, sql: str, params: Params | None = None) -> pa.Table: ...

    @abstractmethod
    def command(self, sql: str, params: Params | None = None) -> None: ...

    @abstractmethod
    def insert(self, table: str, data: pa.Table, token: str) -> None:
        """Append ``data`` to ``table`` (a fixed name in code); an insert repeating ``token``
        within the table's deduplication window is dropped, its materialized views too."""

    @abstractmethod
    def close(self) -> None: ...

    def rows(self, sql: str, params: Params | None = None) -> list[tuple[Any, ...]]:
        table = self.query(sql, params)
        columns = [column.to_pylist() for column in table.columns]
        return list(zip(*columns, strict=True)) if columns else []


class Borrowed(Connection):
    """A store's connection lent to one caller: closing it returns it (the store closes the
    connection itself), so callers written for DuckDB's per-thread cursors work unchanged."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def use(self, database: str) -> None:
        self._connection.use(database)

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        return self._connection.query(sql, params)

    def command(self, sql: str, params: Params | None = None) -> None:
        self._connection.command(sql, params)

    def insert(self, table: str, data: pa.Table, token: str) -> None:
        self._connection.insert(table, data, token)

    def close(self) -> None:
        """Nothing to release."""


class ChdbConnection(Connection):
    """The engine in this process: in memory, or kept in the folder ``path``."""

    def __init__(self, path: Path | None = None) -> None:
        from chdb import session

        self._lock = threading.Lock()
        self._session = session.Session(str(path) if path else ":memory:")
        for name, value in SESSION_SETTINGS.items():
            self.command(f"SET {name} = {int(value)}")

    def use(self, database: str) -> None:
        self.command(f"USE `{database}`")

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        with self._lock:
            result = self._session.query(sql, "ArrowTable", params=_rendered(params))
        if not isinstance(result, pa.Table):
            raise FlowcdrError(f"chDB answered {type(result).__name__}, not an Arrow table")
        return result

    def command(self, sql: str, params: Params | None = None) -> None:
        with self._lock:
            self._session.query(sql, "Null", params=_rendered(params))

    def insert(self, table: str, data: pa.Table, token: str) -> None:
        # chDB's Python() table function reads ``data`` from this frame by its name.
        if not token.isalnum():
            raise ValueError("a deduplication token is a digest")
        sql = (
            f"INSERT INTO {table} SETTINGS insert_deduplication_token = '{token}', "  # noqa: S608 - fixed name, hex token
            + ", ".join(f"{name} = {value}" for name, value in INSERT_SETTINGS.items())
            + " SELECT * FROM Python(data)"
        )
        with self._lock:
            self._session.query(sql, "Null")

    def close(self) -> None:
        with self._lock:
            self._session.close()


class ServerConnection(Connection):
    """A ClickHouse server or cluster over HTTP(S) (clickhouse-connect)."""

    def __init__(self, url: str, user: str, password: str) -> None:
        import clickhouse_connect

        try:
            # No session: queries from the gateway's threads run concurrently.
            self._client = clickhouse_connect.get_client(
                dsn=url,
                username=user,
                password=password,
                autogenerate_session_id=False,
                settings=SESSION_SETTINGS,
            )
        except Exception as error:  # the driver's errors name the server, never the password
            raise FlowcdrError(f"cannot connect to ClickHouse at {_shown(url)}: {error}") from None

    def use(self, database: str) -> None:
        self._client.database = database

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        table: pa.Table = self._client.query_arrow(sql, parameters=_rendered(params))
        return table

    def command(self, sql: str, params: Params | None = None) -> None:
        self._client.command(sql, parameters=_rendered(params))

    def insert(self, table: str, data: pa.Table, token: str) -> None:
        self._client.insert_arrow(
            table, data, settings={"insert_deduplication_token": token, **INSERT_SETTINGS}
        )

    def close(self) -> None:
        self._client.close()
