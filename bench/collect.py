"""Collector benchmark: a backlog of flow-log blobs in Azurite, collected and shipped.

    .venv/bin/python bench/collect.py [--gb 1.0] [--blob-mb 30] [--block-kb 512]

What it measures, all in one run against the same Azurite:

* Raw: ranged ``download_blob(offset, length)`` of every blob's record blocks in 32 MiB reads,
  sequentially in this process, with the transport block size the collector uses: the floor a
  collector cannot beat. It is measured before and after the collector and averaged, since other
  work on a shared machine comes and goes in the minutes between.
* Collector: ``flowcdr collect --once`` as its own process over the same backlog (as many hour
  blobs as make up ``--gb``, NSG v2 and VNet v4 from bench/flowgen.py, each blob laid out as
  Azure writes it: a head block, ``--block-kb`` record blocks, a tail block). It ships to a sink
  in this process that unpacks every batch and counts its records; the real gateway is measured
  by bench/ingest.py, and would make this a second gateway benchmark. MB/s counts the record
  bytes read from storage; flows/s the flows those bytes hold (``parse_blob`` of one blob of
  each kind times the number of blobs). Peak RSS is the collector process's VmHWM.

Targets (PASS/MISS, never failing the run on a noisy machine): collector at least 50% of the raw
rate, peak RSS under 300 MB. Wrong results exit 1: records shipped that differ from the records
in the blobs, or a collector that fails.
"""

import argparse
import contextlib
import gzip
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
from azure.storage.blob import BlobBlock, BlobServiceClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.azurite import Azurite

from flowcdr.collect.azure_blob import DATA_BLOCK_BYTES
from flowcdr.collect.ship import GZIP_LEVEL, gzip_body
from flowcdr.formats import parse_blob
from flowgen import nsg_v2_blob, vnet_v4_blob

RAW_READ = 32 << 20
RSS_TARGET_MB = 300
RATE_TARGET = 0.5
HEAD, TAIL = b'{"records":[', b"]}"
NSG = "insights-logs-networksecuritygroupflowevent"
VNET = "insights-logs-flowlogflowevent"
HOURS = 6


class Envelope(msgspec.Struct):
    records: list[msgspec.Raw]


def blocks_of(blob: bytes, block_bytes: int) -> list[bytes]:
    """Record blocks as Network Watcher commits them: whole records, a comma before all but one."""
    records = [bytes(raw) for raw in msgspec.json.decode(blob, type=Envelope).records]
    blocks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for record in records:
        current.append(record)
        size += len(record) + 1
        if size >= block_bytes:
            blocks.append(b",".join(current))
            current, size = [], 0
    if current:
        blocks.append(b",".join(current))
    return [block if n == 0 else b"," + block for n, block in enumerate(blocks)]


def blob_name(kind: str, resource: int, hour: datetime) -> str:
    when = (
        f"y={hour:%Y}/m={hour:%m}/d={hour:%d}/h={hour:%H}/m=00/macAddress=00224871C2{resource:02d}"
    )
    if kind == NSG:
        return (
            f"resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-0000000000BE/RESOURCEGROUPS/RG/"
            f"PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG{resource}/{when}/PT1H.json"
        )
    return (
        f"flowLogResourceID=/SUBSCRIPTIONS/00000000-0000-0000-0000-0000000000BE/RESOURCEGROUPS/"
        f"NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/"
        f"FLOWLOGS/FL{resource}/{when}/PT1H.json"
    )


def upload(service: BlobServiceClient, container: str, name: str, blocks: list[bytes]) -> None:
    blob = service.get_blob_client(container, name)
    ids = ["A" + "0" * 32] + [f"B{n:032d}" for n in range(len(blocks))] + ["Z" + "0" * 32]
    for block_id, data in zip(ids, [HEAD, *blocks, TAIL], strict=True):
        blob.stage_block(block_id, data)
    blob.commit_block_list([BlobBlock(i) for i in ids])


class Sink:
    """A stand-in gateway that keeps each batch and answers 202 at once.

    Batches are unpacked and their records counted only after the timed run, so the sink does
    not compete with the collector for this machine's cores while it is being measured.
    """

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.batches = 0
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # headers and body go out in two writes: no Nagle delay
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with sink._lock:
                    sink.batches += 1
                    sink.bodies.setdefault(self.headers["Idempotency-Key"], body)
                self.send_response(202)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def records(self) -> int:
        """Records in the distinct batches received (a replayed key counts once)."""
        decode = msgspec.json.Decoder(Envelope).decode
        return sum(len(decode(gzip.decompress(body)).records) for body in self.bodies.values())


def watch(process: subprocess.Popen[bytes]) -> tuple[float, float]:
    """Wait for the process: its peak RSS (VmHWM) in MB and CPU seconds, polled from /proc.

    ``ru_maxrss`` from ``wait4`` would count the pages of this (large) process at the fork.
    """
    peak = cpu = 0.0
    proc = Path(f"/proc/{process.pid}")
    ticks = os.sysconf("SC_CLK_TCK")
    while process.poll() is None:
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / ticks
        time.sleep(0.05)
    return peak, cpu


def gzip_seconds(blocks: list[bytes]) -> float:
    """One core's time to gzip the blocks at the collector's level (its main CPU cost)."""
    started = time.perf_counter()
    for block in blocks:
        gzip_body(block)
    return time.perf_counter() - started


