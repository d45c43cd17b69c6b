"""Checkpoints: how far each blob has been delivered, and the blocks that got it there.

A checkpoint moves only after the gateway acknowledged every part of a block, and only if nobody
moved it since it was read (a compare-and-set on ``version``): of two collectors racing on one
blob, the loser stops, and whatever it sent the winner sent too, under the same keys. Stores:
SQLite for the standalone collector (here), Azure Table storage in the Function
(``table_checkpoints``).

Checkpoints of blobs whose hour has left the discovery horizon are pruned (``prune``), so the
store holds a few hours of blobs rather than every blob ever read. A blob's hour is in its name;
a checkpoint written in the last hour is kept whatever its hour, and so is one whose name has no
hour. Forgetting one costs nothing but replays if a backfill reads its blob again: the gateway
keeps the keys.
"""

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from flowcdr.collect.discovery import parse_path
from flowcdr.collect.source import Block


@dataclass(frozen=True)
class Checkpoint:
    """``offset`` bytes of the blob are delivered: exactly the blocks in ``prefix``.

    ``etag`` is set when the blob was delivered up to its tail at that version, so an unchanged
    listing entry needs no block-list call. ``version`` is the store's token for the
    compare-and-set; None for a blob never checkpointed. ``created`` is the creation time of the
    blob these blocks were read from (None if not known): a blob of the same name created at
    another time is another blob, read from its start.
    """

    offset: int = 0
    prefix: Sequence[Block] = ()
    etag: str | None = None
    version: str | None = None
    created: str | None = None


class CheckpointStore(Protocol):
    def load(self, blob: str) -> Checkpoint:
        """The blob's checkpoint, or an empty one."""
        ...

    def save(self, blob: str, checkpoint: Checkpoint) -> str | None:
        """Store ``checkpoint`` if the stored one still has ``checkpoint.version``.

        Returns the new version, or None when another writer got there first.
        """
        ...

    def prune(self, before: datetime, idle_since: datetime) -> int:
        """Forget checkpoints of blobs of hours before ``before`` not saved since ``idle_since``.

        Returns how many were forgotten. One saved meanwhile by another collector is kept.
        """
        ...


def expired(blob: str, before: datetime) -> bool:
    """Whether the blob's hour, from its name, is before ``before`` (an undated name never is)."""
    path = parse_path(blob)
    return path is not None and path.hour < before


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
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created TEXT
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
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(checkpoints)")}
        if "created" not in columns:  # a state file from before blobs' creation times were kept
            self._db.execute("ALTER TABLE checkpoints ADD COLUMN created TEXT")

    def close(self) -> None:
        self._db.close()

    def load(self, blob: str) -> Checkpoint:
        row = self._db.execute(
            "SELECT offset, prefix, etag, version, created FROM checkpoints WHERE blob = ?",
            (blob,),
        ).fetchone()
        if row is None:
            return Checkpoint()
        offset, prefix, etag, version, created = row
        return Checkpoint(offset, prefix_from_json(prefix), etag, str(version), created)

    def save(self, blob: str, checkpoint: Checkpoint) -> str | None:
        values = (
            checkpoint.offset,
            prefix_json(checkpoint.prefix),
            checkpoint.etag,
            checkpoint.created,
        )
        if checkpoint.version is None:
            done = self._db.execute(
                "INSERT INTO checkpoints (offset, prefix, etag, created, blob, version)"
                " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (blob) DO NOTHING",
                (*values, blob),
            )
            return "1" if done.rowcount == 1 else None
        version = int(checkpoint.version)
        done = self._db.execute(
            "UPDATE checkpoints SET offset = ?, prefix = ?, etag = ?, created = ?,"
            " version = version + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
            " WHERE blob = ? AND version = ?",
            (*values, blob, version),
        )
        return str(version + 1) if done.rowcount == 1 else None

    def prune(self, before: datetime, idle_since: datetime) -> int:
        # updated_at's form (milliseconds, Z), so that the two compare as text
        idle = idle_since.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
        rows = self._db.execute(
            "SELECT blob, version FROM checkpoints WHERE updated_at < ?", (idle,)
        ).fetchall()
        pruned = 0
        for blob, version in rows:
            if expired(blob, before):
                done = self._db.execute(
                    "DELETE FROM checkpoints WHERE blob = ? AND version = ?", (blob, version)
                )
                pruned += done.rowcount
        return pruned
