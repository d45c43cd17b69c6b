"""The ClickHouse flow store: the ``FlowStore`` of scale-out (design.md sections 5 and 9).

Unlike DuckDB, ClickHouse takes many concurrent writers and wants inserts of thousands of
rows, which a collector's batch is; so ``admit`` inserts the batch itself, with no journal and
no merger, and the flows are queryable when it returns.

Exactly-once effect without transactions: the flows go in with an insert deduplication token
derived from (tenant, key), then the batch's row with its answer. A replay that finds the row
answers from it; a retry after a crash between the two inserts re-sends the flows, which
ClickHouse drops as a duplicate (the materialized views' rollups with them), and writes the
row. Two gateways admitting one key at once both insert: ClickHouse keeps one copy of the
flows and the batch rows fold into one (ReplacingMergeTree).
"""

import datetime as dt
import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.formats.schema import STORED_SCHEMA
from flowcdr.store.clickhouse import (
    Borrowed,
    ChdbConnection,
    Connection,
    ServerConnection,
    dedup_token,
)
from flowcdr.store.clickhouse_schema import ADDRESSES, ROLLUPS, Layout, ddl
from flowcdr.store.flows import Admission, Batch, MergeListener

log = logging.getLogger(__name__)
_V4_MAPPED = bytes(10) + b"\xff\xff"


def _packed_texts(texts: pa.Array) -> pa.Array:
    """Address texts as 16 bytes each (IPv4 as IPv4-mapped IPv6), what an IPv6 column takes."""
    packed: list[bytes | None] = []
    for text in texts.to_pylist():
        if text is None:
            packed.append(None)
        elif ":" in text:
            packed.append(socket.inet_pton(socket.AF_INET6, text))
        else:
            packed.append(_V4_MAPPED + socket.inet_pton(socket.AF_INET, text))
    return pa.array(packed, pa.binary(16))


def packed_addresses(table: pa.Table) -> pa.Table:
    """The stored columns with addresses packed. Each distinct address is converted once:
    the chunks' dictionaries are unified first (a batch repeats addresses across chunks)."""
    table = table.select(STORED_SCHEMA.names)
    for name in ADDRESSES:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.unify_dictionaries()
            values = _packed_texts(column.chunks[0].dictionary) if column.num_chunks else None
            chunks = [values.take(chunk.indices) for chunk in column.chunks if values is not None]
        else:
            chunks = [_packed_texts(chunk) for chunk in column.chunks]
        index = table.schema.get_field_index(name)
        packed = pa.chunked_array(chunks, pa.binary(16))
        table = table.set_column(index, pa.field(name, pa.binary(16), nullable=False), packed)
    return table


def _distinct(chunk: pa.Array) -> pa.Array:
    """A dictionary chunk whose dictionary has no value twice (chDB refuses one that does;
    ``formats`` never makes one, a table built by hand may)."""
    if not pa.types.is_dictionary(chunk.type):
        return chunk
    if len(pc.unique(chunk.dictionary)) == len(chunk.dictionary):
        return chunk
    encoded: pa.Array = pc.dictionary_encode(chunk.dictionary_decode())
    return encoded.cast(chunk.type)


def insertable(table: pa.Table) -> pa.Table:
    """A batch as the flows table takes it: stored columns in order, addresses packed,
    dictionaries without repeated values."""
    table = packed_addresses(table)
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            column = table.column(index)
            chunks = [_distinct(chunk) for chunk in column.chunks]
            table = table.set_column(index, field, pa.chunked_array(chunks, field.type))
    return table


