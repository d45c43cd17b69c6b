"""Shipping gzip batches to the gateway's ``POST /cdr/v1/ingest``, with retries.

At-least-once delivery: a batch is sent until the gateway answers, and the idempotency key turns
repeats into no-ops, so the effect is exactly once. 408, 429, 5xx, refused connections and
timeouts are retried with full-jitter exponential backoff, waiting at least what ``Retry-After``
asks, until the batch's deadline. 413 and other 4xx are answers about the batch, returned to the
caller (split it, or dead-letter it); 401 and 403 are about us, so they stop collection rather
than dead-letter every batch of a backlog. One keep-alive connection is reused per client.
"""

import enum
import http.client
import json
import random
import threading
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from isal import igzip

from flowcdr.collect.errors import CallerRefusedError, DeliveryError

INGEST_PATH = "/cdr/v1/ingest"
# JSON shrinks ~3.5x at ISA-L's level 1; higher levels cost more CPU than the bytes they save.
GZIP_LEVEL = 1
RETRIED = frozenset({408, 429}) | frozenset(range(500, 600))
REFUSED_CALLER = frozenset({401, 403})
_MESSAGE_CHARS = 300  # of a refusal's body, kept with a dead letter


def gzip_body(data: bytes) -> bytes:
    """An ingest body: one gzip member with no time stamp, so the same data gives the same bytes.

    ISA-L compresses several times faster than zlib at the same level, and compressing is
    most of the collector's CPU."""
    return igzip.compress(data, GZIP_LEVEL, mtime=0)


class Outcome(enum.Enum):
    ACCEPTED = "accepted"  # 2xx: stored now (202) or already (200, a replayed key)
    TOO_LARGE = "too_large"  # 413: split the batch
    REJECTED = "rejected"  # another 4xx: dead-letter it


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    status: int
    message: str
    attempts: int


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff: a wait drawn in [0, min(cap, base * 2**attempt)]."""

    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    deadline_seconds: float = 600.0  # per batch; past it the pass stops without advancing
    timeout_seconds: float = 30.0  # per request: connect, send and wait for the answer


class Gateway(Protocol):
    """Where batches go: the HTTP client below, or a stand-in in unit tests."""

    def send(self, body: bytes, key: str, source: str) -> Delivery: ...


class GatewayClient:
    """Sends batches to one gateway with one subscription token (never logged or shown).

    Safe to share between threads: each thread keeps its own keep-alive connection. Setting
    ``stop`` cuts a backoff wait short (the batch is not acknowledged; its block is re-sent
    under the same key by the next run).
    """

    def __init__(
        self,
        url: str,
        token: str,
        backoff: Backoff | None = None,
        *,
        stop: threading.Event | None = None,
        connector_id: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"gateway URL must be http(s)://host[:port], got {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + INGEST_PATH
        self._token = token
        # The registered application this collector runs as: the gateway's data health and
        # connector list attribute the batches to it.
        self._connector = {"X-Flowcdr-Connector": connector_id[:128]} if connector_id else {}
        self._backoff = backoff or Backoff()
        self._stop = stop or threading.Event()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []
        self.url = url

    def send(self, body: bytes, key: str, source: str) -> Delivery:
        """POST one gzip batch until the gateway answers it, or raise ``DeliveryError``."""
        backoff = self._backoff
        deadline = time.monotonic() + backoff.deadline_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                status, retry_after, message = self._post(body, key, source)
            except (OSError, http.client.HTTPException) as error:
                self._drop()
                status, retry_after, message = 0, None, f"{type(error).__name__}: {error}"
            if 200 <= status < 300:
                return Delivery(Outcome.ACCEPTED, status, message, attempt)
            if status in REFUSED_CALLER:
                raise CallerRefusedError(
                    f"gateway {self.url} refused the token: HTTP {status} {message}"
                )
            if status == 413:
                return Delivery(Outcome.TOO_LARGE, status, message, attempt)
            if status and status not in RETRIED:
                return Delivery(Outcome.REJECTED, status, message, attempt)
            ceiling = min(backoff.cap_seconds, backoff.base_seconds * 2 ** (attempt - 1))
            wait = max(random.uniform(0, ceiling), retry_after or 0.0)  # noqa: S311
            if time.monotonic() + wait > deadline:
                raise DeliveryError(
                    f"gateway {self.url} did not take batch {key} from {source} within "
                    f"{backoff.deadline_seconds:g} s ({attempt} attempts; last: "
                    f"{status or 'no answer'} {message})"
                )
            if self._stop.wait(wait):
                raise DeliveryError(f"stopped while retrying batch {key} from {source}")

    def close(self) -> None:
        """Close every thread's connection (a later send opens a new one)."""
        with self._lock:
            for connection in self._connections:
                connection.close()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=self._backoff.timeout_seconds)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _drop(self) -> None:
        """Close this thread's connection after an error: its state is unknown."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._lock:
                self._connections.remove(connection)

    def _post(self, body: bytes, key: str, source: str) -> tuple[int, float | None, str]:
        connection = self._connection()
        connection.request(
            "POST",
            self._path,
            body=body,
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Idempotency-Key": key,
                "X-Flowcdr-Source": source[:1024],
                **self._connector,
            },
        )
        response = connection.getresponse()
        text = response.read()
        if response.will_close:
            self._drop()
        return response.status, _retry_after(response.getheader("Retry-After")), _message(text)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; the HTTP-date form is not used by our gateway."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _message(body: bytes) -> str:
    """The gateway's error message if the body is its JSON error, else the start of the body."""
    try:
        error = json.loads(body)["error"]
        return str(error.get("message", error))[:_MESSAGE_CHARS]
    except (ValueError, KeyError, TypeError, AttributeError):
        return body[:_MESSAGE_CHARS].decode(errors="replace")
