"""The webhook egress guard: which addresses a webhook may reach, and deliveries over real
loopback sockets that connect only to the address that was checked (DNS rebinding), keep the
URL's host in the Host header and TLS (SNI, certificate), and never follow a redirect."""

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flowcdr.config import Settings
from flowcdr.detect.notify import Outcome, post
from flowcdr.detect.webhook_guard import TargetGuard, TargetRefusedError

from .receiver import Receiver, receiver

STRICT = TargetGuard()
PRIVATE = TargetGuard(allow_http=True, allow_private=True)
HEADERS = {"Content-Type": "application/json"}


def refusal(guard: TargetGuard, url: str) -> str:
    with pytest.raises(TargetRefusedError) as refused:
        guard.pinned(url)
    return str(refused.value)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # RFC 6598 shared address space
        ("fd12:3456::1", "private"),  # ULA
        ("169.254.169.254", "metadata"),  # Azure, AWS and GCP instance metadata
        ("168.63.129.16", "metadata"),  # Azure WireServer: public-looking, never a receiver
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.7", "reserved"),  # documentation
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
    ],
)
def test_every_non_public_address_is_refused_by_default(address: str, why: str) -> None:
    assert why in (STRICT.refusal(address) or "")
    host = f"[{address}]" if ":" in address else address
    assert why in refusal(STRICT, f"https://{host}/hook")


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    target = STRICT.pinned(f"https://{host}:8443/services/T0?x=1")
    assert (target.host, target.port, target.path, target.addresses) == (
        address, 8443, "/services/T0?x=1", (address,))  # fmt: skip


def test_private_targets_open_only_by_the_switch_and_within_its_networks() -> None:
    for address in ("127.0.0.1", "::1", "10.1.2.3", "100.64.0.1", "fd00::5"):
        assert PRIVATE.refusal(address) is None, address
    for address, why in (("169.254.169.254", "metadata"), ("168.63.129.16", "metadata"),
                         ("fe80::1", "link-local"), ("0.0.0.0", "unspecified"),
                         ("224.0.0.1", "multicast"), ("198.18.0.1", "reserved")):  # fmt: skip
        assert why in (PRIVATE.refusal(address) or ""), address
    siem = TargetGuard(
        allow_private=True,
        private_networks=(ipaddress.ip_network("10.20.0.0/24"),
                          ipaddress.ip_network("198.18.0.0/15")),
    )  # fmt: skip
    assert siem.refusal("10.20.0.9") is None
    assert siem.refusal("198.18.3.4") is None  # reserved, but listed
    assert "outside webhook_private_networks" in (siem.refusal("10.30.0.1") or "")
    assert "outside webhook_private_networks" in (siem.refusal("127.0.0.1") or "")
    wide = TargetGuard(allow_private=True, private_networks=(ipaddress.ip_network("0.0.0.0/0"),))
    assert "metadata" in (wide.refusal("169.254.169.254") or "")  # no list opens metadata
    assert wide.refusal("93.184.215.14") is None


def test_the_guard_follows_the_deployment_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert TargetGuard.from_settings(Settings(data_dir=tmp_path)) == TargetGuard()
    for name, value in (("ALLOW_HTTP", "true"), ("ALLOW_PRIVATE_TARGETS", "true"),
                        ("PRIVATE_NETWORKS", '["10.20.0.0/24"]')):  # fmt: skip
        monkeypatch.setenv(f"FLOWCDR_WEBHOOK_{name}", value)
    opened = Settings(data_dir=tmp_path)
    assert TargetGuard.from_settings(opened) == TargetGuard(
        True, True, (ipaddress.ip_network("10.20.0.0/24"),)
    )
    monkeypatch.delenv("FLOWCDR_WEBHOOK_ALLOW_PRIVATE_TARGETS")
    with pytest.raises(ValueError, match="webhook_allow_private_targets is false"):
        Settings(data_dir=tmp_path)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "the scheme 'file' is refused: only https:// URLs are taken"),
        ("gopher://127.0.0.1:25/x", "the scheme 'gopher' is refused"),
        ("ftp://files.example/x", "the scheme 'ftp' is refused"),
        ("dict://127.0.0.1:11211/stat", "the scheme 'dict' is refused"),
        ("http://93.184.215.14/hook", "webhook_allow_http"),
        ("https:///no-host", "the URL has no host"),
        ("hooks", "the URL has no scheme: only https:// URLs are taken"),
        ("https://user:pw@93.184.215.14/", "user name or password"),
        ("https://93.184.215.14:99999/", "port is not a number from 0 to 65535"),
    ],
)
def test_only_plain_https_urls_are_taken(url: str, why: str) -> None:
    assert why in refusal(STRICT, url)


def test_a_refusal_never_repeats_the_urls_path_or_query() -> None:
    """Refusals are kept as a delivery's status and logged: a Slack URL's path is its key."""
    for url in ("http://hooks.example.test/services/T0/B0/SECRET?token=SECRET",
                "ftp://hooks.example.test/SECRET", "https://u:SECRET@hooks.example.test/",
                "https://hooks.example.test:99999/SECRET", "https://127.0.0.1/SECRET"):  # fmt: skip
        assert "SECRET" not in refusal(STRICT, url), url


def test_http_only_when_the_deployment_allows_it() -> None:
    assert TargetGuard(allow_http=True).pinned("http://93.184.215.14/x").scheme == "http"
    assert "only http:// and https:// URLs are taken" in refusal(TargetGuard(allow_http=True),
                                                          "file:///etc/passwd")  # fmt: skip


