"""The flow store: normalized, enriched flows of every tenant, and the batches that admitted them.

``FlowStore`` is the protocol the gateway uses; ``DuckFlowStore`` is the embedded default, one
DuckDB file in the data dir beside its journal (``journal.py``). A batch is acknowledged once
journaled; one merger thread then commits journaled batches to DuckDB in large transactions
together with their idempotency keys, and removes them from the journal. So a crash can neither
admit a batch twice (a key is looked up in the journal and in DuckDB) nor lose one that was
acknowledged (the journal is merged at start-up). The rows waiting to be merged are bounded:
beyond that ``admit`` refuses at once (the gateway answers 503 with Retry-After).
"""

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from flowcdr.errors import FlowcdrError
from flowcdr.formats.schema import CLOSED_VALUES, STORED_SCHEMA
from flowcdr.store import rollups
from flowcdr.store.clickhouse import Connection
from flowcdr.store.journal import Entry, Journal

T = TypeVar("T")


class StoreBusyError(FlowcdrError):
    """The writer is behind; try again shortly."""


class StoreFullError(FlowcdrError):
    """No room to journal a batch (disk full or over quota): it was not acknowledged."""


class FlowStoreError(FlowcdrError):
    """The flow store cannot be opened (locked by another process, unreadable...)."""


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

    def flush(self) -> None: ...

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
# The layout of the flow store; bump it, with an upgrade step, whenever it changes.
# 1: flows and ingest_batches. 2: flows_hourly (rollups.py), built from the flows on upgrade.
FLOWS_VERSION = 2
# A merge commits at least this many rows when that many are waiting: whole row groups (122,880
# rows each), and about half the CPU per row of collector-sized commits.
ROW_GROUP = 122_880
MERGE_ROWS = 8 * ROW_GROUP
# Acknowledged rows not yet merged, at most; beyond it ``admit`` refuses (503 + Retry-After).
MAX_WAITING_ROWS = 4 * MERGE_ROWS
DuckConfig = dict[str, str | bool | int | float | list[str]]
""":func:`duckdb.connect`'s settings."""
# DuckDB's cache and query memory unless the caller says otherwise (``duckdb_memory_limit``).
DEFAULT_MEMORY_LIMIT = "1GB"
# After a failed merge (disk full, say) the journal keeps the batches and the merge is retried.
RETRY_SECONDS = 5.0
log = logging.getLogger(__name__)

MergeListener = Callable[[str, dt.datetime, dt.datetime], None]
"""Told (tenant, first flow time, last flow time) of each batch once it is merged."""


@dataclass
class _Journaling:
    """A key being written to the journal: admits of the same key wait for the outcome."""

    done: threading.Event


@dataclass
class _Journaled:
    """A key whose batch is journaled (acknowledged) and waits to be merged."""

    entry: Entry
    answer: dict[str, int]
    since: float
    replays: int = 0


@dataclass
class _Job:
    run: Callable[[duckdb.DuckDBPyConnection], Any]
    done: "Future[Any]"


