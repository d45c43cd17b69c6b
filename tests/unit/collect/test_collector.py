"""The collection pass over an in-memory source that commits block lists as Azure does."""

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flowcdr.collect.checkpoint import SqliteCheckpoints
from flowcdr.collect.collector import Collector, replay_dead_letters
from flowcdr.collect.deadletter import FolderDeadLetters
from flowcdr.collect.errors import BlobChangedError
from flowcdr.collect.keys import part_key
from flowcdr.collect.memory import MemorySource
from flowcdr.collect.ship import Delivery
from flowcdr.collect.source import NSG_CONTAINER

from .helpers import HEAD, NAME, TAIL, FakeGateway, layout, record_block

NOW = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)


def collector(
    tmp_path: Path, source: MemorySource, gateway: FakeGateway, **options: object
) -> Collector:
    return Collector(
        source,
        SqliteCheckpoints(tmp_path / "state.sqlite"),
        gateway,
        FolderDeadLetters(tmp_path / "dead"),
        containers=[NSG_CONTAINER],
        **{"workers": 1, **options},  # type: ignore[arg-type]
    )


def grow(source: MemorySource, upto: int) -> None:
    """Commit the hour as it stands after ``upto`` writes: block b holds records 2b and 2b+1."""
    source.commit(
        NSG_CONTAINER,
        NAME,
        layout(*(record_block(b, 2 * b, 2 * b + 1) for b in range(1, upto + 1))),
    )


