"""Where a webhook may point: the gateway's defence against server-side request forgery.

A tenant admin chooses a webhook's URL and the gateway POSTs to it from inside the deployment,
so an unchecked URL would let them reach what only the gateway can: the cloud's instance
metadata service (managed-identity tokens), Azure's WireServer, the gateway's own loopback
ports, or hosts of the private network. ``TargetGuard.pinned`` therefore

- takes only ``https://`` URLs (``http://`` when the deployment allows it) with a host and no
  user name or password;
- resolves the host once and refuses it when *any* address it resolves to is not a public
  unicast address: loopback, private (RFC 1918, RFC 6598 shared space, IPv6 ULA), link-local,
  multicast, unspecified, reserved, and the metadata addresses; IPv4 addresses carried inside
  IPv6 (mapped, 6to4, NAT64) are judged as the IPv4 address they carry;
- returns the checked addresses, which the sender connects to (``pinned_connection``) instead
  of resolving the name again, so a name whose DNS answer changes between check and connect
  (DNS rebinding) still reaches only a checked address. The Host header and TLS server name
  (SNI, and the certificate check) stay the URL's host.

Loopback, private and (when listed) reserved addresses become reachable only when the operator
opts in (``webhook_allow_private_targets``, optionally narrowed to ``webhook_private_networks``),
as for an on-premises SIEM. Link-local, multicast, unspecified and metadata addresses are never
reachable: no receiver lives there. Redirects are answers, never followed (flowcdr.detect.notify).
"""

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from flowcdr.config import Settings
from flowcdr.errors import FlowcdrError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
"""A host name and port to the addresses they resolve to, as text."""

# Instance metadata and host endpoints of the clouds a gateway may run in: Azure IMDS (and AWS,
# GCP, Oracle: the same address), Azure WireServer, AWS ECS task metadata and IMDS over IPv6,
# Alibaba Cloud's metadata service. Most are link-local anyway; WireServer and Alibaba's are not.
METADATA = frozenset(
    ipaddress.ip_address(text)
    for text in ("169.254.169.254", "168.63.129.16", "169.254.170.2", "fd00:ec2::254",
                 "100.100.100.200")
)  # fmt: skip
PRIVATE = tuple(
    ipaddress.ip_network(text)
    for text in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefusedError(FlowcdrError):
    """A webhook URL the guard will not send to; the message says why, naming the URL's host."""


@dataclass(frozen=True)
class PinnedTarget:
    """A checked URL and the addresses its host resolved to, to connect to and nowhere else."""

    scheme: str
    host: str
    port: int | None
    path: str
    """Path and query, as the request line carries them."""
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses as the operating system resolves them (``socket.gaierror`` when it
    does not), each once, in the order the resolver prefers."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class TargetGuard:
    """The deployment's egress policy for webhooks (``from_settings``), and its checks."""

    allow_http: bool = False
    allow_private: bool = False
    private_networks: tuple[IPNetwork, ...] = ()
    """With ``allow_private``: the only non-public networks allowed (empty: loopback and all
    private ranges)."""
    resolve: Resolver = system_resolver

    @classmethod
    def from_settings(cls, settings: Settings) -> "TargetGuard":
        return cls(
            allow_http=settings.webhook_allow_http,
            allow_private=settings.webhook_allow_private_targets,
            private_networks=tuple(settings.webhook_private_networks),
        )

    def pinned(self, url: str) -> PinnedTarget:
        """``url`` checked and resolved: raises ``TargetRefusedError`` saying why it may not be
        reached, or ``OSError`` (``socket.gaierror``) when its host does not resolve now."""
        parts = urlsplit(url)
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in schemes:
            raise TargetRefusedError(_scheme_refusal(parts.scheme, self.allow_http))
        if not parts.hostname:
            raise TargetRefusedError("the URL has no host")
        if parts.username or parts.password:
            raise TargetRefusedError("the URL must not carry a user name or password")
        try:
            port = parts.port
        except ValueError:
            raise TargetRefusedError("the URL's port is not a number from 0 to 65535") from None
        host = parts.hostname
        if _is_address(host):
            addresses = [host]
        else:
            addresses = self.resolve(host, port or (443 if parts.scheme == "https" else 80))
        if not addresses:
            raise socket.gaierror(f"{host} resolves to no address")
        for address in addresses:
            reason = self.refusal(address)
            if reason:
                shown = host if host == address else f"{host} ({address})"
                raise TargetRefusedError(f"{shown} is {reason}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return PinnedTarget(parts.scheme, host, port, path, tuple(addresses))

    def refusal(self, text: str) -> str | None:
        """Why the address may not be a webhook's, or None when it may."""
        address = ipaddress.ip_address(text.split("%", 1)[0])  # without an IPv6 zone
        carried = _carried_ipv4(address)
        if carried is not None:
            return self.refusal(str(carried))
        if address in METADATA:
            return "a cloud metadata address, never a webhook target"
        for test, what in ((address.is_unspecified, "the unspecified address"),
                           (address.is_multicast, "a multicast address"),
                           (address.is_link_local, "a link-local address")):  # fmt: skip
            if test:
                return f"{what}, never a webhook target"
        if address.is_loopback:
            kind = "a loopback address"
        elif any(address in network for network in PRIVATE):
            kind = "a private address"
        elif not address.is_global:
            kind = "a reserved address"
        else:
            return None
        return self._private_refusal(address, kind)

    def _private_refusal(self, address: IPAddress, kind: str) -> str | None:
        if not self.allow_private:
            return f"{kind}: refused unless the deployment sets webhook_allow_private_targets"
        if self.private_networks:
            if any(address in network for network in self.private_networks):
                return None
            return f"{kind} outside webhook_private_networks"
        if kind == "a reserved address":  # opened only by listing it
            return f"{kind}: refused unless webhook_private_networks lists it"
        return None


def _scheme_refusal(scheme: str, allow_http: bool) -> str:
    """Why a scheme is refused; the URL itself is not repeated (its path may be a credential,
    and this text is kept as a delivery's status)."""
    wanted = "http:// and https://" if allow_http else "https://"
    if scheme == "http":
        return "http:// is refused unless the deployment sets webhook_allow_http"
    if not scheme:
        return f"the URL has no scheme: only {wanted} URLs are taken"
    return f"the scheme {scheme[:20]!r} is refused: only {wanted} URLs are taken"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _carried_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to the URL's host, its socket connected to a checked address."""

    def __init__(self, target: PinnedTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._addresses = target.addresses

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the URL's host: the TLS server name and certificate are the host's, the TCP
    connection goes to a checked address."""

    def __init__(self, target: PinnedTarget, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._addresses = target.addresses
        self._tls = context

    def connect(self) -> None:
        raw = _connect(self._addresses, self.port, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def _connect(addresses: Sequence[str], port: int, timeout: float | None) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers."""
    failure: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as error:
            failure = error
    raise failure


def pinned_connection(
    target: PinnedTarget, timeout: float, context: ssl.SSLContext | None = None
) -> http.client.HTTPConnection:
    """An HTTP(S) connection to ``target`` that never resolves its host again."""
    if target.scheme == "https":
        return _PinnedHTTPS(target, timeout, context or ssl.create_default_context())
    return _PinnedHTTP(target, timeout)
