"""The DuckDB flow store's writer: batches queued together commit together, keys stay exact."""

import threading
from pathlib import Path

import duckdb
import pyarrow as pa

from flowcdr.enrich import enrich
from flowcdr.formats import parse_blob
from flowcdr.store.flows import Admission, Batch, DuckFlowStore

from ..formats.builders import blob, nsg_record

TUPLE = "1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1,66"


def stored_table(tenant: str, rows: int) -> pa.Table:
    from flowcdr.api.routes.ingest import stamped

    parsed = parse_blob(blob([nsg_record({"r": {"000D3AF87856": [TUPLE] * rows}})]))
    return stamped(enrich(parsed.table), tenant, None)


def test_queued_batches_commit_together_and_duplicates_in_a_group_are_replays(
    tmp_path: Path,
) -> None:
    store = DuckFlowStore.open(tmp_path / "flows.duckdb")
    release, started = threading.Event(), threading.Event()

    def stall(db: duckdb.DuckDBPyConnection) -> None:
        started.set()
        release.wait(10)

    blocker = threading.Thread(target=store._submit, args=(stall,))
    blocker.start()
    started.wait(5)
    answers: dict[str, Admission] = {}

    def admit(name: str, key: str, rows: int) -> None:
        answer = {"records": 1, "flows": rows, "rejected": 0, "skipped": 0}
        batch = Batch("t1", key, stored_table("t1", rows), answer, "test")
        answers[name] = store.admit(batch)

    senders = [
        threading.Thread(target=admit, args=("first", "k1", 2)),
        threading.Thread(target=admit, args=("again", "k1", 2)),
        threading.Thread(target=admit, args=("other", "k2", 3)),
    ]
    for sender in senders:
        sender.start()
    while store._jobs.qsize() < 3:
        threading.Event().wait(0.01)
    release.set()
    for thread in [blocker, *senders]:
        thread.join(10)
    assert sorted(a.replay for a in answers.values()) == [False, False, True]
    reader = store.reader()
    assert reader.execute("SELECT count(*) FROM flows").fetchall() == [(5,)]
    assert reader.execute(
        "SELECT idempotency_key, flows, replays FROM ingest_batches ORDER BY 1"
    ).fetchall() == [("k1", 2, 1), ("k2", 3, 0)]
    assert reader.execute("SELECT DISTINCT typeof(direction) FROM flows").fetchall() == [
        ("ENUM('inbound', 'outbound')",)
    ]
    reader.close()
    store.close()
