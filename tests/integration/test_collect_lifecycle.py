"""A blob's life beyond growing, against Azurite: deleted and created again under the same name
with the same block ids, an append blob where a flow log should be, and checkpoints forgotten
once their hour has left the discovery horizon (SQLite and Azure Table storage)."""

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient

from flowcdr.collect.checkpoint import Checkpoint, CheckpointStore, SqliteCheckpoints
from flowcdr.collect.source import NSG_CONTAINER, Block
from flowcdr.collect.table_checkpoints import TableCheckpoints

from .azurite import Azurite, FlowLogWriter, Hour, blob_flows, nsg_name, retimed, stored_flows
from .server import Gateway
from .test_collect_faults import collector_for

pytestmark = pytest.mark.integration


def test_a_blob_deleted_and_created_again_is_read_from_its_start(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    for _ in range(3):
        hour.write()
    with collector_for(azurite, gateway.base_url, subscription_token, tmp_path) as collector:
        collector.run_pass()
        old = hour.nsg.content()
        old_sizes = [block.size for block in hour.nsg.blob.get_block_list("committed")[0]]
        hour.nsg.blob.delete_blob()
        time.sleep(1.1)  # creation times are in whole seconds
        # Written again as Network Watcher would: the same predictable block ids, and the same
        # records at other (equally long) times, so the blocks have the sizes of the old ones.
        again = FlowLogWriter(azurite.blob_service(), NSG_CONTAINER, hour.nsg.blob.blob_name)
        for write in range(1, 5):
            sample = hour.nsg_samples[write % len(hour.nsg_samples)]
            again.write([retimed(sample, hour.start + 60 * write + 7)])
        sizes = [block.size for block in again.blob.get_block_list("committed")[0]]
        assert sizes[:-2] == old_sizes[:-1]  # the old blob's blocks, one more before the tail
        collector.run_pass()
        assert collector.metrics.recreated_blobs == 1
        collector.run_pass()
    gateway.stop()
    assert stored_flows(gateway.data_dir) == blob_flows(old, again.content(), hour.vnet.content())


def test_an_append_blob_is_refused_and_counted_once_per_version(
    azurite: Azurite,
    gateway: Gateway,
    subscription_token: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hour = Hour(azurite)
    hour.write()
    name = nsg_name(datetime.now(UTC), mac="000D3AF80000")
    appended = azurite.blob_service().get_blob_client(NSG_CONTAINER, name)
    appended.create_append_blob()
    appended.append_block(hour.nsg.content())
    with (
        caplog.at_level(logging.ERROR, "flowcdr.collect"),
        collector_for(azurite, gateway.base_url, subscription_token, tmp_path) as collector,
    ):
        collector.run_pass()
        collector.run_pass()
        assert collector.metrics.refused_blobs == 1
        appended.append_block(b" ")
        collector.run_pass()
        assert collector.metrics.refused_blobs == 2
    refusals = [r.getMessage() for r in caplog.records if "refusing" in r.getMessage()]
    assert len(refusals) == 2
    assert name in refusals[0]
    assert "is an AppendBlob, not a block blob" in refusals[0]
    gateway.stop()
    assert stored_flows(gateway.data_dir) == hour.flows()


def hour_blob(hour: datetime) -> str:
    return f"devstoreaccount1/{NSG_CONTAINER}/{nsg_name(hour)}"


@pytest.mark.parametrize("kind", ["sqlite", "table"])
def test_checkpoints_past_the_horizon_are_pruned_never_a_live_one(
    azurite: Azurite, tmp_path: Path, kind: str
) -> None:
    store: CheckpointStore = (
        SqliteCheckpoints(tmp_path / "checkpoints.sqlite")
        if kind == "sqlite"
        else TableCheckpoints.open(
            TableServiceClient.from_connection_string(azurite.connection_string)
        )
    )
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    old, live, undated = hour_blob(now - timedelta(hours=3)), hour_blob(now), "devstoreaccount1/x"
    prefix = (Block("A0", 12), Block("B1", 100))
    versions = {blob: store.save(blob, Checkpoint(112, prefix)) for blob in (old, live, undated)}
    horizon = now - timedelta(hours=1)
    assert store.prune(horizon, idle_since=now - timedelta(hours=1)) == 0  # saved just now
    time.sleep(1.1)  # Table timestamps and SQLite's are compared to the second
    store.save(old, Checkpoint(200, (*prefix, Block("B2", 88)), None, versions[old]))
    idle_since = datetime.now(UTC) - timedelta(seconds=0.5)
    assert store.prune(horizon, idle_since) == 0  # the old hour's blob was still being read
    time.sleep(1.1)
    assert store.prune(horizon, datetime.now(UTC)) == 1
    assert store.load(old) == Checkpoint()
    assert store.load(live).offset == store.load(undated).offset == 112
