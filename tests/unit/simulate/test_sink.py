"""Blobs grow as Azure grows them: valid JSON after every commit, head, one block a record, tail."""

import dataclasses
import json
from pathlib import Path

from flowcdr.collect.folder import FolderSource
from flowcdr.simulate import FolderSink, MemorySink, Pace, Plan, Simulation
from flowcdr.simulate.sink import HEAD, TAIL

from .conftest import PLAN

LIVE_PLAN: Plan = dataclasses.replace(PLAN, hours=2, vms=5, scenarios=("port_scan_fast",))


class CheckedSink:
    """Writes to a folder and to memory, and checks both after every commit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = FolderSink(root)
        self.memory = MemorySink()
        self.commits = 0

    def append(self, container: str, blob: str, records: list[bytes]) -> None:
        assert len(records) == 1, "live mode commits one record block at a time"
        self.folder.append(container, blob, records)
        self.memory.append(container, blob, records)
        self.commits += 1
        blocks = self.memory.blobs[(container, blob)]
        assert blocks[0] == HEAD
        assert blocks[-1] == TAIL
        assert blocks[1].startswith(b"{")
        assert all(block.startswith(b",{") for block in blocks[2:-1])
        for block in blocks[1:-1]:
            json.loads(block.removeprefix(b","))
        on_disk = (self.root / container / blob).read_bytes()
        assert on_disk == b"".join(blocks)
        assert len(json.loads(on_disk)["records"]) == len(blocks) - 2

    def finish(self, container: str, blob: str) -> None:
        self.folder.finish(container, blob)
        self.memory.finish(container, blob)

    def close(self) -> None:
        self.folder.close()


class FakeTime:
    """A clock that only moves when the simulation sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds
        self.slept += seconds


def test_live_mode_commits_every_record_before_the_tail_at_the_pace(tmp_path: Path) -> None:
    sink = CheckedSink(tmp_path / "live")
    fake = FakeTime()
    speed = 30.0
    totals = Simulation(LIVE_PLAN).run(sink, Pace(speed, sleep=fake.sleep, clock=fake.clock))
    assert sink.commits == totals.records > 0
    assert sink.memory.finished == set(sink.memory.blobs)
    assert totals.blobs == len(sink.memory.blobs)
    # Two simulated hours at 30 minutes a second: the last record written (the one of the
    # minute before last, the last one is due after the run) is due after about 4 s.
    assert (2 * 60 - 1) / speed <= fake.slept <= 2 * 60 / speed


def test_every_blob_is_finished_once_its_hour_is_over(simulated) -> None:
    _, sink = simulated
    assert sink.finished == set(sink.blobs)


def test_live_and_batch_modes_write_the_same_blobs(tmp_path: Path) -> None:
    live = MemorySink()
    fake = FakeTime()
    Simulation(LIVE_PLAN).run(live, Pace(1000.0, sleep=fake.sleep, clock=fake.clock))
    batch = MemorySink()
    Simulation(LIVE_PLAN).run(batch)
    assert {key: b"".join(v) for key, v in live.blobs.items()} == {
        key: b"".join(v) for key, v in batch.blobs.items()
    }
    assert batch.commits < live.commits


def test_folder_sink_writes_what_memory_holds(tmp_path: Path) -> None:
    folder = FolderSink(tmp_path)
    memory = MemorySink()
    Simulation(LIVE_PLAN).run(folder)
    Simulation(LIVE_PLAN).run(memory)
    files = {
        (path.relative_to(tmp_path).parts[0], "/".join(path.relative_to(tmp_path).parts[1:]))
        for path in tmp_path.rglob("PT1H.json")
    }
    assert files == set(memory.blobs)
    for container, blob in memory.blobs:
        assert (tmp_path / container / blob).read_bytes() == memory.content(container, blob)


def test_a_second_run_into_the_same_folder_replaces_the_blobs(tmp_path: Path) -> None:
    Simulation(LIVE_PLAN).run(FolderSink(tmp_path))
    first = {path: path.read_bytes() for path in tmp_path.rglob("PT1H.json")}
    Simulation(LIVE_PLAN).run(FolderSink(tmp_path))
    assert {path: path.read_bytes() for path in tmp_path.rglob("PT1H.json")} == first


def test_a_blob_holds_one_hour_of_one_nic(simulated) -> None:
    _, sink = simulated
    for (_, blob), blocks in sink.blobs.items():
        records = [json.loads(block.removeprefix(b",")) for block in blocks[1:-1]]
        times = [record["time"] for record in records]
        assert times == sorted(times)
        assert len(records) <= 60, blob


def test_the_collectors_folder_source_sees_the_blocks_we_committed(tmp_path: Path) -> None:
    """Cross-check with flowcdr.collect: a folder blob's derived block list is ours."""
    memory = MemorySink()
    Simulation(LIVE_PLAN).run(memory)
    Simulation(LIVE_PLAN).run(FolderSink(tmp_path))
    source = FolderSource(tmp_path)
    for (container, blob), blocks in memory.blobs.items():
        derived = source.block_list(container, blob).blocks
        assert [block.size for block in derived] == [len(block) for block in blocks]
