"""The DuckDB flow store: a batch is journaled, acknowledged, merged; keys stay exact throughout."""

import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from flowcdr.enrich import enrich, stamp
from flowcdr.errors import FlowcdrError
from flowcdr.formats import parse_blob
from flowcdr.formats.schema import STORED_SCHEMA
from flowcdr.store import flows as flow_store
from flowcdr.store.flows import Admission, Batch, DuckFlowStore, StoreBusyError
from flowcdr.store.journal import Journal

from ..formats.builders import blob, nsg_record

TUPLE = "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"
SLOW = 3600.0  # merge_seconds that never elapses in a test: only flush or close merges


def stored_table(tenant: str, rows: int) -> pa.Table:
    parsed = parse_blob(blob([nsg_record({"r": {"000D3AF87856": [TUPLE] * rows}})]))
    return stamp(enrich(parsed.table), tenant, None)


def batch(key: str, rows: int, tenant: str = "t1") -> Batch:
    answer = {"records": 1, "flows": rows, "rejected": 0, "skipped": 0}
    return Batch(tenant, key, stored_table(tenant, rows), answer, "test")


def counts(store: DuckFlowStore) -> tuple[int, list[tuple[str, int, int]]]:
    reader = store.reader()
    try:
        (flows,) = reader.execute("SELECT count(*) FROM flows").fetchone() or (0,)
        keys = reader.execute(
            "SELECT idempotency_key, flows, replays FROM ingest_batches ORDER BY 1"
        ).fetchall()
        return flows, keys
    finally:
        reader.close()


def journal_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "flows.journal").glob("*.arrow"))


def test_acknowledged_batches_wait_in_the_journal_and_merge_together(tmp_path: Path) -> None:
    store = DuckFlowStore.open(tmp_path / "flows.duckdb", merge_seconds=SLOW)
    try:
        assert store.admit(batch("k1", 2)) == Admission(batch("k1", 2).answer, replay=False)
        assert store.admit(batch("k2", 3)).replay is False
        assert len(journal_files(tmp_path)) == 2
        assert counts(store) == (0, [])  # acknowledged, not yet merged
        assert store.admit(batch("k1", 2)).replay is True  # a replay while it waits
        store.flush()
        assert counts(store) == (5, [("k1", 2, 1), ("k2", 3, 0)])
        assert journal_files(tmp_path) == []
        assert store.admit(batch("k2", 3)) == Admission(batch("k2", 3).answer, replay=True)
        store.flush()
        assert counts(store) == (5, [("k1", 2, 1), ("k2", 3, 1)])
        reader = store.reader()
        assert reader.execute("SELECT DISTINCT typeof(direction) FROM flows").fetchall() == [
            ("ENUM('inbound', 'outbound')",)
        ]
        reader.close()
    finally:
        store.close()


def test_waiting_batches_merge_by_themselves(tmp_path: Path) -> None:
    store = DuckFlowStore.open(tmp_path / "flows.duckdb", merge_seconds=0.05)
    try:
        store.admit(batch("k1", 4))
        for _ in range(200):
            if counts(store)[0] == 4:
                break
            threading.Event().wait(0.02)
        assert counts(store) == (4, [("k1", 4, 0)])
    finally:
        store.close()


def test_concurrent_admits_of_one_key_store_it_once(tmp_path: Path) -> None:
    store = DuckFlowStore.open(tmp_path / "flows.duckdb", merge_seconds=0.01)
    answers: list[Admission] = []
    lock = threading.Lock()

    def admit() -> None:
        for _ in range(5):
            answer = store.admit(batch("same", 3))
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=admit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    store.close()
    assert sorted(a.replay for a in answers) == [False] + [True] * 19
    reopened = DuckFlowStore.open(tmp_path / "flows.duckdb")
    try:
        assert counts(reopened) == (3, [("same", 3, 19)])
    finally:
        reopened.close()