def test_a_growing_blob_is_delivered_once_reading_only_new_blocks(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    running = collector(tmp_path, source, gateway)
    read = []
    for writes in range(1, 8):
        grow(source, writes)
        read.append(running.run_pass(NOW).bytes_read)
        running.run_pass(NOW)  # nothing new: no read, no send
    assert gateway.numbers() == list(range(2, 16))
    assert len(gateway.sent) == 7
    assert read == [len(record_block(b, 2 * b, 2 * b + 1)[1]) for b in range(1, 8)]
    assert running.metrics.blocks_delivered == 7


def test_lost_checkpoints_resend_the_same_keys(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    grow(source, 3)
    collector(tmp_path / "a", source, gateway).run_pass(NOW)
    first = list(gateway.sent)
    collector(tmp_path / "b", source, gateway).run_pass(NOW)
    assert gateway.sent == first + first
    assert gateway.numbers() == list(range(2, 8))


def test_the_previous_hour_is_collected_but_older_hours_only_on_request(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    grow(source, 1)
    later = collector(tmp_path, source, gateway)
    later.run_pass(datetime(2026, 11, 28, 0, 5, tzinfo=UTC))
    assert gateway.sent == []
    later.run_pass(datetime(2026, 11, 28, 0, 5, tzinfo=UTC), backfill_hours=1)
    assert gateway.numbers() == [2, 3]


def test_a_413_splits_the_part_in_halves_with_their_own_keys(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway(script=[413, 413])
    source.commit(NSG_CONTAINER, NAME, layout(record_block(1, 1, 2, 3, 4)))
    collector(tmp_path, source, gateway).run_pass(NOW)
    assert gateway.numbers() == [1, 2, 3, 4]
    assert [len(r) for r in gateway.stored.values()] == [1, 1, 2]
    assert len(set(gateway.sent)) == 5


def test_a_refused_part_is_dead_lettered_then_replayed_with_its_key(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway(script=[202, 422])
    source.commit(
        NSG_CONTAINER, NAME, layout(record_block(1, 1), record_block(2, 2), record_block(3, 3))
    )
    running = collector(tmp_path, source, gateway)
    running.run_pass(NOW)
    assert gateway.numbers() == [1, 3]
    assert running.metrics.dead_letters == 1
    letters = FolderDeadLetters(tmp_path / "dead")
    (name,) = letters.names()
    refused_key = gateway.sent[1]
    assert letters.get(name).key == refused_key
    assert replay_dead_letters(letters, gateway) == (1, 0)
    assert gateway.sent[-1] == refused_key
    assert gateway.numbers() == [1, 2, 3]
    assert list(letters.names()) == []


def test_a_block_that_is_not_json_is_dead_lettered_and_passed(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    source.commit(NSG_CONTAINER, NAME, [HEAD, ("B1", b'{"n": 1'), record_block(2, 2), TAIL])
    running = collector(tmp_path, source, gateway)
    running.run_pass(NOW)
    assert gateway.numbers() == [2]
    assert running.metrics.dead_letters == 1


def test_the_byte_budget_spreads_a_backlog_over_passes(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    grow(source, 6)
    running = collector(tmp_path, source, gateway, pass_bytes=200)  # two blocks, not three
    results = [running.run_pass(NOW) for _ in range(4)]
    assert [r.behind for r in results] == [True, True, False, False]
    assert [r.bytes_read > 0 for r in results] == [True, True, True, False]
    assert gateway.numbers() == list(range(2, 14))


def test_a_rewritten_blob_ships_the_changed_blocks_only(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    source.commit(NSG_CONTAINER, NAME, layout(record_block(1, 1), record_block(2, 2)))
    running = collector(tmp_path, source, gateway)
    running.run_pass(NOW)
    source.commit(
        NSG_CONTAINER, NAME, layout(record_block(1, 1), ("C2", b',{"n": 20}'), record_block(3, 3))
    )
    running.run_pass(NOW)
    assert gateway.numbers() == [1, 2, 3, 20]
    assert running.metrics.rewritten_blobs == 1


def test_a_deleted_blob_is_skipped(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    running = collector(tmp_path, source, gateway)
    assert running.collect_blob(NSG_CONTAINER, NAME) == 0
    assert running.metrics.source_errors == 1


class MovingSource(MemorySource):
    """A writer commits a new block between the collector's block list and its read, once."""

    moved = False

    def read(self, container: str, name: str, offset: int, length: int, etag: str) -> bytes:
        if not self.moved:
            self.moved = True
            grow(self, 2)
        return super().read(container, name, offset, length, etag)


def test_a_blob_that_moves_on_between_list_and_read_is_listed_again(tmp_path: Path) -> None:
    source, gateway = MovingSource(), FakeGateway()
    grow(source, 1)
    with pytest.raises(BlobChangedError):
        MemorySource.read(source, NSG_CONTAINER, NAME, 12, 1, '"stale"')
    collector(tmp_path, source, gateway).run_pass(NOW)
    assert gateway.numbers() == [2, 3, 4, 5]


def test_a_stop_request_finishes_the_blocks_in_flight_only(tmp_path: Path) -> None:
    source, stop = MemorySource(), threading.Event()
    gateway = StoppingGateway(stop)
    grow(source, 6)
    collector(tmp_path, source, gateway, stop=stop).collect_blob(NSG_CONTAINER, NAME)
    # The block being sent, and the one queued behind it if it was queued before the stop.
    assert gateway.numbers() in ([2, 3], [2, 3, 4, 5])
    rest = FakeGateway()
    collector(tmp_path, source, rest).collect_blob(NSG_CONTAINER, NAME)
    assert sorted(gateway.numbers() + rest.numbers()) == list(range(2, 14))


class StoppingGateway(FakeGateway):
    """Asks the collector to stop while the first batch is being sent (a SIGTERM)."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop

    def send(self, body: bytes, key: str, source: str) -> Delivery:
        self.stop.set()
        return super().send(body, key, source)


def test_parallel_shipping_checkpoints_in_order(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    grow(source, 20)
    with collector(tmp_path, source, gateway, workers=4) as running:
        running.run_pass(NOW)
        assert running.metrics.blocks_delivered == 20
    assert gateway.numbers() == list(range(2, 42))
    assert SqliteCheckpoints(tmp_path / "state.sqlite").load(f"memory/{NSG_CONTAINER}/{NAME}").etag


class MovingLaterSource(MemorySource):
    """A writer commits a new block while the collector is on its second ranged read."""

    reads = 0

    def read(self, container: str, name: str, offset: int, length: int, etag: str) -> bytes:
        self.reads += 1
        if self.reads == 2:
            grow(self, 7)
        return super().read(container, name, offset, length, etag)


def test_reads_of_a_few_blocks_each_deliver_the_blob_in_order(tmp_path: Path) -> None:
    source, gateway = MemorySource(), FakeGateway()
    grow(source, 12)
    with collector(tmp_path, source, gateway, workers=3, read_bytes=150) as running:
        running.run_pass(NOW)
        assert running.metrics.blocks_delivered == 12
        assert running.metrics.bytes_read == sum(
            len(record_block(b, 2 * b, 2 * b + 1)[1]) for b in range(1, 13)
        )
    assert gateway.numbers() == list(range(2, 26))
    blob = f"memory/{NSG_CONTAINER}/{NAME}"
    created = source.block_list(NSG_CONTAINER, NAME).created
    offsets = itertools.accumulate(
        (len(record_block(b, 2 * b, 2 * b + 1)[1]) for b in range(1, 12)), initial=len(HEAD[1])
    )
    assert sorted(gateway.sent) == sorted(  # one part per block, keyed as cut_parts keys it
        part_key(
            blob, f"B{b:032d}", offset, len(record_block(b, 2 * b, 2 * b + 1)[1]), "0", created
        )
        for b, offset in zip(range(1, 13), offsets, strict=True)
    )


def test_a_blob_that_moves_on_during_a_later_read_keeps_what_was_shipped(tmp_path: Path) -> None:
    source, gateway = MovingLaterSource(), FakeGateway()
    grow(source, 6)
    checkpoints = SqliteCheckpoints(tmp_path / "state.sqlite")
    two = len(record_block(1, 2, 3)[1]) + len(record_block(2, 4, 5)[1])
    with collector(tmp_path, source, gateway, read_bytes=two) as running:
        running.run_pass(NOW)
        first = list(gateway.numbers())
        assert first == [2, 3, 4, 5]  # the first read's two blocks; the second read got a 412
        delivered = checkpoints.load(f"memory/{NSG_CONTAINER}/{NAME}")
        assert delivered.etag is None
        assert len(delivered.prefix) == 3
        running.run_pass(NOW)
    assert gateway.numbers() == list(range(2, 16))
    assert len(gateway.sent) == 7


def test_a_blob_created_again_with_the_same_block_ids_is_read_from_its_start(
    tmp_path: Path,
) -> None:
    source, gateway = MemorySource(), FakeGateway()
    first = [record_block(b, 10 + 2 * b, 11 + 2 * b) for b in range(1, 4)]
    source.commit(NSG_CONTAINER, NAME, layout(*first))
    running = collector(tmp_path, source, gateway)
    running.run_pass(NOW)
    source.delete(NSG_CONTAINER, NAME)
    # Network Watcher's predictable ids, and records of the same sizes: only the blob's
    # creation time tells the new blob from the old one.
    again = [record_block(b, 60 + 2 * b, 61 + 2 * b) for b in range(1, 5)]
    assert [len(data) for _, data in again[:3]] == [len(data) for _, data in first]
    source.commit(NSG_CONTAINER, NAME, layout(*again))
    running.run_pass(NOW)
    assert gateway.numbers() == [*range(12, 18), *range(62, 70)]
    assert running.metrics.recreated_blobs == 1
    running.run_pass(NOW)
    assert len(gateway.sent) == 3 + 4


def test_checkpoints_of_blobs_past_the_horizon_are_pruned_and_rereading_is_a_replay(
    tmp_path: Path,
) -> None:
    source, gateway = MemorySource(), FakeGateway()
    grow(source, 2)
    collector(tmp_path, source, gateway).run_pass(NOW)
    later = datetime.now(UTC) + timedelta(hours=2)  # the checkpoint is idle an hour by then
    with collector(tmp_path, source, FakeGateway()) as running:
        running.run_pass(later)
        assert running.metrics.checkpoints_pruned == 1
    blob = f"memory/{NSG_CONTAINER}/{NAME}"
    assert SqliteCheckpoints(tmp_path / "state.sqlite").load(blob).offset == 0
    collector(tmp_path, source, gateway).run_pass(NOW)  # a backfill over that hour again
    assert gateway.numbers() == [2, 3, 4, 5]
    assert len(gateway.sent) == 4  # the same two keys twice: stored once
