"""Azurite (the Azure Storage emulator, from npm) as a real process, and blobs written like Azure.

``make test`` installs Azurite into build/azurite. Tests start it on free ports with a data
folder, so a test can restart it over the same data. Without the binary a test skips locally and
fails in CI (``FLOWCDR_FUNCTIONAL_TESTS=1``).

``FlowLogWriter`` writes ``PT1H.json`` as Network Watcher does: stage one block per write and
re-commit the whole list head, record blocks..., tail, so the blob grows minute by minute.
"""

import base64
import copy
import json
import os
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import duckdb
import pytest
from azure.storage.blob import BlobBlock, BlobServiceClient

from flowcdr.collect.source import NSG_CONTAINER, VNET_CONTAINER
from flowcdr.formats import parse_blob

from .server import free_port

REPO = Path(__file__).resolve().parents[2]
AZURITE = REPO / "build" / "azurite" / "node_modules" / ".bin" / "azurite"
CONFORMANCE = REPO.parent / "shared" / "conformance" / "msdocs"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key, public in Microsoft's docs; not a secret.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
READY_SECONDS = 20.0
HEAD_ID, TAIL_ID = "A" + "0" * 32, "Z" + "0" * 32


def require_azurite() -> Path:
    if AZURITE.exists():
        return AZURITE
    message = f"Azurite is not installed at {AZURITE}: run `make test` (it installs it)"
    if os.environ.get("FLOWCDR_FUNCTIONAL_TESTS"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Azurite:
    """A running Azurite (blob, queue, table) over ``location``; restartable on the same ports."""

    location: Path
    log_path: Path
    blob_port: int = field(default_factory=free_port)
    queue_port: int = field(default_factory=free_port)
    table_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/{ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{ACCOUNT};"
        )

    def blob_service(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string)

    def start(self) -> None:
        binary = require_azurite()
        self.location.mkdir(parents=True, exist_ok=True)
        self.log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(binary),
                "--silent",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--location",
                str(self.location),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.blob_port),
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(self.queue_port),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.table_port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"Azurite exited with {self.process.returncode}: {self.log()}")
            if all(_accepts(port) for port in (self.blob_port, self.table_port)):
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"Azurite not listening after {READY_SECONDS} s: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log_file is not None:
            self.log_file.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def sample_records(name: str) -> list[dict[str, Any]]:
    """The records of one of Microsoft's documented examples, read in place from ../shared."""
    path = CONFORMANCE / name
    if not path.exists():
        message = f"conformance sample {path} is missing"
        if os.environ.get("FLOWCDR_FUNCTIONAL_TESTS"):
            pytest.fail(message)
        pytest.skip(message)
    records: list[dict[str, Any]] = json.loads(path.read_text())["records"]
    return records


def retimed(record: dict[str, Any], epoch_seconds: int) -> dict[str, Any]:
    """The record with every tuple's time moved to ``epoch_seconds`` (+ its index), unit kept.

    Each write of a test gets distinct flows this way, so a block stored twice, or the wrong
    block, shows in the comparison; and recent times keep the gateway's retention out of it.
    """
    copied = copy.deepcopy(record)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "flowTuples":
                    node[key] = [_retime(t, epoch_seconds + i) for i, t in enumerate(value)]
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(copied)
    return copied


def _retime(flow_tuple: str, seconds: int) -> str:
    first, rest = flow_tuple.split(",", 1)
    stamp = seconds * 1000 if len(first) >= 13 else seconds
    return f"{stamp},{rest}"


class FlowLogWriter:
    """One ``PT1H.json`` being written: ``write(records)`` is one minute of Network Watcher."""

    def __init__(self, service: BlobServiceClient, container: str, name: str) -> None:
        self.blob = service.get_blob_client(container, name)
        self.blocks: list[str] = []
        self.staged = 0  # block ids are never reused, as a writer's ids would not be
        if not service.get_container_client(container).exists():
            service.create_container(container)

    def write(self, records: list[dict[str, Any]]) -> None:
        if not self.blocks:
            self.blob.stage_block(HEAD_ID, b'{"records":[')
            self.blob.stage_block(TAIL_ID, b"]}")
        text = ",".join(json.dumps(record) for record in records).encode()
        block_id = base64.b16encode(self.staged.to_bytes(4, "big")).decode() + "B" * 25
        self.staged += 1
        self.blob.stage_block(block_id, (b"," if self.blocks else b"") + text)
        self.blocks.append(block_id)
        self._commit()

    def rewrite(self, keep: int) -> None:
        """Commit a list that keeps only the first ``keep`` record blocks: a rewritten blob."""
        self.blocks = self.blocks[:keep]
        self._commit()

    def _commit(self) -> None:
        self.blob.commit_block_list([BlobBlock(i) for i in (HEAD_ID, *self.blocks, TAIL_ID)])

    def content(self) -> bytes:
        data: bytes = self.blob.download_blob().readall()
        return data


