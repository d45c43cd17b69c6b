"""Dead letters: batches the gateway refused (a 4xx other than 401, 403 and 413).

A refused batch would be refused again, so retrying it would stall its blob forever (the poison
loop of the Microsoft connector). It is written down with its idempotency key and the checkpoint
moves on; ``flowcdr collect --replay-dead-letters`` resends it later with the same key, so a
letter that was in fact stored is not stored twice. Letters live in a folder for the standalone
collector and in a blob container for the Function (``azure_blob.ContainerDeadLetters``).
"""

import base64
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

DEAD_LETTER_CONTAINER = "flowlog-deadletter"


@dataclass(frozen=True)
class DeadLetter:
    """A refused batch: where it came from, why it was refused, and its gzip body."""

    key: str
    source: str
    block_id: str
    offset: int
    size: int
    part: str
    status: int
    reason: str
    attempts: int
    payload: bytes

    def to_json(self) -> bytes:
        fields = asdict(self)
        fields["payload"] = base64.b64encode(self.payload).decode()
        return json.dumps(fields, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "DeadLetter":
        fields = json.loads(data)
        fields["payload"] = base64.b64decode(fields["payload"])
        return cls(**fields)


def letter_name(letter: DeadLetter, now: datetime) -> str:
    """``yyyy/mm/dd/<key>.json``: by day for browsing, by key so a letter is written once."""
    return f"{now:%Y/%m/%d}/{letter.key}.json"


class DeadLetterStore(Protocol):
    def put(self, letter: DeadLetter) -> None: ...

    def names(self) -> Iterator[str]: ...

    def get(self, name: str) -> DeadLetter: ...

    def remove(self, name: str) -> None: ...


class FolderDeadLetters:
    """Dead letters as JSON files below a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, letter: DeadLetter) -> None:
        path = self.root / letter_name(letter, datetime.now(UTC))
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(letter.to_json())
        temporary.replace(path)

    def names(self) -> Iterator[str]:
        if self.root.is_dir():
            for path in sorted(self.root.rglob("*.json")):
                yield path.relative_to(self.root).as_posix()

    def get(self, name: str) -> DeadLetter:
        return DeadLetter.from_json((self.root / name).read_bytes())

    def remove(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)
