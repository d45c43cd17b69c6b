"""The flow store: normalized, enriched flows of every tenant, and the batches that admitted them.

``FlowStore`` is the protocol the gateway uses; ``DuckFlowStore`` is the embedded default, one
DuckDB file in the data dir. One writer thread appends Arrow batches; a batch's idempotency key
is recorded in the same transaction as its flows, so a crash can neither admit a batch twice
nor lose one that was acknowledged. The writer's queue is bounded: when it is full, ``admit``
refuses at once (the gateway answers 503 with Retry-After) instead of buffering without limit.
"""

import datetime as dt
import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb
import pyarrow as pa

from flowcdr.errors import FlowcdrError
from flowcdr.formats.schema import STORED_SCHEMA

T = TypeVar("T")


class StoreBusyError(FlowcdrError):
    """The writer is behind; try again shortly."""


@dataclass(frozen=True)
class Batch:
    """What a collector sent, parsed and enriched, with the answer it will get."""

    tenant_id: str
    key: str
    table: pa.Table
    answer: dict[str, int]
    source: str
    connector_id: str | None = None


@dataclass(frozen=True)
class Admission:
    """The answer of a batch, and whether it was a replay of an admitted key (nothing stored)."""

    answer: dict[str, int]
    replay: bool


class FlowStore(Protocol):
    def admit(self, batch: Batch) -> Admission: ...

    def delete_older_than(self, cutoff: dt.datetime) -> int: ...

    def close(self) -> None: ...


def _duck_type(field: pa.Field) -> str:
    kind = field.type
    if pa.types.is_dictionary(kind) or pa.types.is_string(kind):
        return "VARCHAR"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMPTZ"
    return {
        pa.int8(): "TINYINT",
        pa.uint8(): "UTINYINT",
        pa.uint16(): "USMALLINT",
        pa.uint64(): "UBIGINT",
    }[kind]


FLOWS_DDL = "CREATE TABLE IF NOT EXISTS flows ({})".format(
    ", ".join(f"{f.name} {_duck_type(f)}{'' if f.nullable else ' NOT NULL'}" for f in STORED_SCHEMA)
)
BATCHES_DDL = """
CREATE TABLE IF NOT EXISTS ingest_batches (
    tenant_id VARCHAR NOT NULL,
    idempotency_key VARCHAR NOT NULL,
    connector_id VARCHAR,
    source VARCHAR,
    admitted_at TIMESTAMPTZ NOT NULL,
    answer VARCHAR NOT NULL,
    flows BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    replays BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, idempotency_key)
)"""
# Batches waiting for the writer; each is at most the ingest size cap, so this bounds memory.
QUEUE_DEPTH = 8


class DuckFlowStore:
    """Flows in one DuckDB file; create with ``DuckFlowStore.open(path)``."""

    def __init__(self, database: duckdb.DuckDBPyConnection) -> None:
        self._db = database
        self._jobs: queue.Queue[
            tuple[Callable[[duckdb.DuckDBPyConnection], Any], Future[Any]] | None
        ] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._writer = threading.Thread(target=self._write_loop, name="flowcdr-writer", daemon=True)
        self._writer.start()

    @classmethod
    def open(cls, path: Path) -> "DuckFlowStore":
        path.parent.mkdir(parents=True, exist_ok=True)
        database = duckdb.connect(str(path))
        database.execute("SET enable_progress_bar = false")
        database.execute(FLOWS_DDL)
        database.execute(BATCHES_DDL)
        return cls(database)

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A connection for one reading thread (a DuckDB connection is not shared by threads)."""
        return self._db.cursor()

    def admit(self, batch: Batch) -> Admission:
        """Store the batch unless its key was admitted before; returns the batch's answer."""
        return self._submit(lambda db: _admit(db, batch))

    def delete_older_than(self, cutoff: dt.datetime) -> int:
        """Retention: remove flows whose time is before ``cutoff``; returns how many."""
        return self._submit(lambda db: _delete_older(db, cutoff))

    def close(self) -> None:
        self._jobs.put(None)
        self._writer.join()
        self._db.close()

    def _submit(self, job: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        done: Future[T] = Future()
        try:
            self._jobs.put_nowait((job, done))
        except queue.Full:
            raise StoreBusyError("the flow writer is behind") from None
        return done.result()

    def _write_loop(self) -> None:
        db = self._db.cursor()
        while (item := self._jobs.get()) is not None:
            job, done = item
            try:
                done.set_result(job(db))
            except Exception as error:  # handed to the waiting caller
                done.set_exception(error)
        db.close()


def _admit(db: duckdb.DuckDBPyConnection, batch: Batch) -> Admission:
    tenant_id, key = batch.tenant_id, batch.key
    db.execute("BEGIN TRANSACTION")
    try:
        found = db.execute(
            "SELECT answer FROM ingest_batches WHERE tenant_id = ? AND idempotency_key = ?",
            [tenant_id, key],
        ).fetchone()
        if found is not None:
            db.execute(
                "UPDATE ingest_batches SET replays = replays + 1 "
                "WHERE tenant_id = ? AND idempotency_key = ?",
                [tenant_id, key],
            )
            db.execute("COMMIT")
            return Admission(json.loads(found[0]), replay=True)
        rows = batch.table.select(STORED_SCHEMA.names)  # noqa: F841 - read by DuckDB by name
        db.execute("INSERT INTO flows SELECT * FROM rows")
        db.execute(
            "INSERT INTO ingest_batches (tenant_id, idempotency_key, connector_id, source, "
            "admitted_at, answer, flows, rejected) VALUES (?, ?, ?, ?, now(), ?, ?, ?)",
            [
                tenant_id,
                key,
                batch.connector_id,
                batch.source,
                json.dumps(batch.answer, sort_keys=True),
                batch.table.num_rows,
                batch.answer.get("rejected", 0),
            ],
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return Admission(batch.answer, replay=False)


def _delete_older(db: duckdb.DuckDBPyConnection, cutoff: dt.datetime) -> int:
    deleted = db.execute("DELETE FROM flows WHERE time < ?", [cutoff]).fetchone()
    return int(deleted[0]) if deleted else 0


@dataclass(frozen=True)
class ConnectorHealth:
    connector_id: str | None
    batches: int
    flows: int
    rejected: int
    replays: int
    last_batch_at: dt.datetime


@dataclass(frozen=True)
class ResourceHealth:
    connector_id: str | None
    resource_id: str
    flows: int
    last_flow_at: dt.datetime
    last_ingested_at: dt.datetime
    lag_seconds: float
    """How long after its own time the newest flow of the resource was admitted."""


def source_health(
    reader: duckdb.DuckDBPyConnection, tenant_id: str
) -> tuple[list[ConnectorHealth], list[ResourceHealth]]:
    """Data health of a tenant: what each connector delivered, and how fresh each resource is."""
    connectors = [
        ConnectorHealth(*row)
        for row in reader.execute(
            "SELECT connector_id, count(*), sum(flows), sum(rejected), sum(replays), "
            "max(admitted_at) FROM ingest_batches WHERE tenant_id = ? "
            "GROUP BY connector_id ORDER BY connector_id NULLS FIRST",
            [tenant_id],
        ).fetchall()
    ]
    resources = [
        ResourceHealth(*row)
        for row in reader.execute(
            "SELECT connector_id, resource_id, count(*), max(time), max(ingested_at), "
            "epoch(arg_max(ingested_at, time) - max(time)) FROM flows WHERE tenant_id = ? "
            "GROUP BY connector_id, resource_id ORDER BY connector_id NULLS FIRST, resource_id",
            [tenant_id],
        ).fetchall()
    ]
    return connectors, resources
