"""Cutting the bytes of one block into the batches shipped to the gateway.

A record block is a comma-led run of whole records (``,{...},{...}``); the first record block has
no comma. Records are found with msgspec's raw decoding, so their bytes are shipped exactly as
Azure wrote them and a block that is not JSON is caught here, before any request. The cut into
parts depends only on the block's bytes and ``PART_BYTES``: the same block always gives the same
parts, which is what makes the idempotency keys stable.
"""

import re
from collections.abc import Iterator, Sequence

import msgspec

from flowcdr.collect.errors import CollectError

# Uncompressed bytes per part. A constant, not a setting: collectors that cut differently would
# give the same records different keys.
PART_BYTES = 4 << 20
_ENVELOPE = re.compile(rb'\s*\{\s*"records"\s*:')
_LEAD = b" \t\r\n\xef\xbb\xbf"


class Envelope(msgspec.Struct):
    records: list[msgspec.Raw]


class FragmentError(CollectError):
    """A block that is not a run of JSON records; it is dead-lettered, never retried."""


def block_records(chunk: bytes, source: str) -> list[bytes]:
    """The records of one block, as the bytes Azure wrote.

    A block holding a whole ``{"records":[...]}`` document (a blob uploaded in one piece, whose
    head and tail are not separate blocks) gives that document's records.
    """
    body = chunk.lstrip(_LEAD)
    if body.startswith(b","):
        body = body[1:]
    try:
        if _ENVELOPE.match(body):
            return [bytes(raw) for raw in msgspec.json.decode(body, type=Envelope).records]
        return [
            bytes(raw) for raw in msgspec.json.decode(b"[" + body + b"]", type=list[msgspec.Raw])
        ]
    except msgspec.DecodeError as error:
        raise FragmentError(f"{source}: block is not a run of JSON records: {error}") from None


def cut_parts(records: Sequence[bytes], limit: int = PART_BYTES) -> Iterator[list[bytes]]:
    """Consecutive runs of records, each under ``limit`` bytes unless one record alone is over."""
    part: list[bytes] = []
    size = 0
    for record in records:
        if part and size + len(record) + 1 > limit:
            yield part
            part, size = [], 0
        part.append(record)
        size += len(record) + 1
    if part:
        yield part


def envelope(records: Sequence[bytes]) -> bytes:
    """Records as a whole flow-log document, the form the gateway parses fastest."""
    return b'{"records":[' + b",".join(records) + b"]}"
