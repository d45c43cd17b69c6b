"""Blobs grown block by block in Azurite, as Network Watcher writes them, reach the real gateway
exactly once: every flow in the blobs is in the store once, and every byte is read once."""

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowcdr.collect.azure_blob import AzureBlobSource, service_from_connection_string
from flowcdr.collect.checkpoint import SqliteCheckpoints
from flowcdr.collect.collector import Collector
from flowcdr.collect.deadletter import FolderDeadLetters
from flowcdr.collect.discovery import Discovery
from flowcdr.collect.ship import GatewayClient
from flowcdr.collect.source import NSG_CONTAINER, VNET_CONTAINER

from .azurite import Azurite, FlowLogWriter, blob_flows, retimed, sample_records, stored_flows
from .server import COMMAND_SECONDS, Gateway

pytestmark = pytest.mark.integration

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000AA"


def nsg_name(hour: datetime, mac: str = "000D3AF87856") -> str:
    return (
        f"resourceId=/SUBSCRIPTIONS/{SUBSCRIPTION}/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/"
        f"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/FABRIAKMVM1-NSG/y={hour:%Y}/m={hour:%m}/"
        f"d={hour:%d}/h={hour:%H}/m=00/macAddress={mac}/PT1H.json"
    )


def vnet_name(hour: datetime) -> str:
    return (
        f"flowLogResourceID=/SUBSCRIPTIONS/{SUBSCRIPTION}/RESOURCEGROUPS/NETWORKWATCHERRG/"
        f"PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS2EUAP/FLOWLOGS/"
        f"VNETFLOWLOG/y={hour:%Y}/m={hour:%m}/d={hour:%d}/h={hour:%H}/m=00/"
        f"macAddress=00224871C205/PT1H.json"
    )


class Hour:
    """An NSG v2 and a VNet v4 blob of the current hour, written from Microsoft's examples."""

    def __init__(self, azurite: Azurite) -> None:
        hour = datetime.now(UTC)
        service = azurite.blob_service()
        self.nsg = FlowLogWriter(service, NSG_CONTAINER, nsg_name(hour))
        self.vnet = FlowLogWriter(service, VNET_CONTAINER, vnet_name(hour))
        self.nsg_samples = sample_records("nsg-flow-logs-overview_v2-example.json")
        self.vnet_samples = sample_records("vnet-flow-logs-overview_v4-example.json")
        self.start = int(time.time()) - 3600
        self.writes = 0

    def write(self) -> None:
        """One minute of Network Watcher: a block on each blob, with distinct flow times."""
        self.writes += 1
        at = self.start + 60 * self.writes
        nsg = self.nsg_samples[self.writes % len(self.nsg_samples)]
        self.nsg.write([retimed(nsg, at)])
        self.vnet.write([retimed(record, at) for record in self.vnet_samples])

    def record_bytes(self) -> int:
        """Bytes of all record blocks (what a collector must read, once)."""
        return len(self.nsg.content()) + len(self.vnet.content()) - 2 * (12 + 2)

    def flows(self) -> object:
        return blob_flows(self.nsg.content(), self.vnet.content())


@contextmanager
def in_process_collector(
    azurite: Azurite, gateway: Gateway, token: str, state: Path
) -> Iterator[Collector]:
    source = AzureBlobSource(service_from_connection_string(azurite.connection_string))
    client = GatewayClient(gateway.base_url, token)
    try:
        yield Collector(
            source,
            SqliteCheckpoints(state / "checkpoints.sqlite"),
            client,
            FolderDeadLetters(state / "dead"),
            discovery=Discovery(source, refresh_seconds=0),
        )
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
        [*command, "--once"],
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
        running = subprocess.Popen([*command, "--interval", "1"], env=env, stderr=log)
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
