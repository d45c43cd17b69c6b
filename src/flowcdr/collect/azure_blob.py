"""Azure Blob Storage as a ``BlobSource`` (azure-storage-blob), and its dead-letter container.

Three ways in, as operators have them: a connection string, an account URL with a SAS token, or
an account URL with ``DefaultAzureCredential`` (managed identity in the Function, ``az login``
on a laptop). The source blob is only ever read: no lease, no metadata write, since a lease would
block Network Watcher's next commit. The SDK's default retry (15 s, then 45 s, ...) would stall
a pass for minutes, so it is shortened; the next pass is the long retry.
"""

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobPrefix, BlobServiceClient, BlobType, ContainerClient
from azure.storage.blob import ExponentialRetry as _ExponentialRetry

from flowcdr.collect.deadletter import DEAD_LETTER_CONTAINER, DeadLetter, letter_name
from flowcdr.collect.errors import BlobChangedError, SourceError, UnsupportedBlobError
from flowcdr.collect.source import BlobInfo, Block, BlockList

# The transport hands a response body over in blocks of this size; its default of 4 KiB costs a
# Python step per 4 KiB, three times the CPU of the whole download at 1 MiB.
DATA_BLOCK_BYTES = 1 << 20
_CLIENT_OPTIONS: dict[str, Any] = {
    # One quick retry of a refused connection, two of a failed request: the next pass retries.
    "retry_policy": _ExponentialRetry(
        initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1, retry_connect=1
    ),
    # A single 32 MiB GET peaks at about 9 times its size inside the SDK's transport; 8 MiB
    # chunks into one buffer keep a pass's read near its own size at the same speed.
    "max_single_get_size": 8 << 20,
    "max_chunk_get_size": 8 << 20,
    "connection_data_block_size": DATA_BLOCK_BYTES,
    "connection_timeout": 10,
    "read_timeout": 60,
}


def service_from_connection_string(text: str) -> BlobServiceClient:
    """A client from a connection string; a malformed string is named by its masked form."""
    try:
        return BlobServiceClient.from_connection_string(text, **_CLIENT_OPTIONS)
    except ValueError as error:
        raise SourceError(f"storage connection string is not usable: {error}") from None


def service_from_account_url(url: str, sas: str | None = None) -> BlobServiceClient:
    """A client for ``https://<account>.blob.core.windows.net`` with a SAS or an Azure AD login."""
    if sas:
        return BlobServiceClient(url, credential=sas.removeprefix("?"), **_CLIENT_OPTIONS)
    from azure.identity import DefaultAzureCredential  # only when used: it probes the machine

    return BlobServiceClient(url, credential=DefaultAzureCredential(), **_CLIENT_OPTIONS)


class AzureBlobSource:
    """Flow-log containers of one storage account."""

    def __init__(self, service: BlobServiceClient) -> None:
        self._service = service

    @property
    def account(self) -> str:
        name: str = self._service.account_name or "unknown"
        return name

    def list_prefixes(self, container: str, prefix: str) -> list[str]:
        client = self._service.get_container_client(container)
        try:
            return [
                item.name
                for item in client.walk_blobs(name_starts_with=prefix or None, delimiter="/")
                if isinstance(item, BlobPrefix)
            ]
        except ResourceNotFoundError:
            return []  # no flow log of that kind in this account (yet)
        except AzureError as error:
            raise SourceError(f"listing {container}/{prefix}: {_reason(error)}") from None

    def list_blobs(self, container: str, prefix: str) -> Iterator[BlobInfo]:
        client = self._service.get_container_client(container)
        try:
            for item in client.list_blobs(name_starts_with=prefix):
                yield BlobInfo(item.name, _quoted(item.etag), item.size, item.last_modified)
        except ResourceNotFoundError:
            return
        except AzureError as error:
            raise SourceError(f"listing {container}/{prefix}: {_reason(error)}") from None

    def block_list(self, container: str, name: str) -> BlockList:
        blob = self._service.get_blob_client(container, name)
        try:
            properties = blob.get_blob_properties()
            if properties.blob_type != BlobType.BLOCKBLOB:
                kind = getattr(properties.blob_type, "value", properties.blob_type)
                raise UnsupportedBlobError(
                    f"blob {container}/{name} is an {kind}, not a block blob as Network Watcher "
                    "writes: it has no committed blocks to read by, so it is not collected",
                    _quoted(properties.etag),
                )
            committed, _ = blob.get_block_list("committed")
        except AzureError as error:
            raise SourceError(f"blob {container}/{name}: {_reason(error)}") from None
        blocks = [Block(block.id, block.size) for block in committed]
        if not blocks and properties.size:
            blocks = [Block("", properties.size)]  # written in one Put Blob: no block list
        created = properties.creation_time.isoformat() if properties.creation_time else ""
        return BlockList(_quoted(properties.etag), blocks, properties.last_modified, created)

    def read(
        self, container: str, name: str, offset: int, length: int, etag: str
    ) -> bytes | bytearray:
        if length <= 0:
            raise SourceError(f"blob {container}/{name}: refusing an empty range at {offset}")
        blob = self._service.get_blob_client(container, name)
        try:
            download = blob.download_blob(
                offset=offset,
                length=length,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
            data: bytes | bytearray = b""
            filled = 0
            for chunk in download.chunks():
                if not filled and len(chunk) == length:
                    data = chunk  # one GET had it all (reads are sized so): no copy
                else:
                    data = data if isinstance(data, bytearray) else bytearray(length)
                    data[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
        except ResourceModifiedError:
            raise BlobChangedError(f"blob {container}/{name} changed since {etag}") from None
        except AzureError as error:
            raise SourceError(f"blob {container}/{name}: {_reason(error)}") from None
        if filled != length:
            raise SourceError(
                f"blob {container}/{name}: asked for {length} bytes at {offset}, got {filled}"
            )
        return data


class ContainerDeadLetters:
    """Dead letters as JSON blobs in a container of the Function's own storage account."""

    def __init__(self, service: BlobServiceClient, container: str = DEAD_LETTER_CONTAINER) -> None:
        self._client: ContainerClient = service.get_container_client(container)

    def put(self, letter: DeadLetter) -> None:
        name = letter_name(letter, datetime.now(UTC))
        with contextlib.suppress(ResourceExistsError):
            self._client.create_container()
        self._client.upload_blob(name, letter.to_json(), overwrite=True)

    def names(self) -> Iterator[str]:
        try:
            for item in self._client.list_blobs():
                yield item.name
        except ResourceNotFoundError:
            return

    def get(self, name: str) -> DeadLetter:
        return DeadLetter.from_json(self._client.download_blob(name).readall())

    def remove(self, name: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._client.delete_blob(name)


def _quoted(etag: str) -> str:
    """One spelling of an ETag: listings give it bare, blob properties in quotes."""
    return etag if etag.startswith('"') else f'"{etag}"'


def _reason(error: AzureError) -> str:
    """The first line of an SDK error: its status and code, never a header or a credential."""
    return (str(error.message or type(error).__name__)).splitlines()[0]