class DuckFlowStore:
    """Flows in one DuckDB file and its journal; create with ``DuckFlowStore.open(path)``.

    ``admit`` journals a batch and answers; one merger thread moves journaled batches into
    DuckDB when a merge's worth of rows waits or the oldest has waited ``merge_seconds``, so
    acknowledged flows are queryable within about that long (``flush`` forces it). The merger is
    the only DuckDB writer; retention deletes run on it too.
    """

    def __init__(
        self,
        path: Path,
        config: DuckConfig,
        database: duckdb.DuckDBPyConnection,
        journal: Journal,
        *,
        merge_seconds: float,
        on_merge: MergeListener | None = None,
    ) -> None:
        self._path = path
        self._config = config
        self._db = database
        self._writer = database.cursor()  # the merger's
        self._on_merge = on_merge
        self._journal = journal
        self._merge_seconds = merge_seconds
        self._wake = threading.Condition()
        self._keys: dict[tuple[str, str], _Journaling | _Journaled] = {}
        self._lookup = database.cursor()  # guarded by _wake's lock
        self._waiting_rows = 0
        self._replays: Counter[tuple[str, str]] = Counter()
        self._jobs: list[_Job] = []
        self._flushes = 0
        self._merging = False
        self._failed_at: float | None = None
        self._full: str | None = None  # why the last merge found no room, until one succeeds
        self._invalid = False  # DuckDB refuses every call after a fatal error, until reopened
        self._closing = False
        self._merger = threading.Thread(target=self._merge_loop, name="flowcdr-merger", daemon=True)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        merge_seconds: float = 1.0,
        on_merge: MergeListener | None = None,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        temp_directory: Path | None = None,
    ) -> "DuckFlowStore":
        """Open (or create) the store; batches journaled before a crash are merged first.

        ``on_merge`` hears the tenant and time span of every batch once it is queryable (on the
        merger's thread: it must be quick), which is what continuous detection runs on.
        ``memory_limit`` bounds DuckDB's cache and query memory (a DuckDB size, or a share of
        RAM); past it DuckDB evicts cached blocks and spills to ``temp_directory`` (default:
        ``<path>.tmp``). Without it DuckDB caches the growing file up to 80 % of RAM.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        config: DuckConfig = {
            "memory_limit": memory_limit,
            "temp_directory": str(temp_directory or path.with_name(path.name + ".tmp")),
        }
        try:
            database = duckdb.connect(str(path), config=config)
        except duckdb.IOException as error:  # e.g. another process holds the file's lock
            raise FlowStoreError(f"cannot open the flow store {path}: {error}") from None
        except duckdb.Error as error:  # a setting DuckDB refuses
            raise FlowStoreError(
                f"cannot open the flow store {path} with {config}: {error}"
            ) from None
        try:
            database.execute("SET enable_progress_bar = false")
            _check_schema(database, path)
        except BaseException:
            database.close()
            raise
        journal = Journal(path.with_suffix(".journal"))
        store = cls(path, config, database, journal, merge_seconds=merge_seconds, on_merge=on_merge)
        store._recover()
        store._merger.start()
        store.flush()
        return store

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A connection for one reading thread (a DuckDB connection is not shared by threads)."""
        return self._db.cursor()

    def admit(self, batch: Batch) -> Admission:
        """Journal the batch unless its key was admitted before; returns the batch's answer.

        Raises StoreBusyError when too many acknowledged rows wait for the merger, and
        StoreFullError when the batch cannot be journaled for lack of room, or while the last
        merge found none (what space is left goes to merging what was acknowledged).
        """
        key = (batch.tenant_id, batch.key)
        rows = batch.table.num_rows
        while True:
            with self._wake:
                known = self._keys.get(key)
                if isinstance(known, _Journaled):
                    known.replays += 1
                    return Admission(known.answer, replay=True)
                if known is None:
                    if self._full is not None:  # also before a lookup: DuckDB may be unusable
                        raise StoreFullError(self._full)
                    if self._invalid:
                        raise StoreBusyError(f"the flow store {self._path} is being reopened")
                    merged = self._merged_answer(key)
                    if merged is not None:
                        self._replays[key] += 1
                        return Admission(merged, replay=True)
                    if self._waiting_rows + rows > MAX_WAITING_ROWS and self._waiting_rows:
                        raise StoreBusyError("the flow merger is behind")
                    self._waiting_rows += rows
                    journaling = self._keys[key] = _Journaling(threading.Event())
                    break
            known.done.wait()  # the same key is being journaled by another request
        try:
            entry = self._journal.write(batch.table.select(STORED_SCHEMA.names), _metadata(batch))
        except BaseException as error:
            with self._wake:
                del self._keys[key]
                self._waiting_rows -= rows
            journaling.done.set()
            if _out_of_space(error):
                raise StoreFullError(f"no room to journal the batch: {_cause(error)}") from None
            raise
        with self._wake:
            self._keys[key] = _Journaled(entry, batch.answer, time.monotonic())
            self._wake.notify_all()
        journaling.done.set()
        return Admission(batch.answer, replay=False)

    def flush(self) -> None:
        """Merge every batch acknowledged so far and return once it is queryable."""
        with self._wake:
            target = self._last_journaled()
            self._flushes += 1
            self._wake.notify_all()
            merged = self._wake.wait_for(
                lambda: (
                    self._closing
                    or self._failed_at is not None
                    or (
                        self._oldest_journaled() > target
                        and not self._replays
                        and not self._merging
                    )
                )
            )
            self._flushes -= 1
            if merged and self._failed_at is not None:
                why = f": {self._full}" if self._full else ""
                raise FlowcdrError(
                    f"flows could not be merged into {self._path}; they stay journaled{why}"
                )

    def delete_older_than(self, cutoff: dt.datetime) -> int:
        """Retention: remove flows whose time is before ``cutoff``; returns how many."""
        return self._submit(lambda db: _delete_older(db, cutoff))

    def close(self) -> None:
        """Merge what waits, then stop the merger and close the database."""
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        if self._merger.is_alive():
            self._merger.join()
        self._lookup.close()
        try:
            self._db.close()  # checkpoints: folds the write-ahead log into the file
        except duckdb.Error as error:
            if not (_out_of_space(error) or self._invalid):
                raise
            log.error(  # nothing is lost: DuckDB replays its write-ahead log at the next start
                "the flow store %s could not checkpoint on closing: %s", self._path, _cause(error)
            )

    def _submit(self, run: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        done: Future[T] = Future()
        with self._wake:
            self._jobs.append(_Job(run, done))
            self._wake.notify_all()
        return done.result()

    def _merged_answer(self, key: tuple[str, str]) -> dict[str, int] | None:
        found = self._lookup.execute(
            "SELECT answer FROM ingest_batches WHERE tenant_id = ? AND idempotency_key = ?",
            list(key),
        ).fetchone()
        return None if found is None else dict(json.loads(found[0]))

    def _reopen(self) -> None:
        """Open the database again after a fatal error: DuckDB invalidates it when a checkpoint
        fails (as on a full disk) and refuses every later call. What it committed is in the file
        and its write-ahead log, which the new instance replays."""
        with self._wake:  # admit's lookups use _lookup under this lock
            for connection in (self._writer, self._lookup, self._db):
                with contextlib.suppress(duckdb.Error):
                    connection.close()
            database = duckdb.connect(str(self._path), config=self._config)
            database.execute("SET enable_progress_bar = false")
            self._db, self._lookup, self._writer = database, database.cursor(), database.cursor()
            self._invalid = False
        log.warning("the flow store %s was opened again after a fatal DuckDB error", self._path)

    def _recover(self) -> None:
        """Take over the journal a stopped or killed gateway left: merged files go, others wait."""
        for entry in self._journal.entries():
            key = (entry.metadata["tenant_id"], entry.metadata["key"])
            if key in self._keys or self._merged_answer(key) is not None:
                self._journal.remove(entry)
                continue
            answer = json.loads(entry.metadata["answer"])
            self._keys[key] = _Journaled(entry, answer, since=float("-inf"))
            self._waiting_rows += entry.table.num_rows

    def _journaled(self) -> list[tuple[tuple[str, str], _Journaled]]:
        return [(k, v) for k, v in self._keys.items() if isinstance(v, _Journaled)]

    def _last_journaled(self) -> int:
        return max((v.entry.seq for _, v in self._journaled()), default=0)

    def _oldest_journaled(self) -> float:
        return min((v.entry.seq for _, v in self._journaled()), default=float("inf"))

    def _due_in(self, now: float) -> float:
        """Seconds until the merger has work (0: now); called with the lock held."""
        if self._jobs or self._closing:
            return 0.0
        journaled = self._journaled()
        if self._failed_at is not None:
            return max(0.0, self._failed_at + RETRY_SECONDS - now)
        rows = sum(waiting.entry.table.num_rows for _, waiting in journaled)
        if journaled and (self._flushes or rows >= MERGE_ROWS):
            return 0.0
        oldest = min((v.since for _, v in journaled), default=None)
        if oldest is None:
            return 0.0 if self._replays else float("inf")
        return max(0.0, oldest + self._merge_seconds - now)

    def _merge_loop(self) -> None:
        while True:
            with self._wake:
                while (wait := self._due_in(time.monotonic())) > 0:
                    self._wake.wait(None if wait == float("inf") else wait)
                jobs, self._jobs = self._jobs, []
                journaled = self._journaled()
                replays, self._replays = self._replays, Counter()
                closing = self._closing
                self._merging = bool(journaled or replays)
            if journaled or replays:  # first, so a retention pass also sees the waiting flows
                self._merge(journaled, replays)
            for job in jobs:
                _run(self._writer, job)
            if closing:
                with self._wake:
                    if not self._journaled() and not self._jobs:
                        break
        with contextlib.suppress(duckdb.Error):
            self._writer.close()

    def _merge(
        self,
        journaled: list[tuple[tuple[str, str], _Journaled]],
        replays: Counter[tuple[str, str]],
    ) -> None:
        with self._wake:  # replays counted while the batches waited go in with them
            counted = {key: waiting.replays for key, waiting in journaled}
        try:
            done: set[tuple[str, str]] = set()
            if self._invalid:
                self._reopen()
            if self._failed_at is not None:  # a failed COMMIT may be in, only its checkpoint not
                with self._wake:
                    done = {key for key, _ in journaled if self._merged_answer(key) is not None}
            batches = [(k, w.entry, counted[k]) for k, w in journaled if k not in done]
            _commit(self._writer, batches, replays)
        except Exception as error:
            if isinstance(error, duckdb.FatalException):  # e.g. a checkpoint that found no room
                self._invalid = True
            full = _out_of_space(error)
            if not full:
                log.exception("merging %d journaled batches into DuckDB failed", len(journaled))
            elif self._full is None:  # once per episode: the retries every few seconds are quiet
                log.error(
                    "cannot merge %d journaled batches into the flow store %s: %s; they stay "
                    "journaled, new batches are refused (507) and the merge is retried every %g s",
                    len(journaled), self._path, _cause(error), RETRY_SECONDS,
                )  # fmt: skip
            with self._wake:
                self._full = (
                    f"the flow store {self._path} cannot grow: {_cause(error)}" if full else None
                )
                self._replays.update(replays)
                self._failed_at = time.monotonic()
                if self._closing:  # the journal keeps them for the next start
                    for key, _ in journaled:
                        del self._keys[key]
                self._merging = False
                self._wake.notify_all()
            return
        for _, waiting in journaled:
            self._journal.remove(waiting.entry)
        if self._full is not None:
            log.warning("the flow store %s has room again; batches are accepted", self._path)
        with self._wake:
            self._failed_at = None
            self._full = None
            for key, waiting in journaled:
                self._replays[key] += waiting.replays - counted[key]  # arrived during the commit
                del self._keys[key]
                self._waiting_rows -= waiting.entry.table.num_rows
            self._merging = False
            self._wake.notify_all()
        if self._on_merge is not None:
            for (tenant_id, _), waiting in journaled:
                _tell(self._on_merge, tenant_id, waiting.entry.table)


def _tell(listener: MergeListener, tenant_id: str, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    span = pc.min_max(table.column("time"))
    try:
        listener(tenant_id, span["min"].as_py(), span["max"].as_py())
    except Exception:  # a listener's failure must not stop the merger
        log.exception("the merge listener failed")


def _check_schema(database: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Create the tables of a new file, upgrade an older layout, refuse an unknown one.

    The file records the version of its layout (``FLOWS_VERSION``); each upgrade step runs in
    one transaction with the version bump. A file of a newer version, or whose flows columns
    differ from ``STORED_SCHEMA``, is refused with its path rather than written into wrongly.
    """
    database.execute(
        "CREATE TABLE IF NOT EXISTS flowcdr_meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
    )
    found = database.execute(
        "SELECT value FROM flowcdr_meta WHERE key = 'flows_version'"
    ).fetchone()
    columns = [
        row[0]
        for row in database.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'flows' "
            "ORDER BY column_index"
        ).fetchall()
    ]
    if not columns:
        database.execute(BATCHES_DDL)
        database.execute(FLOWS_DDL)
        database.execute(rollups.HOURLY_DDL)
        _set_version(database, found is None, FLOWS_VERSION)
        return
    version = int(found[0]) if found else 1  # a file from before the version row
    if version > FLOWS_VERSION or columns != STORED_SCHEMA.names:
        raise FlowcdrError(
            f"{path}: flow store layout version {version} with columns {columns} is not "
            f"a layout this flowcdr reads (up to version {FLOWS_VERSION}); keep the file and "
            "open it with the release that wrote it"
        )
    if version < 2:
        database.execute("BEGIN TRANSACTION")
        database.execute(rollups.HOURLY_DDL)
        rollups.add_rollups(database, "flows")
        _set_version(database, found is None, 2)
        database.execute("COMMIT")


def _set_version(database: duckdb.DuckDBPyConnection, new: bool, version: int) -> None:
    if new:
        database.execute("INSERT INTO flowcdr_meta VALUES ('flows_version', ?)", [str(version)])
    else:
        database.execute(
            "UPDATE flowcdr_meta SET value = ? WHERE key = 'flows_version'", [str(version)]
        )


def _metadata(batch: Batch) -> dict[str, str]:
    return {
        "tenant_id": batch.tenant_id,
        "key": batch.key,
        "answer": json.dumps(batch.answer, sort_keys=True),
        "source": batch.source,
        "connector_id": batch.connector_id or "",
    }


def _run(db: duckdb.DuckDBPyConnection, job: _Job) -> None:
    try:
        job.done.set_result(job.run(db))
    except Exception as error:  # handed to the waiting caller
        job.done.set_exception(error)


def _commit(
    db: duckdb.DuckDBPyConnection,
    batches: list[tuple[tuple[str, str], Entry, int]],
    replays: Counter[tuple[str, str]],
) -> None:
    """One transaction: the flows of the batches, their keys and answers, and replay counts."""
    db.execute("BEGIN TRANSACTION")
    try:
        if batches:
            db.register("merged", pa.concat_tables([entry.table for _, entry, _ in batches]))
            try:
                db.execute("INSERT INTO flows SELECT * FROM merged")
                rollups.add_rollups(db, "merged")
            finally:
                db.unregister("merged")
            db.executemany(
                "INSERT INTO ingest_batches (tenant_id, idempotency_key, connector_id, source, "
                "admitted_at, answer, flows, rejected, replays) "
                "VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?)",
                [
                    [
                        tenant_id,
                        key,
                        entry.metadata["connector_id"] or None,
                        entry.metadata["source"],
                        entry.metadata["answer"],
                        entry.table.num_rows,
                        json.loads(entry.metadata["answer"]).get("rejected", 0),
                        replayed,
                    ]
                    for (tenant_id, key), entry, replayed in batches
                ],
            )
        for (tenant_id, key), count in replays.items():
            db.execute(
                "UPDATE ingest_batches SET replays = replays + ? "
                "WHERE tenant_id = ? AND idempotency_key = ?",
                [count, tenant_id, key],
            )
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT has ended the transaction
            db.execute("ROLLBACK")
        raise


# No room to write: the disk is full, a quota is reached, or a file may grow no further
# (RLIMIT_FSIZE, or a file system's largest file).
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NO_ROOM_TEXT = tuple(os.strerror(code) for code in _NO_ROOM)


def _out_of_space(error: BaseException) -> bool:
    """An expected operational failure, not a bug: no room to write. DuckDB's errors (I/O,
    a failed commit, a failed checkpoint) and some of pyarrow's carry the system's message but
    no errno."""
    if isinstance(error, OSError) and error.errno in _NO_ROOM:
        return True
    if not isinstance(error, OSError | duckdb.Error):
        return False
    return any(text in str(error) for text in _NO_ROOM_TEXT)


def _cause(error: BaseException) -> str:
    """The first line of an error's message, for a one-line log entry or answer."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _delete_older(db: duckdb.DuckDBPyConnection, cutoff: dt.datetime) -> int:
    rollups.delete_before(db, cutoff)
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
    reader: duckdb.DuckDBPyConnection | Connection, tenant_id: str
) -> tuple[list[ConnectorHealth], list[ResourceHealth]]:
    """Data health of a tenant: what each connector delivered, and how fresh each resource is."""
    if isinstance(reader, Connection):  # the ClickHouse flow store
        from flowcdr.store import clickhouse_query

        return clickhouse_query.source_health(reader, tenant_id)
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
