"""A webhook receiver on a real loopback socket: answers with scripted statuses (a redirect
with its Location), keeps what it got, and checks signatures the way docs/operations.md tells a
receiver to. Over TLS when given a server context."""

import hashlib
import hmac
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    port: int
    statuses: list[int] = field(default_factory=list)
    """Answers to give in order; 200 once they run out."""
    got: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.got) >= count, timeout), self.got
            return list(self.got)


def verified(secret: str, request: Received, max_age: float = 300.0) -> bool:
    """The receiver's check: HMAC-SHA256 over ``timestamp.body``, and a fresh timestamp."""
    timestamp = request.headers["X-Flowcdr-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    given = request.headers["X-Flowcdr-Signature"]
    fresh = abs(time.time() - int(timestamp)) <= max_age
    return fresh and hmac.compare_digest(given, "v1=" + expected)


@contextmanager
def receiver(
    statuses: list[int] | None = None, *, location: str = "", tls: ssl.SSLContext | None = None
) -> Iterator[Receiver]:
    """``location``: the Location header of 3xx answers; ``tls``: serve HTTPS with it."""
    state: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            got = Received(dict(self.headers.items()), self.rfile.read(length))
            found = state[0]
            status = found.statuses.pop(0) if found.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with found.arrived:
                found.got.append(got)
                found.arrived.notify_all()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_port
    scheme = "https" if tls else "http"
    state.append(Receiver(f"{scheme}://127.0.0.1:{port}/hooks/abc?x=1", port,
                          list(statuses or [])))  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