def raw_download(connection_string: str, blobs: list[tuple[str, str, int]]) -> float:
    """Seconds to read every blob's record bytes with 32 MiB ranged reads, one after another."""
    service = BlobServiceClient.from_connection_string(
        connection_string, connection_data_block_size=DATA_BLOCK_BYTES
    )
    started = time.perf_counter()
    for container, name, size in blobs:
        client = service.get_blob_client(container, name)
        offset, end = len(HEAD), size - len(TAIL)
        while offset < end:
            length = min(RAW_READ, end - offset)
            assert len(client.download_blob(offset=offset, length=length).readall()) == length
            offset += length
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="backlog size")
    parser.add_argument("--blob-mb", type=int, default=30, help="size of one hour blob")
    parser.add_argument("--block-kb", type=int, default=512, help="size of one committed block")
    args = parser.parse_args()
    blob_bytes = args.blob_mb << 20
    kinds = {NSG: nsg_v2_blob(blob_bytes, 1), VNET: vnet_v4_blob(blob_bytes, 2)}
    flows_per_blob = {kind: parse_blob(data).report.flows for kind, data in kinds.items()}
    records_per_blob = {
        kind: len(msgspec.json.decode(data, type=Envelope).records) for kind, data in kinds.items()
    }
    blocks = {kind: blocks_of(data, args.block_kb << 10) for kind, data in kinds.items()}
    count = max(2, round(args.gb * (1 << 30) / blob_bytes))
    now = datetime.now(UTC)
    plan = [
        (kind, resource, now - timedelta(hours=n % HOURS))
        for n in range(count)
        for kind, resource in [((NSG, VNET)[n % 2], n // HOURS)]
    ]
    with tempfile.TemporaryDirectory(prefix="flowcdr-bench-collect-") as scratch:
        root = Path(scratch)
        azurite = Azurite(root / "azurite", root / "azurite.log")
        azurite.start()
        try:
            service = azurite.blob_service()
            for container in (NSG, VNET):
                service.create_container(container)
            started = time.perf_counter()
            names = [(kind, blob_name(kind, resource, hour)) for kind, resource, hour in plan]
            with ThreadPoolExecutor(8) as pool:
                for done in [pool.submit(upload, service, k, n, blocks[k]) for k, n in names]:
                    done.result()
            sizes = [(k, n, len(kinds[k])) for k, n in names]
            record_bytes = sum(size - len(HEAD) - len(TAIL) for _, _, size in sizes)
            total_mb = record_bytes / 1e6
            print(f"backlog: {len(names)} blobs, {total_mb:.0f} MB of records in "
                  f"{sum(len(blocks[k]) for k, _ in names)} blocks, uploaded in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            raw_before = raw_download(azurite.connection_string, sizes)
            print(f"raw ranged download: {raw_before:.1f} s, {total_mb / raw_before:.0f} MB/s")
            sample = blocks[NSG] + blocks[VNET]
            gzip_rate = sum(map(len, sample)) / 1e6 / gzip_seconds(sample)
            print(f"gzip level {GZIP_LEVEL} of the same blocks on one core: {gzip_rate:.0f} MB/s")
            sink = Sink()
            env = {
                **os.environ,
                "FLOWCDR_SUBSCRIPTION_TOKEN": "bench",
                "FLOWCDR_STORAGE_CONNECTION_STRING": azurite.connection_string,
            }
            command = [
                sys.executable, "-m", "flowcdr.cli.collect", "--gateway", sink.url, "--once",
                "--backfill-hours", str(HOURS - 2), "--state", str(root / "state.sqlite"),
            ]  # fmt: skip
            started = time.perf_counter()
            with (root / "collect.log").open("wb") as log:
                process = subprocess.Popen(command, env=env, stderr=log)
                rss_mb, cpu_seconds = watch(process)
            seconds = time.perf_counter() - started
            sink.server.shutdown()
            raw_after = raw_download(azurite.connection_string, sizes)
            raw_rate = total_mb / ((raw_before + raw_after) / 2)
            print(f"raw ranged download again: {raw_after:.1f} s, {total_mb / raw_after:.0f} MB/s;"
                  f" mean {raw_rate:.0f} MB/s")  # fmt: skip
        finally:
            azurite.stop()
        if process.returncode != 0:
            print((root / "collect.log").read_text()[-3000:])
            print("FAIL: the collector exited with", process.returncode)
            return 1
    flows = sum(flows_per_blob[kind] for kind, _ in names)
    records = sum(records_per_blob[kind] for kind, _ in names)
    rate = total_mb / seconds
    print(f"collector: {seconds:.1f} s, {rate:.0f} MB/s, {flows / seconds:,.0f} flows/s, "
          f"{sink.batches} batches, {cpu_seconds:.1f} s CPU ({total_mb / cpu_seconds:.0f} MB per "
          f"CPU second), peak RSS {rss_mb:.0f} MB ({os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"{'PASS' if rate >= RATE_TARGET * raw_rate else 'MISS'}: collector at "
          f"{rate / raw_rate:.0%} of the raw download rate (target {RATE_TARGET:.0%})")  # fmt: skip
    print(f"{'PASS' if rss_mb < RSS_TARGET_MB else 'MISS'}: peak RSS {rss_mb:.0f} MB "
          f"(target < {RSS_TARGET_MB} MB)")  # fmt: skip
    shipped = sink.records()
    if shipped != records:
        print(f"FAIL: shipped {shipped} records, the blobs hold {records}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
