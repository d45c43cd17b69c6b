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
