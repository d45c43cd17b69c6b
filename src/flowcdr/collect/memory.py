"""An in-memory ``BlobSource`` that commits block lists the way Azure does, for tests and demos.

Each ``commit`` replaces the committed list and gives the blob a new ETag; a read names the ETag
it expects and fails with ``BlobChangedError`` otherwise, exactly like a conditional ranged
download. Listing by prefix and by "folder" follows Azure's delimiter semantics.
"""

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from flowcdr.collect.errors import BlobChangedError, SourceError
from flowcdr.collect.source import BlobInfo, Block, BlockList


class MemorySource:
    """Blobs as lists of ``(block id, bytes)`` per container."""

    def __init__(self, account: str = "memory") -> None:
        self._account = account
        self._blobs: dict[tuple[str, str], tuple[str, list[tuple[str, bytes]], datetime]] = {}
        self._created: dict[tuple[str, str], str] = {}
        self._etags = itertools.count(1)
        self._creations = itertools.count(1)

    @property
    def account(self) -> str:
        return self._account

    def commit(self, container: str, name: str, blocks: Sequence[tuple[str, bytes]]) -> str:
        """Replace the committed block list of a blob (creating it); returns the new ETag."""
        etag = f'"0x{next(self._etags):08X}"'
        if (container, name) not in self._blobs:
            self._created[container, name] = f"creation-{next(self._creations)}"
        self._blobs[container, name] = (etag, list(blocks), datetime.now(UTC))
        return etag

    def delete(self, container: str, name: str) -> None:
        del self._blobs[container, name]

    def list_prefixes(self, container: str, prefix: str) -> list[str]:
        found = {
            prefix + name[len(prefix) :].split("/", 1)[0] + "/"
            for (held, name) in self._blobs
            if held == container and name.startswith(prefix) and "/" in name[len(prefix) :]
        }
        return sorted(found)

    def list_blobs(self, container: str, prefix: str) -> Iterator[BlobInfo]:
        for (held, name), (etag, blocks, modified) in sorted(self._blobs.items()):
            if held == container and name.startswith(prefix):
                yield BlobInfo(name, etag, sum(len(data) for _, data in blocks), modified)

    def block_list(self, container: str, name: str) -> BlockList:
        etag, blocks, modified = self._get(container, name)
        created = self._created[container, name]
        return BlockList(etag, [Block(id, len(data)) for id, data in blocks], modified, created)

    def read(self, container: str, name: str, offset: int, length: int, etag: str) -> bytes:
        current, blocks, _ = self._get(container, name)
        if current != etag:
            raise BlobChangedError(f"blob {container}/{name} changed: {etag} is now {current}")
        data = b"".join(data for _, data in blocks)
        if length <= 0 or offset + length > len(data):
            raise SourceError(f"blob {container}/{name}: range {offset}+{length} out of bounds")
        return data[offset : offset + length]

    def _get(self, container: str, name: str) -> tuple[str, list[tuple[str, bytes]], datetime]:
        try:
            return self._blobs[container, name]
        except KeyError:
            raise SourceError(f"blob {container}/{name} does not exist") from None
