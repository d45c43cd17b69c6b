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
from flowcdr.formats.schema import CLOSED_VALUES, STORED_SCHEMA

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
    if field.name in CLOSED_VALUES:
        # A byte per value on disk, and far cheaper to insert than VARCHAR.
        values = CLOSED_VALUES[field.name]
        return "ENUM({})".format(", ".join(f"'{value}'" for value in values))
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
# The writer commits the batches waiting together, up to about this many rows. A commit below
# DuckDB's row-group size (122,880 rows) goes through the WAL and a checkpoint, which costs
# more than the insert itself; grouping makes commits large whatever the collectors' batch size.
ROW_GROUP = 122_880
GROUP_ROWS = 2 * ROW_GROUP
# Below a row group the writer waits this long for another batch to join the commit.
GROUP_WAIT_SECONDS = 0.25


@dataclass
class _Admit:
    batch: Batch
    done: "Future[Admission]"


@dataclass
class _Job:
    run: Callable[[duckdb.DuckDBPyConnection], Any]
    done: "Future[Any]"


class DuckFlowStore:
    """Flows in one DuckDB file; create with ``DuckFlowStore.open(path)``."""

    def __init__(self, database: duckdb.DuckDBPyConnection) -> None:
        self._db = database
        self._jobs: queue.Queue[_Admit | _Job | None] = queue.Queue(maxsize=QUEUE_DEPTH)
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
        done: Future[Admission] = Future()
        self._put(_Admit(batch, done))
        return done.result()

    def delete_older_than(self, cutoff: dt.datetime) -> int:
        """Retention: remove flows whose time is before ``cutoff``; returns how many."""
        return self._submit(lambda db: _delete_older(db, cutoff))

    def close(self) -> None:
        self._jobs.put(None)
        self._writer.join()
        self._db.close()

    def _submit(self, run: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        done: Future[T] = Future()
        self._put(_Job(run, done))
        return done.result()

    def _put(self, item: _Admit | _Job) -> None:
        try:
            self._jobs.put_nowait(item)
        except queue.Full:
            raise StoreBusyError("the flow writer is behind") from None

    def _write_loop(self) -> None:
        db = self._db.cursor()
        pending: _Admit | _Job | None = None
        while True:
            item = pending if pending is not None else self._jobs.get()
            pending = None
            if item is None:
                break
            if isinstance(item, _Job):
                try:
                    item.done.set_result(item.run(db))
                except Exception as error:  # handed to the waiting caller
                    item.done.set_exception(error)
                continue
            group = [item]
            rows = item.batch.table.num_rows
            while rows < GROUP_ROWS:
                try:
                    more = self._jobs.get(timeout=GROUP_WAIT_SECONDS if rows < ROW_GROUP else 0)
                except queue.Empty:
                    break
                if not isinstance(more, _Admit):
                    pending = more
                    break
                group.append(more)
                rows += more.batch.table.num_rows
            _admit_group(db, group)
        db.close()


def _admit_group(db: duckdb.DuckDBPyConnection, group: list[_Admit]) -> None:
    """Admit queued batches in one transaction; each caller gets its own answer."""
    try:
        answers = _admit_all(db, [item.batch for item in group])
    except Exception as error:  # handed to every waiting caller
        for item in group:
            item.done.set_exception(error)
        return
    for item, answer in zip(group, answers, strict=True):
        item.done.set_result(answer)


def _admit_all(db: duckdb.DuckDBPyConnection, batches: list[Batch]) -> list[Admission]:
    db.execute("BEGIN TRANSACTION")
    try:
        answers: list[Admission] = []
        admitted: dict[tuple[str, str], Batch] = {}
        replays: dict[tuple[str, str], int] = {}
        for batch in batches:
            key = (batch.tenant_id, batch.key)
            if key in admitted:  # the same key twice in one group
                answers.append(Admission(admitted[key].answer, replay=True))
                replays[key] = replays.get(key, 0) + 1
                continue
            found = db.execute(
                "SELECT answer FROM ingest_batches WHERE tenant_id = ? AND idempotency_key = ?",
                list(key),
            ).fetchone()
            if found is not None:
                answers.append(Admission(json.loads(found[0]), replay=True))
                replays[key] = replays.get(key, 0) + 1
                continue
            admitted[key] = batch
            answers.append(Admission(batch.answer, replay=False))
        if admitted:
            tables = [b.table.select(STORED_SCHEMA.names) for b in admitted.values()]
            rows = pa.concat_tables(tables)  # noqa: F841 - read by DuckDB by name
            db.execute("INSERT INTO flows SELECT * FROM rows")
            db.executemany(
                "INSERT INTO ingest_batches (tenant_id, idempotency_key, connector_id, source, "
                "admitted_at, answer, flows, rejected) VALUES (?, ?, ?, ?, now(), ?, ?, ?)",
                [
                    [
                        b.tenant_id,
                        b.key,
                        b.connector_id,
                        b.source,
                        json.dumps(b.answer, sort_keys=True),
                        b.table.num_rows,
                        b.answer.get("rejected", 0),
                    ]
                    for b in admitted.values()
                ],
            )
        for (tenant_id, replayed), count in replays.items():
            db.execute(
                "UPDATE ingest_batches SET replays = replays + ? "
                "WHERE tenant_id = ? AND idempotency_key = ?",
                [count, tenant_id, replayed],
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return answers


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
