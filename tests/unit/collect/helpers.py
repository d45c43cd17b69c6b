"""Blocks as Azure's writer commits them, and a gateway stand-in that remembers what it took."""

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from flowcdr.collect.ship import Delivery, Outcome

HEAD = ("A" + "0" * 32, b'{"records":[')
TAIL = ("Z" + "0" * 32, b"]}")
NAME = (
    "resourceId=/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000001/RESOURCEGROUPS/RG/PROVIDERS/"
    "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1/y=2026/m=11/d=27/h=22/m=00/"
    "macAddress=000D3AF87856/PT1H.json"
)


def record(number: int) -> dict[str, object]:
    return {"time": f"2026-11-27T22:{number % 60:02d}:00Z", "n": number}


def record_block(number: int, *numbers: int) -> tuple[str, bytes]:
    """Block ``number`` with the given records; every block but the first starts with a comma."""
    text = ",".join(json.dumps(record(n)) for n in numbers)
    return (f"B{number:032d}", (b"," if number > 1 else b"") + text.encode())


def layout(*blocks: tuple[str, bytes]) -> list[tuple[str, bytes]]:
    return [HEAD, *blocks, TAIL]


@dataclass
class FakeGateway:
    """Answers from a script (default 202); records accepted keys and their record numbers."""

    script: list[int] = field(default_factory=list)
    stored: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)

    def send(self, body: bytes, key: str, source: str) -> Delivery:
        self.sent.append(key)
        status = self.script.pop(0) if self.script else 202
        if status == 413:
            return Delivery(Outcome.TOO_LARGE, status, "too large", 1)
        if status >= 400:
            return Delivery(Outcome.REJECTED, status, "refused", 1)
        replay = key in self.stored
        self.stored.setdefault(key, json.loads(gzip.decompress(body))["records"])
        return Delivery(Outcome.ACCEPTED, 200 if replay else 202, "", 1)

    def records(self) -> list[dict[str, Any]]:
        return [record for records in self.stored.values() for record in records]

    def numbers(self) -> list[int]:
        return sorted(record["n"] for record in self.records())
