"""Where blobs go, written the way Azure grows them: a block list with a head and a tail.

Azure's flow-log writer keeps each hourly blob valid JSON at every commit: block 0 is
``{"records":[``, the last block is ``]}``, and each append stages one record block (with a
leading comma after the first) and re-commits the list with it just before the tail. Every sink
here takes the same call, ``append(container, blob, records)``: the live mode calls it once per
record, the batch mode once per finished blob, and the result has the same shape either way.
"""

from pathlib import Path
from typing import Protocol

HEAD = b'{"records":['
TAIL = b"]}"


class BlobSink(Protocol):
    def append(self, container: str, blob: str, records: list[bytes]) -> None:
        """Append ``records`` to the blob (started afresh if new to this sink); tail last."""

    def finish(self, container: str, blob: str) -> None:
        """The blob's hour is over: it gets no more records; forget what is kept for it."""

    def close(self) -> None:
        """Release what the sink holds (connections)."""


def record_blocks(records: list[bytes], first: bool) -> list[bytes]:
    """The blocks of ``records``: each after the blob's first record starts with a comma."""
    return [record if first and i == 0 else b"," + record for i, record in enumerate(records)]


class FolderSink:
    """Blobs as files under ``root/<container>/<blob name>``, as a container downloads.

    An append overwrites the two tail bytes with the new blocks and the tail, so the file is
    valid JSON again as soon as the write returns. A file first touched by this sink is started
    afresh, so a second run into the same folder replaces blobs instead of growing them.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._started: set[Path] = set()

    def append(self, container: str, blob: str, records: list[bytes]) -> None:
        path = self.root / container / blob
        if path in self._started:
            with path.open("r+b") as out:
                out.seek(-len(TAIL), 2)
                out.write(b"".join(record_blocks(records, first=False)) + TAIL)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(HEAD + b"".join(record_blocks(records, first=True)) + TAIL)
            self._started.add(path)

    def finish(self, container: str, blob: str) -> None:
        self._started.discard(self.root / container / blob)

    def close(self) -> None:
        """Files are closed after each append: nothing to release."""


class MemorySink:
    """Committed block lists in memory: what a test inspects after each commit."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], list[bytes]] = {}
        self.finished: set[tuple[str, str]] = set()
        self.commits = 0

    def append(self, container: str, blob: str, records: list[bytes]) -> None:
        if (container, blob) in self.finished:
            raise AssertionError(f"append to the finished blob {blob!r}")
        blocks = self.blobs.get((container, blob))
        if blocks is None:
            self.blobs[(container, blob)] = [HEAD, *record_blocks(records, first=True), TAIL]
        else:
            blocks[-1:] = [*record_blocks(records, first=False), TAIL]
        self.commits += 1

    def finish(self, container: str, blob: str) -> None:
        self.finished.add((container, blob))

    def content(self, container: str, blob: str) -> bytes:
        return b"".join(self.blobs[(container, blob)])

    def close(self) -> None:
        """Nothing to release: the blobs stay for the test to read."""
