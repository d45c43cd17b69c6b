"""Azure Storage connection strings: parsed as Azure reads them, checked against the bucket.

The collector reads a bucket's flow-log blobs with this string, so a wrong one only shows up as
an empty dashboard hours later; it is refused when entered instead. The grammar is Azure's:
``key=value`` pairs joined by ``;``, split at each pair's first ``=`` because values hold ``=``
(base64 padding, SAS signatures), keys case-insensitive, one trailing ``;`` allowed. Where the
Azure SDKs let a repeated key silently win, a repeated key is refused: one of the two was not
meant.

The string holds a secret, an account key or a SAS signature. No error message repeats either,
and ``mask`` gives a form that is safe to show or log.
"""

import base64
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from flowcdr.azure.errors import ConnectionStringError, shown

DEFAULT_ENDPOINT_SUFFIX = "core.windows.net"
MASK = "****"

_WHOLE = "connection_string"
_ENDPOINT_KEYS = (
    "BlobEndpoint",
    "QueueEndpoint",
    "TableEndpoint",
    "FileEndpoint",
    "BlobSecondaryEndpoint",
    "QueueSecondaryEndpoint",
    "TableSecondaryEndpoint",
    "FileSecondaryEndpoint",
)
_KEYS_BY_LOWER = {
    key.lower(): key
    for key in (
        "DefaultEndpointsProtocol",
        "AccountName",
        "AccountKey",
        "SharedAccessSignature",
        "EndpointSuffix",
        *_ENDPOINT_KEYS,
    )
}
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A SAS signature parameter, at the start of a pair or value or after '?' or '&'.
_SIG = re.compile(r"(?:^|(?<=[?&=]))(sig=)[^&]*", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class ConnectionString:
    """A checked connection string; exactly one of ``account_key`` and ``sas`` is set.

    The secrets and the original ``text`` stay out of ``repr``, so logging the object leaks
    nothing; ``masked`` is the text to show.
    """

    protocol: str
    account_name: str
    account_key: str | None = field(repr=False)
    sas: str | None = field(repr=False)
    endpoint_suffix: str
    blob_endpoint: str | None
    text: str = field(repr=False)

    @property
    def masked(self) -> str:
        """The connection string as entered, with the account key and SAS signature hidden."""
        return mask(self.text)


def parse_connection_string(text: str, *, account: str) -> ConnectionString:
    """Parse ``text`` and check that it reaches the storage account ``account`` over https.

    Whitespace around the whole string is dropped (it comes with copy and paste); inside, the
    text is taken as it is. Without ``AccountName``, the account is read from a ``BlobEndpoint``
    of the form ``https://<account>.blob.<suffix>/``, as in the portal's SAS connection strings.
    """
    text = text.strip()
    pairs = _pairs(text)
    protocol = pairs.get("DefaultEndpointsProtocol", "https")
    if protocol.lower() != "https":
        raise ConnectionStringError(
            "DefaultEndpointsProtocol", f"must be 'https', got {shown(protocol)}"
        )
    for key in _ENDPOINT_KEYS:
        if key in pairs:
            _check_https_url(key, pairs[key])
    suffix = pairs.get("EndpointSuffix", DEFAULT_ENDPOINT_SUFFIX).lower()
    if not _is_dns_suffix(suffix):
        raise ConnectionStringError(
            "EndpointSuffix", f"must be a DNS suffix like core.windows.net, got {shown(suffix)}"
        )
    account_name = _account_name(pairs, account)
    account_key, sas = _credential(pairs)
    return ConnectionString(
        protocol="https",
        account_name=account_name,
        account_key=account_key,
        sas=sas,
        endpoint_suffix=suffix,
        blob_endpoint=pairs.get("BlobEndpoint"),
        text=text,
    )


def mask(text: str) -> str:
    """``text`` with every AccountKey value and SAS ``sig=`` value replaced by ``****``.

    Everything else is kept byte for byte. It works on any text, valid or not, so that even a
    refused connection string can be echoed; keys are matched case-insensitively and with
    surrounding blanks, more loosely than the parser accepts them.
    """
    return ";".join(_mask_pair(pair) for pair in text.split(";"))


def _mask_pair(pair: str) -> str:
    name, sep, _ = pair.partition("=")
    if sep and name.strip().lower() == "accountkey":
        return f"{name}={MASK}"
    return _hide_sig(pair)


def _hide_sig(text: str) -> str:
    return _SIG.sub(rf"\g<1>{MASK}", text)


def _pairs(text: str) -> dict[str, str]:
    """The pairs by canonical key name; messages give pair numbers, never a pair's text."""
    if not text:
        raise ConnectionStringError(_WHOLE, "is empty")
    segments = text.split(";")
    if segments[-1] == "":
        segments.pop()
    pairs: dict[str, str] = {}
    for number, segment in enumerate(segments, start=1):
        if not segment:
            raise ConnectionStringError(_WHOLE, f"pair {number} is empty (';;' or a leading ';')")
        name, sep, value = segment.partition("=")
        if not sep:
            raise ConnectionStringError(_WHOLE, f"pair {number} has no '=' (key=value)")
        key = _KEYS_BY_LOWER.get(name.lower())
        if key is None:
            known = ", ".join(_KEYS_BY_LOWER.values())
            raise ConnectionStringError(_WHOLE, f"pair {number} has an unknown key; known: {known}")
        if key in pairs:
            raise ConnectionStringError(key, "is given twice")
        if not value:
            raise ConnectionStringError(key, "is empty")
        pairs[key] = value
    return pairs


def _check_https_url(key: str, value: str) -> None:
    try:
        parts = urlsplit(value)
        is_https = parts.scheme.lower() == "https" and bool(parts.hostname)
    except ValueError:
        is_https = False
    if not is_https:
        raise ConnectionStringError(key, f"must be an https:// URL, got {shown(_hide_sig(value))}")


def _is_dns_suffix(suffix: str) -> bool:
    labels = suffix.split(".")
    return (
        len(suffix) <= 253
        and len(labels) >= 2
        and all(_DNS_LABEL.fullmatch(label) for label in labels)
    )


def _account_name(pairs: dict[str, str], account: str) -> str:
    endpoint_account = _endpoint_account(pairs.get("BlobEndpoint"))
    if endpoint_account is not None and endpoint_account != account:
        raise ConnectionStringError(
            "BlobEndpoint",
            f"reaches storage account {shown(endpoint_account)}, "
            f"but the bucket's storage account is {shown(account)}",
        )
    name = pairs.get("AccountName", endpoint_account)
    if name is None:
        raise ConnectionStringError(
            "AccountName",
            "is missing, and no BlobEndpoint https://<account>.blob.<suffix>/ names the account",
        )
    if name != account:
        raise ConnectionStringError(
            "AccountName", f"is {shown(name)}, but the bucket's storage account is {shown(account)}"
        )
    return name


def _endpoint_account(blob_endpoint: str | None) -> str | None:
    """The account of a standard blob endpoint; None for custom domains and private DNS names."""
    if blob_endpoint is None:
        return None
    labels = (urlsplit(blob_endpoint).hostname or "").split(".")
    return labels[0] if len(labels) > 2 and labels[1] == "blob" else None


def _credential(pairs: dict[str, str]) -> tuple[str | None, str | None]:
    """The account key or the SAS token, whichever is given; exactly one must be."""
    key = pairs.get("AccountKey")
    sas = pairs.get("SharedAccessSignature")
    if key is not None and sas is not None:
        raise ConnectionStringError(
            _WHOLE, "has both AccountKey and SharedAccessSignature; keep exactly one"
        )
    if key is not None:
        try:
            base64.b64decode(key, validate=True)
        except ValueError:
            raise ConnectionStringError("AccountKey", "is not valid base64") from None
        return key, None
    if sas is not None:
        token = sas.removeprefix("?")
        params = parse_qs(token)
        missing = [f"{name}=" for name in ("sv", "sig") if name not in params]
        if missing:
            raise ConnectionStringError(
                "SharedAccessSignature", f"is not a SAS token: it has no {' and no '.join(missing)}"
            )
        return None, token
    raise ConnectionStringError(_WHOLE, "needs an AccountKey or a SharedAccessSignature")
