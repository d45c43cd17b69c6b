"""Faults around the collector; after each, the gateway's store holds exactly the blobs' flows.

Gateway faults are injected by a test-only HTTP front (``FaultProxy``) that forwards to the real
gateway, so what is counted is still the real store. Storage faults use Azurite itself.
"""

import gzip
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from flowcdr.collect.azure_blob import AzureBlobSource, service_from_connection_string
from flowcdr.collect.checkpoint import SqliteCheckpoints
from flowcdr.collect.collector import Collector, replay_dead_letters
from flowcdr.collect.deadletter import FolderDeadLetters
from flowcdr.collect.discovery import Discovery
from flowcdr.collect.errors import CallerRefusedError, DeliveryError
from flowcdr.collect.ship import Backoff, GatewayClient

from .azurite import Azurite, Hour, stored_flows
from .server import COMMAND_SECONDS, Gateway, free_port

pytestmark = pytest.mark.integration

FAST = Backoff(base_seconds=0.05, cap_seconds=0.5, deadline_seconds=30, timeout_seconds=1.0)


@dataclass
class Seen:
    """One request as the proxy saw it, and what it answered."""

    number: int
    key: str
    records: int
    at: float
    status: int = 0


@dataclass(frozen=True)
class Answer:
    """Answer this instead of forwarding."""

    status: int
    retry_after: str | None = None


@dataclass(frozen=True)
class Hang:
    """Forward (the gateway stores the batch), then hold the answer past the client's timeout."""

    seconds: float


Fault = Callable[[Seen], Answer | Hang | None]


class FaultProxy:
    """A front of the real gateway that answers some requests itself, as ``fault`` decides."""

    def __init__(self, upstream: str, fault: Fault) -> None:
        self.seen: list[Seen] = []
        self.fault = fault
        self._upstream = urlsplit(upstream)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def statuses(self) -> list[int]:
        return [seen.status for seen in self.seen]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                records = len(json.loads(gzip.decompress(body))["records"])
                with proxy._lock:
                    seen = Seen(
                        len(proxy.seen) + 1,
                        self.headers["Idempotency-Key"],
                        records,
                        time.monotonic(),
                    )
                    proxy.seen.append(seen)
                action = proxy.fault(seen)
                if isinstance(action, Answer):
                    seen.status = action.status
                    extra = {"Retry-After": action.retry_after} if action.retry_after else {}
                    self._reply(
                        action.status, b'{"error":{"code":"x","message":"injected"}}', extra
                    )
                    return
                status, answer = proxy._forward(body, dict(self.headers))
                seen.status = status
                if isinstance(action, Hang):
                    seen.status = -status  # stored, but the answer will not reach the collector
                    time.sleep(action.seconds)
                with suppress(OSError):  # the collector may have given up on this answer
                    self._reply(status, answer, {})

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test reads ``seen``."""

        return Handler

    def _forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(
            self._upstream.hostname or "", self._upstream.port, timeout=COMMAND_SECONDS
        )
        try:
            kept = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            connection.request("POST", "/cdr/v1/ingest", body=body, headers=kept)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def collector_for(
    azurite: Azurite, url: str, token: str, state: Path, backoff: Backoff = FAST
) -> Iterator[Collector]:
    source = AzureBlobSource(service_from_connection_string(azurite.connection_string))
    client = GatewayClient(url, token, backoff)
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


def first(count: int, answer: Answer) -> Fault:
    return lambda seen: answer if seen.number <= count else None


SCENARIOS: dict[str, Fault] = {
    "500s": first(3, Answer(500)),
    "429 with Retry-After": first(2, Answer(429, retry_after="1")),
    "413 above one record": lambda seen: Answer(413) if seen.records > 1 else None,
    "hang past the timeout": lambda seen: Hang(2.0) if seen.number == 2 else None,
}


def test_gateway_faults(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    """Each fault on its own blobs (one gateway for all, to keep the suite fast)."""
    expected: Counter[tuple[Any, ...]] = Counter()
    for number, (name, fault) in enumerate(SCENARIOS.items()):
        hour = Hour(azurite, mac=f"00224871C2{number:02d}")
        with FaultProxy(gateway.base_url, fault) as proxy:
            # One checkpoint file: the blobs of earlier scenarios are caught up, not re-sent.
            with collector_for(azurite, proxy.url, subscription_token, tmp_path) as collector:
                for _ in range(3):
                    hour.write(records=3)
                    collector.run_pass()
            assert collector.metrics.dead_letters == 0, name
            assert collector.metrics.blocks_delivered == 6, name
            check_fault(name, proxy.seen)
        expected += hour.flows()
    gateway.stop()
    assert stored_flows(gateway.data_dir) == expected


def check_fault(name: str, seen: list[Seen]) -> None:
    """The collector reacted to the fault as designed."""
    if name == "500s":
        assert [s.status for s in seen[:4]] == [500, 500, 500, 202]
        assert len({s.key for s in seen[:4]}) == 1
    if name == "429 with Retry-After":
        assert seen[2].at - seen[1].at >= 1.0
    if name == "hang past the timeout":
        assert seen[1].status == -202
        assert (seen[2].key, seen[2].status) == (seen[1].key, 200)  # recognised as stored
    if name == "413 above one record":
        assert {s.records for s in seen if s.status == 202} == {1}
        assert len({s.key for s in seen if s.status == 202}) == 18


def test_refused_batches_are_dead_lettered_then_replayed(
    azurite: Azurite, gateway: Gateway, subscription_token: str, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    with FaultProxy(gateway.base_url, first(2, Answer(422))) as proxy:
        with collector_for(azurite, proxy.url, subscription_token, tmp_path) as collector:
            for _ in range(3):
                hour.write()
            collector.run_pass()
        assert collector.metrics.dead_letters == 2
    letters = FolderDeadLetters(tmp_path / "dead")
    assert {letters.get(n).key for n in letters.names()} == {s.key for s in proxy.seen[:2]}
    client = GatewayClient(gateway.base_url, subscription_token, FAST)
    try:
        assert replay_dead_letters(letters, client) == (2, 0)
    finally:
        client.close()
    gateway.stop()
    assert stored_flows(gateway.data_dir) == hour.flows()


def test_a_refused_token_stops_without_moving_the_checkpoint(
    azurite: Azurite, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    hour.write()
    with (
        FaultProxy("http://127.0.0.1:9", lambda seen: Answer(401)) as proxy,
        collector_for(azurite, proxy.url, "revoked", tmp_path) as collector,
    ):
        with pytest.raises(CallerRefusedError, match="HTTP 401"):
            collector.run_pass()
        assert len(proxy.seen) == 1  # not retried, not dead-lettered
    assert collector.metrics.blocks_delivered == collector.metrics.dead_letters == 0


def test_a_gateway_that_stays_away_ends_the_pass_at_the_deadline(
    azurite: Azurite, tmp_path: Path
) -> None:
    hour = Hour(azurite)
    hour.write()
    closed = f"http://127.0.0.1:{free_port()}"
    brief = Backoff(base_seconds=0.05, cap_seconds=0.2, deadline_seconds=1.0, timeout_seconds=0.5)
    with collector_for(azurite, closed, "token", tmp_path, brief) as collector:
        with pytest.raises(DeliveryError, match="did not take batch"):
            collector.run_pass()
        assert collector.metrics.blocks_delivered == 0
