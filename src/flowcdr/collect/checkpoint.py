"""Checkpoints: how far each blob has been delivered, and the blocks that got it there.

A checkpoint moves only after the gateway acknowledged every part of a block, and only if nobody
moved it since it was read (a compare-and-set on ``version``): of two collectors racing on one
blob, the loser stops, and whatever it sent the winner sent too, under the same keys. Stores:
SQLite for the standalone collector (here), Azure Table storage in the Function
(``table_checkpoints``).
"""

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from flowcdr.collect.source import Block


@dataclass(frozen=True)
class Checkpoint:
    """``offset`` bytes of the blob are delivered: exactly the blocks in ``prefix``.

    ``etag`` is set when the blob was delivered up to its tail at that version, so an unchanged
    listing entry needs no block-list call. ``version`` is the store's token for the
    compare-and-set; None for a blob never checkpointed.
    """

    offset: int = 0
    prefix: Sequence[Block] = ()
    etag: str | None = None
    version: str | None = None


class CheckpointStore(Protocol):
    def load(self, blob: str) -> Checkpoint:
        """The blob's checkpoint, or an empty one."""
        ...

    def save(self, blob: str, checkpoint: Checkpoint) -> str | None:
        """Store ``checkpoint`` if the stored one still has ``checkpoint.version``.

        Returns the new version, or None when another writer got there first.
        """
        ...


def prefix_json(prefix: Sequence[Block]) -> str:
    return json.dumps([[block.id, block.size] for block in prefix], separators=(",", ":"))


def prefix_from_json(text: str) -> tuple[Block, ...]:
    return tuple(Block(str(id), int(size)) for id, size in json.loads(text))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    blob TEXT PRIMARY KEY,
    offset INTEGER NOT NULL,
    prefix TEXT NOT NULL,
    etag TEXT,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""


class SqliteCheckpoints:
    """Checkpoints in one SQLite file (WAL), safe for several collector processes at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def load(self, blob: str) -> Checkpoint:
        row = self._db.execute(
            "SELECT offset, prefix, etag, version FROM checkpoints WHERE blob = ?", (blob,)
        ).fetchone()
        if row is None:
            return Checkpoint()
        offset, prefix, etag, version = row
        return Checkpoint(offset, prefix_from_json(prefix), etag, str(version))

    def save(self, blob: str, checkpoint: Checkpoint) -> str | None:
        values = (checkpoint.offset, prefix_json(checkpoint.prefix), checkpoint.etag)
        if checkpoint.version is None:
            done = self._db.execute(
                "INSERT INTO checkpoints (offset, prefix, etag, blob, version)"
                " VALUES (?, ?, ?, ?, 1) ON CONFLICT (blob) DO NOTHING",
                (*values, blob),
            )
            return "1" if done.rowcount == 1 else None
        version = int(checkpoint.version)
        done = self._db.execute(
            "UPDATE checkpoints SET offset = ?, prefix = ?, etag = ?, version = version + 1,"
            " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE blob = ? AND version = ?",
            (*values, blob, version),
        )
        return str(version + 1) if done.rowcount == 1 else None