class ClickFlowStore:
    """Flows in ClickHouse; create with ``ClickFlowStore.open``."""

    def __init__(
        self, connection: Connection, layout: Layout, on_merge: MergeListener | None = None
    ) -> None:
        self._db = connection
        self._layout = layout
        self._on_merge = on_merge
        self._guard = threading.Lock()
        self._admitting: dict[tuple[str, str], tuple[threading.Lock, int]] = {}

    @classmethod
    def open(
        cls,
        layout: Layout,
        *,
        url: str | None = None,
        user: str = "default",
        password: str = "",
        path: Path | None = None,
        on_merge: MergeListener | None = None,
    ) -> "ClickFlowStore":
        """Connect (to the server at ``url``, else chDB kept in ``path`` or in memory) and
        create what is missing (every statement is ``IF NOT EXISTS``)."""
        connection: Connection = (
            ServerConnection(url, user, password) if url else ChdbConnection(path)
        )
        try:
            for statement in ddl(layout):
                connection.command(statement)
            connection.use(layout.database)
        except BaseException:
            connection.close()
            raise
        return cls(connection, layout, on_merge)

    def reader(self) -> Connection:
        """A connection for a caller to query and close (the engine serializes or pools)."""
        return Borrowed(self._db)

    def admit(self, batch: Batch) -> Admission:
        """Insert the batch unless its key was admitted before; returns the batch's answer."""
        key = (batch.tenant_id, batch.key)
        with self._one_at_a_time(key):
            answer = self._admitted(key)
            if answer is not None:
                self._db.command(
                    "INSERT INTO ingest_replays SELECT {tenant:String}, {key:String}, now64(6)",
                    {"tenant": batch.tenant_id, "key": batch.key},
                )
                return Admission(answer, replay=True)
            if batch.table.num_rows:
                rows = insertable(batch.table)
                self._db.insert("flows", rows, dedup_token(batch.tenant_id, batch.key))
            self._db.command(
                "INSERT INTO ingest_batches SELECT {tenant:String}, {key:String}, "
                "{connector:Nullable(String)}, {source:String}, now64(6), {answer:String}, "
                "{flows:UInt64}, {rejected:UInt64}",
                {
                    "tenant": batch.tenant_id,
                    "key": batch.key,
                    "connector": batch.connector_id,
                    "source": batch.source,
                    "answer": json.dumps(batch.answer, sort_keys=True),
                    "flows": batch.table.num_rows,
                    "rejected": batch.answer.get("rejected", 0),
                },
            )
        if self._on_merge is not None and batch.table.num_rows:
            span = pc.min_max(batch.table.column("time"))
            try:
                self._on_merge(batch.tenant_id, span["min"].as_py(), span["max"].as_py())
            except Exception:  # a listener's failure must not fail an admitted batch
                log.exception("the merge listener failed")
        return Admission(batch.answer, replay=False)

    @contextmanager
    def _one_at_a_time(self, key: tuple[str, str]) -> Iterator[None]:
        """Admits of one key in this process wait for each other (across processes, the
        deduplication token and the folding batch rows make a race harmless)."""
        with self._guard:
            lock, users = self._admitting.get(key, (threading.Lock(), 0))
            self._admitting[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._admitting[key]
                if users == 1:
                    del self._admitting[key]
                else:
                    self._admitting[key] = (lock, users - 1)

    def _admitted(self, key: tuple[str, str]) -> dict[str, int] | None:
        found = self._db.rows(
            "SELECT any(answer) FROM ingest_batches "
            "WHERE tenant_id = {tenant:String} AND idempotency_key = {key:String} "
            "HAVING count() > 0",
            {"tenant": key[0], "key": key[1]},
        )
        return None if not found else dict(json.loads(found[0][0]))

    def flush(self) -> None:
        """Nothing waits: an admitted batch is already queryable."""

    def delete_older_than(self, cutoff: dt.datetime) -> int:
        """Retention beyond TTL: remove flows before ``cutoff`` and the rollup buckets wholly
        before it; returns how many flows."""
        params = {"cutoff": cutoff}
        found = self._db.rows(
            "SELECT count() FROM flows WHERE time < {cutoff:DateTime64(6, 'UTC')}", params
        )
        deleted = int(found[0][0]) if found else 0
        on = f" ON CLUSTER `{self._layout.cluster}`" if self._layout.cluster else ""
        suffix = "_local" if self._layout.cluster else ""
        if deleted:
            self._db.command(
                f"DELETE FROM flows{suffix}{on} WHERE time < {{cutoff:DateTime64(6, 'UTC')}}",  # noqa: S608 - fixed names
                params,
            )
        for table, seconds in ROLLUPS.items():
            whole = "bucket <= toDateTime({before:DateTime64(6, 'UTC')}, 'UTC')"
            before = {"before": cutoff - dt.timedelta(seconds=seconds)}
            # A mutation rewrites parts: only when there is something to remove (TTL usually
            # got there first).
            count = f"SELECT count() FROM {table} WHERE {whole}"  # noqa: S608 - fixed names
            if self._db.rows(count, before)[0][0]:
                self._db.command(
                    f"ALTER TABLE {table}{suffix}{on} DELETE WHERE {whole} "
                    "SETTINGS mutations_sync = 1",
                    before,
                )
        return deleted

    def close(self) -> None:
        self._db.close()
