"""The ingest journal: each admitted batch as one Arrow IPC stream file, durable before it is
acknowledged.

DuckDB writes columnar row groups; a commit of a collector-sized batch (about 100,000 flows)
leaves partial row groups and costs twice the CPU per row of a commit of a million. So the
gateway acknowledges a batch once it is in the journal (written, fsynced, renamed into place)
and the flow store merges journaled batches into DuckDB in large transactions that also record
their idempotency keys. A crash between the two loses nothing: at start-up every journal file
whose key DuckDB does not have yet is merged again, and one whose key it has is removed.

A file is written under a temporary name and renamed only once complete, so a file with the
journal's suffix is never torn; temporary files left by a crash were never acknowledged and are
deleted.
"""

import itertools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

SUFFIX = ".arrow"
_PARTIAL = ".partial"


@dataclass(frozen=True)
class Entry:
    """A journaled batch: its place in arrival order, its file, its rows and their metadata.

    The table is memory-mapped from the file, so batches waiting to be merged live in the page
    cache rather than in the gateway's heap.
    """

    seq: int
    path: Path
    table: pa.Table
    metadata: dict[str, str]


class Journal:
    """A directory of journaled batches, named by a sequence number that only grows."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._directory = directory
        for partial in directory.glob(f"*{_PARTIAL}"):
            partial.unlink()
        last = max((int(p.stem) for p in self._files()), default=0)
        self._seq = itertools.count(last + 1)
        self._seq_lock = threading.Lock()

    def write(self, table: pa.Table, metadata: dict[str, str]) -> Entry:
        """Write a batch durably; thread-safe, and concurrent writes do not wait on each other."""
        with self._seq_lock:
            seq = next(self._seq)
        path = self._directory / f"{seq:016d}{SUFFIX}"
        partial = path.with_suffix(_PARTIAL)
        schema = table.schema.with_metadata(metadata)
        try:
            with partial.open("wb") as sink:
                # The stream format, as a parse's chunks each carry their own dictionaries.
                with pa.ipc.new_stream(sink, schema) as writer:
                    writer.write_table(table.replace_schema_metadata(metadata))
                sink.flush()
                os.fsync(sink.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)  # a disk that filled up keeps no half-written batch
            raise
        partial.rename(path)
        _fsync_directory(self._directory)
        return _read(seq, path)

    def entries(self) -> list[Entry]:
        """Every journaled batch, oldest first (what a restart has to merge or discard)."""
        return [_read(int(path.stem), path) for path in sorted(self._files())]

    def remove(self, entry: Entry) -> None:
        """Forget a batch once DuckDB has committed it (a mapped table stays readable)."""
        entry.path.unlink(missing_ok=True)

    def _files(self) -> list[Path]:
        return [p for p in self._directory.glob(f"*{SUFFIX}") if p.stem.isdigit()]


def _read(seq: int, path: Path) -> Entry:
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_stream(source).read_all()
    raw = table.schema.metadata or {}
    metadata = {k.decode(): v.decode() for k, v in raw.items()}
    return Entry(seq, path, table.replace_schema_metadata(None), metadata)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable: without it a crash may forget the file's new name."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
