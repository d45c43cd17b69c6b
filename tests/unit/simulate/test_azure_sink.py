"""``--azure`` against Azurite: the committed block list is head, one block a record, tail.

Needs Azurite (``make test`` installs it): skipped locally without it, failed in CI.
"""

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowcdr.formats import parse_blob
from flowcdr.simulate import AzureSink, LogFormat, MemorySink, Pace, Simulation
from tests.integration.azurite import Azurite

from .test_sink import LIVE_PLAN, FakeTime

pytestmark = pytest.mark.integration


@pytest.fixture
def azurite(tmp_path: Path) -> Iterator[Azurite]:
    running = Azurite(tmp_path / "azurite", tmp_path / "azurite.log")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_live_run_into_azurite_commits_blobs_as_azure_does(azurite: Azurite) -> None:
    plan = dataclasses.replace(LIVE_PLAN, hours=1, formats=(LogFormat.VNET,))
    sink = AzureSink(azurite.connection_string)
    fake = FakeTime()
    try:
        Simulation(plan).run(sink, Pace(1000.0, sleep=fake.sleep, clock=fake.clock))
    finally:
        sink.close()
    expected = MemorySink()
    Simulation(plan).run(expected)
    container = azurite.blob_service().get_container_client(LogFormat.VNET.container)
    names = sorted(blob.name for blob in container.list_blobs())
    assert names == sorted(blob for _, blob in expected.blobs)
    for name in names:
        client = container.get_blob_client(name)
        committed, uncommitted = client.get_block_list("all")
        assert uncommitted == []
        blocks = expected.blobs[(LogFormat.VNET.container, name)]
        assert [block.size for block in committed] == [len(block) for block in blocks]
        assert committed[0].size == 12
        assert committed[-1].size == 2
        data = client.download_blob().readall()
        assert data == b"".join(blocks)
        assert parse_blob(data).report.rejected == 0
        assert len(json.loads(data)["records"]) == len(blocks) - 2
