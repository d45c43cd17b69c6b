"""Idempotency keys: the same data always gets the same key.

A key names a part of a committed block by what never changes once the block is committed: the
account, container and blob (and the blob's creation time), the block's id, offset and size, and
the part's label ("2", or "2.1" after a 413 split). Retries, concurrent triggers and re-reads
after a lost checkpoint therefore send the same key, and the gateway stores the part once.
Byte-range keys would not: two workers reading [12, 183) and [12, 355) would name the same
records differently.
"""

import hashlib

# Bumped if the key's inputs ever change, so old and new keys cannot collide by accident.
KEY_VERSION = "fc1"


def blob_key(account: str, container: str, name: str) -> str:
    """The blob's full name: the checkpoint row and the first input of every part key."""
    return f"{account}/{container}/{name}"


def part_key(  # noqa: PLR0917 (the key's inputs, named in the order they are hashed)
    blob: str, block_id: str, offset: int, size: int, label: str, created: str = ""
) -> str:
    """``created`` is the blob's creation time where the source has one (Azure): a blob deleted
    and written again under the same name, with the same predictable block ids and sizes, is
    other data, and must not be taken for a replay of the first one."""
    text = f"{blob}|{block_id}|{offset}|{size}|{label}" + (f"|{created}" if created else "")
    return f"{KEY_VERSION}-{hashlib.sha256(text.encode()).hexdigest()}"
