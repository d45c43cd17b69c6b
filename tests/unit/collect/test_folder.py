"""A local folder as a source: blocks derived from the file, growth and edits recognised."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowcdr.collect.checkpoint import SqliteCheckpoints
from flowcdr.collect.collector import Collector
from flowcdr.collect.deadletter import FolderDeadLetters
from flowcdr.collect.errors import SourceError
from flowcdr.collect.folder import FolderSource
from flowcdr.collect.source import NSG_CONTAINER

from .helpers import NAME, FakeGateway

SAMPLE = Path(__file__).resolve().parents[4] / "shared/conformance/msdocs"
NOW = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)


def write(root: Path, records: list[dict[str, object]]) -> None:
    path = root / NSG_CONTAINER / NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"records": records}, indent=4))


def test_a_file_that_grows_is_read_record_by_record(tmp_path: Path) -> None:
    records = json.loads((SAMPLE / "nsg-flow-logs-overview_v2-example.json").read_text())["records"]
    assert len(records) >= 2
    root = tmp_path / "account"
    root.mkdir()
    gateway = FakeGateway()
    collector = Collector(
        FolderSource(root),
        SqliteCheckpoints(tmp_path / "state.db"),
        gateway,
        FolderDeadLetters(tmp_path / "dead"),
        containers=[NSG_CONTAINER],
    )
    write(root, records[:1])
    collector.run_pass(NOW)
    write(root, records)
    collector.run_pass(NOW)
    collector.run_pass(NOW)
    assert gateway.records() == records
    assert len(gateway.sent) == len(records)
    edited = [records[0], {**records[1], "time": "2026-11-27T22:59:00Z"}]
    write(root, edited)
    collector.run_pass(NOW)
    assert gateway.records() == [*records, edited[1]]
    assert collector.metrics.rewritten_blobs == 1


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="nowhere"):
        FolderSource(tmp_path / "nowhere")