def test_names_are_judged_by_every_address_they_resolve_to() -> None:
    # The operating system's resolver: localhost and a decimal spelling of 127.0.0.1.
    assert "loopback" in refusal(STRICT, "https://localhost:8443/hook")
    assert "loopback" in refusal(STRICT, "https://2130706433/hook")
    # One private address among public ones is enough to refuse the name.
    mixed = TargetGuard(resolve=lambda host, port: ["93.184.215.14", "10.0.0.7"])
    assert refusal(mixed, "https://hooks.example.test/x") == (
        "hooks.example.test (10.0.0.7) is a private address: refused unless the deployment "
        "sets webhook_allow_private_targets"
    )
    with pytest.raises(OSError, match=r"not known|resolution|resolve"):
        STRICT.pinned("https://does-not-exist.invalid/x")


class Rebinding:
    """A DNS answer that changes: ``first`` once, then ``later`` (counted)."""

    def __init__(self, first: str, later: str) -> None:
        self.answers = [first]
        self.later = later
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return [self.answers.pop(0) if self.answers else self.later]


LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.0/8"),)


def test_a_delivery_connects_to_the_checked_address_with_the_urls_host() -> None:
    rebinding = Rebinding("127.0.0.1", "169.254.169.254")
    guard = TargetGuard(allow_http=True, allow_private=True, private_networks=LOOPBACK_ONLY,
                        resolve=rebinding)  # fmt: skip
    with receiver() as hook:
        url = f"http://hooks.example.test:{hook.port}/in?k=1"
        outcome = post(url, b"{}", HEADERS, 5.0, guard=guard)
        (got,) = hook.wait_for(1)
    # Resolved once, checked, connected to: the name itself resolves nowhere on this machine.
    assert outcome == Outcome(True, False, "HTTP 200")
    assert rebinding.calls == 1
    assert got.headers["Host"] == f"hooks.example.test:{hook.port}"


def test_a_name_that_rebinds_to_a_refused_address_is_not_sent_to() -> None:
    rebinding = Rebinding("127.0.0.1", "169.254.169.254")
    guard = TargetGuard(allow_http=True, allow_private=True, private_networks=LOOPBACK_ONLY,
                        resolve=rebinding)  # fmt: skip
    with receiver() as hook:
        url = f"http://hooks.example.test:{hook.port}/in"
        guard.pinned(url)  # as when the webhook was added
        outcome = post(url, b"{}", HEADERS, 5.0, guard=guard)
    assert outcome.refused
    assert not outcome.retry
    assert outcome.status == (
        "refused: hooks.example.test (169.254.169.254) is a cloud metadata address, never a "
        "webhook target"
    )
    assert hook.got == []


def test_a_refused_address_is_never_connected_to() -> None:
    with receiver() as hook:
        for url in (hook.url, f"http://localhost:{hook.port}/x", f"http://[::1]:{hook.port}/x"):
            outcome = post(url, b"{}", HEADERS, 5.0, guard=TargetGuard(allow_http=True))
            assert outcome.refused, url
            assert "loopback" in outcome.status
    assert hook.got == []


def test_a_redirect_is_an_answer_not_followed() -> None:
    with receiver() as elsewhere, receiver([307], location=elsewhere.url) as first:
        outcome = post(first.url, b"{}", HEADERS, 5.0, guard=PRIVATE)
        first.wait_for(1)
    assert outcome == Outcome(False, False, "HTTP 307")
    assert elsewhere.got == []


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, list[str], ssl.SSLContext]]:
    """An HTTPS receiver with a certificate for hooks.example.test, the server names clients
    asked for (SNI), and a client context that trusts that certificate only."""
    cert, key = certificate(tmp_path, "hooks.example.test")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    names: list[str] = []
    server.sni_callback = lambda _sock, name, _ctx: names.append(name or "")
    client = ssl.create_default_context(cafile=str(cert))
    with receiver(tls=server) as hook:
        yield hook, names, client


def test_https_keeps_the_hosts_name_for_sni_and_the_certificate(
    tls_receiver: tuple[Receiver, list[str], ssl.SSLContext],
) -> None:
    hook, names, client = tls_receiver
    port = hook.port
    guard = TargetGuard(allow_private=True, private_networks=LOOPBACK_ONLY,
                        resolve=lambda host, port: ["127.0.0.1"])  # fmt: skip
    outcome = post(f"https://hooks.example.test:{port}/in", b"{}", HEADERS, 5.0, guard=guard,
                   tls=client)  # fmt: skip
    assert outcome == Outcome(True, False, "HTTP 200")
    assert names == ["hooks.example.test"]
    (got,) = hook.wait_for(1)
    assert got.headers["Host"] == f"hooks.example.test:{port}"
    # The same address under another name: the certificate does not match, nothing is sent.
    other = TargetGuard(allow_private=True, private_networks=LOOPBACK_ONLY,
                        resolve=lambda host, port: ["127.0.0.1"])  # fmt: skip
    mismatch = post(f"https://other.example.test:{port}/in", b"{}", HEADERS, 5.0, guard=other,
                    tls=client)  # fmt: skip
    assert not mismatch.delivered
    assert "CERTIFICATE_VERIFY_FAILED" in mismatch.status
    assert len(hook.got) == 1