def test_a_restart_merges_what_a_crash_left_in_the_journal(tmp_path: Path) -> None:
    store = DuckFlowStore.open(tmp_path / "flows.duckdb", merge_seconds=SLOW)
    store.admit(batch("merged", 2))
    store.flush()
    store.admit(batch("waiting", 3))
    # What a crash leaves: DuckDB never saw "waiting"; "merged" was also left behind in the
    # journal (killed between the commit and the removal), and a write was cut short.
    leftover = Journal(tmp_path / "flows.journal")
    again = batch("merged", 2)
    leftover.write(again.table.select(STORED_SCHEMA.names), flow_store._metadata(again))
    (tmp_path / "flows.journal" / "0000000000000099.partial").write_bytes(b"torn")
    store._closing = True  # stop the merger without merging, as a kill would
    with store._wake:
        store._keys.clear()
        store._wake.notify_all()
    store._merger.join(10)
    store._db.close()
    assert len(journal_files(tmp_path)) == 2

    restarted = DuckFlowStore.open(tmp_path / "flows.duckdb", merge_seconds=SLOW)
    try:
        assert counts(restarted) == (5, [("merged", 2, 0), ("waiting", 3, 0)])
        assert list((tmp_path / "flows.journal").iterdir()) == []
        assert restarted.admit(batch("waiting", 3)).replay is True
    finally:
        restarted.close()


def test_too_many_waiting_rows_is_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flow_store, "MAX_WAITING_ROWS", 5)
    store = DuckFlowStore.open(tmp_path / "flows.duckdb", merge_seconds=SLOW)
    try:
        store.admit(batch("k1", 4))
        with pytest.raises(StoreBusyError):
            store.admit(batch("k2", 4))
        store.flush()
        assert store.admit(batch("k2", 4)).replay is False  # room again once merged
    finally:
        store.close()
    assert journal_files(tmp_path) == []


def test_a_store_of_another_layout_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "flows.duckdb"
    DuckFlowStore.open(path).close()
    with duckdb.connect(str(path)) as db:  # what a later release might have left
        db.execute("ALTER TABLE flows ADD COLUMN app_id VARCHAR")
    with pytest.raises(FlowcdrError, match=r"flows\.duckdb: flow store layout version 2"):
        DuckFlowStore.open(path)
    with duckdb.connect(str(path)) as db:
        db.execute("ALTER TABLE flows DROP COLUMN app_id")
        db.execute("UPDATE flowcdr_meta SET value = '9' WHERE key = 'flows_version'")
    with pytest.raises(FlowcdrError, match="version 9"):
        DuckFlowStore.open(path)


def test_a_version_1_store_gets_its_hourly_rollups_on_open(tmp_path: Path) -> None:
    path = tmp_path / "flows.duckdb"
    store = DuckFlowStore.open(path)
    store.admit(batch("k1", 3))
    store.close()
    with duckdb.connect(str(path)) as db:  # as the first release left it
        db.execute("DROP TABLE flows_hourly")
        db.execute("UPDATE flowcdr_meta SET value = '1' WHERE key = 'flows_version'")
    upgraded = DuckFlowStore.open(path)
    reader = upgraded.reader()
    try:
        assert reader.execute(
            "SELECT sum(flows) FROM flows_hourly WHERE dimension = 0"
        ).fetchall() == [(3,)]
        assert reader.execute("SELECT value FROM flowcdr_meta").fetchall() == [("2",)]
    finally:
        reader.close()
        upgraded.close()


def test_duckdb_memory_and_spill_folder_are_the_settings(tmp_path: Path) -> None:
    spill = tmp_path / "spill"
    store = DuckFlowStore.open(tmp_path / "flows.duckdb", memory_limit="64MB", temp_directory=spill)
    reader = store.reader()
    try:
        limit, folder = reader.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchone() or ("", "")
    finally:
        reader.close()
        store.close()
    assert (limit, folder) == ("61.0 MiB", str(spill))  # 64 MB in DuckDB's binary units


def test_a_memory_limit_duckdb_refuses_names_the_store(tmp_path: Path) -> None:
    with pytest.raises(FlowcdrError, match=r"flows\.duckdb .*memory_limit"):
        DuckFlowStore.open(tmp_path / "flows.duckdb", memory_limit="a lot")
