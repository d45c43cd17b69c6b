"""A local Azure Resource Manager: recorded ARM list responses served over real TLS on loopback.

The Azure SDK clients refuse to send a bearer token over plain http, so the server speaks TLS
with a self-signed certificate made for 127.0.0.1; clients trust it through
``connection_verify``. It answers as ARM does: lists need ``api-version`` and a bearer token,
bodies are ``{"value": [...], "nextLink": ...}`` with absolute next links (recorded against
management.azure.com and rewritten to this server), errors are ``{"error": {"code", "message"}}``.
One subscription (``SUBSCRIPTION``) holds the recorded resources; another (``DENIED``) answers
403 AuthorizationFailed to everything, as when the application lacks a role there. Paths in
``throttle_once`` answer 429 with Retry-After once, in ``throttle_always`` every time. Tests
may ``replace`` a recorded body.
"""

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RECORDED = Path(__file__).resolve().parent / "arm"
RECORDED_HOST = "https://management.azure.com"
SUBSCRIPTION = "6a6d3d3c-2b8e-4f36-9a9e-0c5c2f0a1b2c"
DENIED = "d3b7e1f9-5a2c-4c8e-b6d4-9f1a3c5e7b9d"
TOKEN = "fake-arm-token"
WATCHER = (
    "/resourcegroups/networkwatcherrg/providers/microsoft.network/networkwatchers"
    "/networkwatcher_eastus"
)

# Lower-case path below /subscriptions/{id} (and the $skiptoken, if any) -> recorded body.
ROUTES = {
    ("/providers/microsoft.compute/virtualmachines", None): "virtualMachines.json",
    ("/providers/microsoft.network/networkinterfaces", None): "networkInterfaces.json",
    ("/providers/microsoft.network/publicipaddresses", None): "publicIPAddresses.json",
    ("/providers/microsoft.network/virtualnetworks", None): "virtualNetworks.json",
    ("/providers/microsoft.network/networksecuritygroups", None): "networkSecurityGroups.json",
    ("/providers/microsoft.network/networksecuritygroups", "ZmxvdzI"): (
        "networkSecurityGroups.page2.json"
    ),
    ("/providers/microsoft.network/networkwatchers", None): "networkWatchers.json",
    (WATCHER + "/flowlogs", None): "flowLogs.json",
    ("/providers/microsoft.storage/storageaccounts", None): "storageAccounts.json",
    ("/providers/microsoft.storage/storageaccounts", "c3RvcmFnZTI"): "storageAccounts.page2.json",
}


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    status: int


@dataclass
class FakeArm:
    base_url: str
    ca_file: Path
    requests: list[Request] = field(default_factory=list)
    throttle_once: set[str] = field(default_factory=set)  # lower-case route paths
    throttle_always: set[str] = field(default_factory=set)
    overrides: dict[str, Any] = field(default_factory=dict)

    def replace(self, name: str, body: Any) -> None:
        """Serve ``body`` instead of the recorded file ``name`` from now on."""
        self.overrides[name] = body

    def body(self, name: str) -> Any:
        return self.overrides.get(name) or recorded(name)

    def answered(self, fragment: str) -> list[int]:
        return [r.status for r in self.requests if fragment in r.path.lower()]


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-arm.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "arm-cert.pem", folder / "arm-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _handler(arm: FakeArm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).replace(RECORDED_HOST, arm.base_url).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            query = parse_qs(urlsplit(self.path).query)
            arm.requests.append(
                Request(self.path, query, self.headers.get("Authorization"), status)
            )

        def error(self, status: int, code: str, message: str) -> None:
            self.answer(status, {"error": {"code": code, "message": message}})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.error(401, "AuthenticationFailed", "Authentication failed.")
                return
            if not query.get("api-version"):
                self.error(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all "
                           "requests.")  # fmt: skip
                return
            segments = parts.path.split("/")
            if len(segments) < 3 or segments[1].lower() != "subscriptions":
                self.error(404, "NotFound", f"No route for {parts.path}")
                return
            subscription, below = segments[2].lower(), "/" + "/".join(segments[3:]).lower()
            if subscription == DENIED:
                self.answer(403, recorded("authorizationFailed.json"))
                return
            skip = {k.lower(): v for k, v in query.items()}.get("$skiptoken")  # either spelling
            token = skip[0] if skip else None
            name = ROUTES.get((below, token)) if subscription == SUBSCRIPTION else None
            if name is None:
                self.error(404, "SubscriptionNotFound" if subscription != SUBSCRIPTION else
                           "InvalidResourceType", f"Nothing recorded for {parts.path}")  # fmt: skip
                return
            if below in arm.throttle_always or (below in arm.throttle_once and token is None):
                arm.throttle_once.discard(below)
                self.answer(429, recorded("tooManyRequests.json"), {"Retry-After": "1"})
                return
            self.answer(200, arm.body(name))

    return Handler


@contextmanager
def serve(folder: Path) -> Iterator[FakeArm]:
    """A fake ARM on a free loopback port, for the duration of the ``with``."""
    cert_file, key_file = _certificate(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    arm = FakeArm("", cert_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(arm))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    arm.base_url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield arm
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