SUBSCRIPTION = "00000000-0000-0000-0000-0000000000AA"


def nsg_name(hour: datetime, mac: str = "000D3AF87856") -> str:
    return (
        f"resourceId=/SUBSCRIPTIONS/{SUBSCRIPTION}/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/"
        f"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/FABRIAKMVM1-NSG/y={hour:%Y}/m={hour:%m}/"
        f"d={hour:%d}/h={hour:%H}/m=00/macAddress={mac}/PT1H.json"
    )


def vnet_name(hour: datetime, mac: str = "00224871C205") -> str:
    return (
        f"flowLogResourceID=/SUBSCRIPTIONS/{SUBSCRIPTION}/RESOURCEGROUPS/NETWORKWATCHERRG/"
        f"PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS2EUAP/FLOWLOGS/"
        f"VNETFLOWLOG/y={hour:%Y}/m={hour:%m}/d={hour:%d}/h={hour:%H}/m=00/"
        f"macAddress={mac}/PT1H.json"
    )


class Hour:
    """An NSG v2 and a VNet v4 blob of the current hour, written from Microsoft's examples."""

    def __init__(self, azurite: Azurite, mac: str = "00224871C205") -> None:
        hour = datetime.now(UTC)
        service = azurite.blob_service()
        self.nsg = FlowLogWriter(service, NSG_CONTAINER, nsg_name(hour, mac))
        self.vnet = FlowLogWriter(service, VNET_CONTAINER, vnet_name(hour, mac))
        self.nsg_samples = sample_records("nsg-flow-logs-overview_v2-example.json")
        self.vnet_samples = sample_records("vnet-flow-logs-overview_v4-example.json")
        self.start = int(time.time()) - 3600
        self.writes = 0

    def write(self, records: int = 1) -> None:
        """One minute of Network Watcher: a block of ``records`` on each blob, distinct times."""
        self.writes += 1
        at = self.start + 60 * self.writes
        nsg = [self.nsg_samples[(self.writes + k) % len(self.nsg_samples)] for k in range(records)]
        self.nsg.write([retimed(record, at + 20 * k) for k, record in enumerate(nsg)])
        vnet = [self.vnet_samples[k % len(self.vnet_samples)] for k in range(records)]
        self.vnet.write([retimed(record, at + 20 * k) for k, record in enumerate(vnet)])

    def record_bytes(self) -> int:
        """Bytes of all record blocks (what a collector must read, once)."""
        return len(self.nsg.content()) + len(self.vnet.content()) - 2 * (12 + 2)

    def flows(self) -> Counter[tuple[Any, ...]]:
        return blob_flows(self.nsg.content(), self.vnet.content())


FLOW_KEY = (
    "time, mac, src_ip, dst_ip, src_port, dst_port, protocol, direction, decision, state, "
    "src_packets, src_bytes, dst_packets, dst_bytes, resource_id"
)


def stored_flows(data_dir: Path) -> Counter[tuple[Any, ...]]:
    """The flows in the (stopped) gateway's store, as a multiset: duplicates count twice."""
    with duckdb.connect(str(data_dir / "flows.duckdb"), read_only=True) as db:
        rows = db.execute(f"SELECT {FLOW_KEY} FROM flows").fetchall()
    return Counter(rows)


def blob_flows(*blobs: bytes) -> Counter[tuple[Any, ...]]:
    """The flows the given whole blobs hold, parsed by flowcdr's parser."""
    found: Counter[tuple[Any, ...]] = Counter()
    for data in blobs:
        table = parse_blob(data).table.select([c.strip() for c in FLOW_KEY.split(",")])
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        found.update(zip(*columns, strict=True))
    return found
