"""Where flow-log blobs come from: the ``BlobSource`` protocol and what it returns.

The collector only needs five operations from a storage account, so Azure Blob Storage, a local
folder laid out like a container and the in-memory source of the unit tests all look the same to
it. Every one of them describes a blob as its committed *block list*: offsets from a listing's
content length can land mid-record, block boundaries never do.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

NSG_CONTAINER = "insights-logs-networksecuritygroupflowevent"
VNET_CONTAINER = "insights-logs-flowlogflowevent"
FLOW_LOG_CONTAINERS = (NSG_CONTAINER, VNET_CONTAINER)


@dataclass(frozen=True)
class BlobInfo:
    """A blob as a listing shows it: enough to tell whether it changed since the checkpoint."""

    name: str
    etag: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class Block:
    """One committed block: its id as the writer chose it, and its length in bytes."""

    id: str
    size: int


@dataclass(frozen=True)
class BlockList:
    """The committed blocks of a blob and the ETag of the version they describe.

    ``created`` is the blob's creation time, where the source keeps one: every commit changes
    the ETag, but only deleting the blob and writing it again changes this.
    """

    etag: str
    blocks: Sequence[Block]
    last_modified: datetime
    created: str = ""


class BlobSource(Protocol):
    """A storage account (or a stand-in for one) holding flow-log containers."""

    @property
    def account(self) -> str:
        """The account name; part of every idempotency key, so it must be stable."""
        ...

    def list_prefixes(self, container: str, prefix: str) -> list[str]:
        """The "folders" directly below ``prefix`` (each ending with ``/``)."""
        ...

    def list_blobs(self, container: str, prefix: str) -> Iterator[BlobInfo]:
        """Every blob whose name starts with ``prefix``."""
        ...

    def block_list(self, container: str, name: str) -> BlockList:
        """The committed block list; raises ``SourceError`` if the blob is gone, and
        ``UnsupportedBlobError`` if it is not a block blob."""
        ...

    def read(
        self, container: str, name: str, offset: int, length: int, etag: str
    ) -> bytes | bytearray:
        """``length`` (> 0) bytes from ``offset`` of the version ``etag``.

        Raises ``BlobChangedError`` when the blob is no longer that version.
        """
        ...
