"""Cutting the bytes of one block into the batches shipped to the gateway.

A record block is a comma-led run of whole records (``,{...},{...}``); the first record block has
no comma. A block that fits one part (nearly all: Azure commits one block a minute) is shipped as
it is, wrapped into a document, without being parsed here: the gateway parses it anyway, and
refuses one that is not JSON (then it is dead-lettered like any refused part). Only its record
boundaries are checked, so a block cut mid-record never leaves. A larger block is split at
records found with msgspec's raw decoding, so their bytes are shipped exactly as Azure wrote
them. The cut into parts depends only on the block's bytes and ``PART_BYTES``: the same block
always gives the same parts, which is what makes the idempotency keys stable.
"""

import re
from collections.abc import Iterator, Sequence

import msgspec

from flowcdr.collect.errors import CollectError

# Uncompressed bytes per part. A constant, not a setting: collectors that cut differently would
# give the same records different keys.
PART_BYTES = 4 << 20
_ENVELOPE = re.compile(rb'\s*\{\s*"records"\s*:')
_BLANK = b" \t\r\n"
_LEAD = _BLANK + b"\xef\xbb\xbf"


class Envelope(msgspec.Struct):
    records: list[msgspec.Raw]


class FragmentError(CollectError):
    """A block that is not a run of JSON records; it is dead-lettered, never retried."""


def block_document(chunk: bytes, source: str) -> bytes | None:
    """The block as one flow-log document when it fits one part, else None (cut it in parts).

    Fitting means what ``cut_parts(block_records(chunk))`` would give as its single part "0",
    so the part keeps the key it has either way.
    """
    body = _records_text(chunk)
    if len(body) + 1 > PART_BYTES:
        return None
    if _ENVELOPE.match(body):
        return body
    if not (body.lstrip(_LEAD).startswith(b"{") and body.rstrip(_BLANK).endswith(b"}")):
        raise FragmentError(f"{source}: block is not a run of JSON records (its ends)")
    return b'{"records":[' + body + b"]}"


def _records_text(chunk: bytes) -> bytes:
    """The block without leading blanks and the comma that joins it to the block before."""
    body = chunk.lstrip(_LEAD)
    return body[1:] if body.startswith(b",") else body


def block_records(chunk: bytes, source: str) -> list[bytes]:
    """The records of one block, as the bytes Azure wrote.

    A block holding a whole ``{"records":[...]}`` document (a blob uploaded in one piece, whose
    head and tail are not separate blocks) gives that document's records.
    """
    body = _records_text(chunk)
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
