"""Blobs grown block by block in Azurite, as Network Watcher writes them, reach the real gateway
exactly once: every flow in the blobs is in the store once, and every byte is read once."""

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

from flowcdr.collect.azure_blob import (
    AzureBlobSource,
    service_from_account_url,
    service_from_connection_string,
)
from flowcdr.collect.checkpoint import SqliteCheckpoints
from flowcdr.collect.collector import Collector
from flowcdr.collect.deadletter import FolderDeadLetters
from flowcdr.collect.discovery import Discovery, hours_to_read
from flowcdr.collect.errors import BlobChangedError
from flowcdr.collect.ship import GatewayClient
from flowcdr.collect.source import NSG_CONTAINER

from .azurite import ACCOUNT, KEY, Azurite, Hour, stored_flows
from .server import COMMAND_SECONDS, Gateway

pytestmark = pytest.mark.integration


@contextmanager
def in_process_collector(
    azurite: Azurite, gateway: Gateway, token: str, state: Path
) -> Iterator[Collector]:
    source = AzureBlobSource(service_from_connection_string(azurite.connection_string))
    client = GatewayClient(gateway.base_url, token)
    try:
        with Collector(
            source,
            SqliteCheckpoints(state / "checkpoints.sqlite"),
            client,
            FolderDeadLetters(state / "dead"),
            discovery=Discovery(source, refresh_seconds=0),
        ) as collector:
            yield collector
    finally:
        client.close()


def test_growing_blobs_arrive_exactly_once(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    with in_process_collector(azurite, gateway, subscription_token, tmp_path) as collector:
        for round_number in range(12):
            for _ in range(1 + round_number % 3):  # sometimes several writes between passes
                hour.write()
            collector.run_pass()
        collector.run_pass()  # nothing new: no read
    metrics = collector.metrics
    assert metrics.bytes_read == hour.record_bytes()
    assert metrics.blocks_delivered == 2 * hour.writes
    assert (metrics.retries, metrics.dead_letters, metrics.rewritten_blobs) == (0, 0, 0)
    assert set(metrics.lag_seconds.values()) == {0.0}
    gateway.stop()
    expected = hour.flows()
    assert stored_flows(gateway.data_dir) == expected


def collect_command(azurite: Azurite, gateway: Gateway, token: str, state: Path) -> list[str]:
    return [sys.executable, "-m", "flowcdr", "collect", "--gateway", gateway.base_url,
            "--state", str(state / "checkpoints.sqlite")]  # fmt: skip


def collect_env(azurite: Azurite, gateway: Gateway, token: str) -> dict[str, str]:
    return {
        **gateway.env,
        "FLOWCDR_SUBSCRIPTION_TOKEN": token,
        "FLOWCDR_STORAGE_CONNECTION_STRING": azurite.connection_string,
    }


def test_the_command_collects_and_sigterm_stops_it_cleanly(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    command = collect_command(azurite, gateway, subscription_token, tmp_path)
    env = collect_env(azurite, gateway, subscription_token)
    for _ in range(3):
        hour.write()
    once = subprocess.run(
        [*command, "--once", "--connector-id", "app-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    assert once.returncode == 0, once.stderr
    for _ in range(2):
        hour.write()
    with (tmp_path / "collect.log").open("wb") as log:
        running = subprocess.Popen(
            [*command, "--interval", "1"], env={**env, "FLOWCDR_CONNECTOR_ID": "app-1"}, stderr=log
        )
        deadline = time.monotonic() + COMMAND_SECONDS
        while (
            "blocks 4" not in (tmp_path / "collect.log").read_text() and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        running.send_signal(signal.SIGTERM)
        assert running.wait(COMMAND_SECONDS) == 0
    output = once.stderr + (tmp_path / "collect.log").read_text()
    assert "stopped:" in output
    assert subscription_token not in output
    assert azurite.connection_string.split("AccountKey=")[1][:20] not in output
    gateway.stop()
    assert stored_flows(gateway.data_dir) == hour.flows()
    with duckdb.connect(str(gateway.data_dir / "flows.duckdb"), read_only=True) as db:
        attributed = db.execute("SELECT DISTINCT connector_id FROM ingest_batches").fetchall()
    assert attributed == [("app-1",)]  # the flag and the environment variable alike


def test_an_account_url_with_a_sas_token_reads_blobs(azurite: Azurite) -> None:
    hour = Hour(azurite)
    hour.write()
    sas = generate_account_sas(
        ACCOUNT,
        KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    url = f"http://127.0.0.1:{azurite.blob_port}/{ACCOUNT}"
    source = AzureBlobSource(service_from_account_url(url, "?" + sas))
    (blob,) = Discovery(source).blobs(NSG_CONTAINER, hours_to_read(datetime.now(UTC), 0))
    listing = source.block_list(NSG_CONTAINER, blob.name)
    assert listing.etag == blob.etag
    assert bytes(source.read(NSG_CONTAINER, blob.name, 0, 12, listing.etag)) == b'{"records":['
    stale = '"0x1"'
    with pytest.raises(BlobChangedError):
        source.read(NSG_CONTAINER, blob.name, 0, 12, stale)
