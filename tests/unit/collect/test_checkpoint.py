import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flowcdr.collect.checkpoint import Checkpoint, SqliteCheckpoints
from flowcdr.collect.source import Block


def test_round_trip_and_compare_and_set(tmp_path: Path) -> None:
    one, two = SqliteCheckpoints(tmp_path / "s.db"), SqliteCheckpoints(tmp_path / "s.db")
    assert one.load("b") == Checkpoint()
    prefix = (Block("A0", 12), Block("B1", 100))
    first = one.save("b", Checkpoint(112, prefix, None, None))
    assert first == "1"
    assert two.save("b", Checkpoint(112, prefix, None, None)) is None  # created meanwhile
    stale = two.load("b")
    assert stale == Checkpoint(112, prefix, None, "1")
    assert one.save("b", Checkpoint(200, (*prefix, Block("B2", 88)), '"e"', first)) == "2"
    assert two.save("b", Checkpoint(150, prefix, None, stale.version)) is None
    assert two.load("b").offset == 200


def hour_blob(hour: datetime) -> str:
    return (
        f"acct/insights-logs-flowlogflowevent/flowLogResourceID=/X/y={hour:%Y}/m={hour:%m}/"
        f"d={hour:%d}/h={hour:%H}/m=00/macAddress=00224871C205/PT1H.json"
    )


def test_checkpoints_of_hours_past_the_horizon_are_pruned_once_idle(tmp_path: Path) -> None:
    store = SqliteCheckpoints(tmp_path / "s.db")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    old, previous, undated = hour_blob(now - timedelta(hours=3)), hour_blob(now), "acct/c/x.json"
    for blob in (old, previous, undated):
        store.save(blob, Checkpoint(112, (Block("A0", 12), Block("B1", 100)), '"e"'))
    horizon = now - timedelta(hours=1)
    assert store.prune(horizon, idle_since=now - timedelta(hours=1)) == 0  # all saved just now
    assert store.prune(horizon, idle_since=datetime.now(UTC) + timedelta(minutes=1)) == 1
    assert store.load(old) == Checkpoint()
    assert store.load(previous).offset == store.load(undated).offset == 112


def test_a_state_file_from_before_creation_times_opens_and_keeps_its_rows(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute(
            "CREATE TABLE checkpoints (blob TEXT PRIMARY KEY, offset INTEGER NOT NULL,"
            " prefix TEXT NOT NULL, etag TEXT, version INTEGER NOT NULL, updated_at TEXT NOT NULL"
            " DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        )
        db.execute("INSERT INTO checkpoints VALUES ('b', 112, '[[\"A0\",12]]', NULL, 3, 'x')")
    store = SqliteCheckpoints(tmp_path / "s.db")
    assert store.load("b") == Checkpoint(112, (Block("A0", 12),), None, "3", None)
    assert store.save("b", Checkpoint(112, (Block("A0", 12),), None, "3", "2026-11-28")) == "4"
    assert store.load("b").created == "2026-11-28"
