"""Which bytes of a blob are new: the block-list arithmetic of design.md section 3, pure.

Network Watcher writes ``PT1H.json`` as a block blob whose committed list only grows: a head
block ``{"records":[``, one block per write, and a tail block ``]}`` that is re-committed after
every new block. The checkpoint remembers the blocks already delivered; what follows them, up to
the tail, is new. If those remembered blocks are no longer the blob's first blocks, the blob was
rewritten and reading resumes after the blocks that are still the same.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from flowcdr.collect.source import Block

HEAD_SIZE = len(b'{"records":[')
TAIL_SIZE = len(b"]}")
# janmg's learn_encapsulation and Azure's writer: head and tail block ids start with A and Z.
HEAD_ID_START = "A"
TAIL_ID_START = "Z"


@dataclass(frozen=True)
class Span:
    """A new record block to read: its position in the list and its byte offset in the blob."""

    index: int
    block: Block
    offset: int

    @property
    def end(self) -> int:
        return self.offset + self.block.size


@dataclass(frozen=True)
class Plan:
    """The blocks to read now, in order, and what the checkpoint says about the blob."""

    spans: Sequence[Span]
    kept: int  # blocks of the checkpoint's prefix that are still the blob's first blocks
    rewritten: bool  # some remembered block is gone or changed
    caught_up: bool  # after these spans only the tail (if any) is left
    reached: int  # blocks of the list before the tail that are delivered once the spans are

    @property
    def start(self) -> int:
        return self.spans[0].offset

    @property
    def end(self) -> int:
        return self.spans[-1].end

    def reads(self, limit: int) -> list["Read"]:
        """The spans cut into consecutive ranged reads of at most ``limit`` bytes each.

        Bounded reads keep memory flat whatever the pass budget, and let the next read download
        while the blocks of the current one are shipped. A block larger than ``limit`` is a
        read of its own.
        """
        reads: list[Read] = []
        group: list[Span] = []
        for span in self.spans:
            if group and span.end - group[0].offset > limit:
                reads.append(Read(tuple(group)))
                group = []
            group.append(span)
        if group:
            reads.append(Read(tuple(group)))
        return reads


@dataclass(frozen=True)
class Read:
    """Consecutive spans fetched with one ranged read (never empty, so never a zero range)."""

    spans: Sequence[Span]

    @property
    def start(self) -> int:
        return self.spans[0].offset

    @property
    def length(self) -> int:
        return self.spans[-1].end - self.spans[0].offset


def is_head(block: Block) -> bool:
    return block.id.startswith(HEAD_ID_START) or block.size == HEAD_SIZE


def is_tail(block: Block) -> bool:
    return block.id.startswith(TAIL_ID_START) or block.size == TAIL_SIZE


def plan_reading(blocks: Sequence[Block], delivered: Sequence[Block], budget: int) -> Plan:
    """The new middle blocks of ``blocks`` after ``delivered``, at most ``budget`` bytes.

    At least one block is planned when any is new, however large, so that a block bigger than
    the budget cannot stall the blob forever. Empty spans are never planned, so no caller ever
    asks for a zero-length range.
    """
    kept = 0
    for have, had in zip(blocks, delivered, strict=False):
        if have != had:
            break
        kept += 1
    first = max(kept, 1 if blocks and is_head(blocks[0]) else 0)
    stop = len(blocks) - 1 if len(blocks) > first and is_tail(blocks[-1]) else len(blocks)
    offset = sum(block.size for block in blocks[:first])
    spans: list[Span] = []
    used = 0
    for index in range(first, stop):
        block = blocks[index]
        if spans and used + block.size > budget:
            break
        if block.size > 0:
            spans.append(Span(index, block, offset))
            used += block.size
        offset += block.size
    reached = spans[-1].index + 1 if spans else first
    caught_up = all(block.size == 0 for block in blocks[reached:stop])
    return Plan(spans, kept, kept < len(delivered), caught_up, reached)
