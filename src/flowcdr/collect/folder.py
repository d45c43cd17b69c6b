"""A local folder laid out like a storage account (``DIR/<container>/<blob name>``) as a source.

For demos and offline use: point ``flowcdr collect --folder`` at a downloaded copy of the
containers. A file has no block list, so one is derived from its content the way Azure's writer
lays blocks out: the head up to the first record, one block per record (with its leading comma),
and the tail. Record block ids are content hashes, so a file that grows by re-download keeps its
prefix, and one that was edited is seen as rewritten.
"""

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from flowcdr.collect.errors import BlobChangedError, SourceError
from flowcdr.collect.fragment import Envelope
from flowcdr.collect.plan import HEAD_ID_START, TAIL_ID_START
from flowcdr.collect.source import BlobInfo, Block, BlockList

_HEAD_ID = HEAD_ID_START + "0" * 32
_TAIL_ID = TAIL_ID_START + "0" * 32


class FolderSource:
    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SourceError(f"folder {str(root)!r} does not exist or is not a directory")
        self.root = root.resolve()

    @property
    def account(self) -> str:
        return f"folder:{self.root}"

    def list_prefixes(self, container: str, prefix: str) -> list[str]:
        folder = self.root / container / prefix
        if not folder.is_dir():
            return []
        return sorted(f"{prefix}{entry.name}/" for entry in os.scandir(folder) if entry.is_dir())

    def list_blobs(self, container: str, prefix: str) -> Iterator[BlobInfo]:
        base = self.root / container
        start = base / prefix.rsplit("/", 1)[0] if "/" in prefix else base
        if not start.is_dir():
            return
        for path in sorted(start.rglob("*")):
            name = path.relative_to(base).as_posix()
            if path.is_file() and name.startswith(prefix):
                stat = path.stat()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                yield BlobInfo(name, _etag(stat), stat.st_size, modified)

    def block_list(self, container: str, name: str) -> BlockList:
        path = self._path(container, name)
        stat = path.stat()
        data = path.read_bytes()
        if _etag(path.stat()) != _etag(stat):
            raise BlobChangedError(f"file {str(path)!r} changed while being read")
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        return BlockList(_etag(stat), _blocks(data, path), modified)

    def read(self, container: str, name: str, offset: int, length: int, etag: str) -> bytes:
        path = self._path(container, name)
        with path.open("rb") as file:
            if _etag(os.fstat(file.fileno())) != etag:
                raise BlobChangedError(f"file {str(path)!r} changed since it was listed")
            file.seek(offset)
            data = file.read(length)
        if len(data) != length:
            raise SourceError(f"file {str(path)!r}: asked for {length} bytes at {offset}")
        return data

    def _path(self, container: str, name: str) -> Path:
        path = self.root / container / name
        if not path.is_file():
            raise SourceError(f"file {str(path)!r} does not exist")
        return path


def _etag(stat: os.stat_result) -> str:
    return f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


def _blocks(data: bytes, path: Path) -> list[Block]:
    """Head, one block per record (comma first, as Azure writes them), tail."""
    try:
        records = msgspec.json.decode(data, type=Envelope).records
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise SourceError(f"file {str(path)!r} is not a whole flow-log document: {error}") from None
    if not records:
        return []
    blocks = [Block(_HEAD_ID, data.find(bytes(records[0])))]
    end = blocks[0].size
    for raw in records:
        text = bytes(raw)
        stop = data.find(text, end) + len(text)
        chunk = data[end:stop]
        blocks.append(Block("R" + hashlib.sha256(chunk).hexdigest()[:32], len(chunk)))
        end = stop
    blocks.append(Block(_TAIL_ID, len(data) - end))
    return blocks
