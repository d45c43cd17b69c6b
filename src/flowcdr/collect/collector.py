"""One collection pass: every changed flow-log blob read from its checkpoint and shipped once.

The same ``collect_blob`` serves the standalone poller (``flowcdr collect``), the Function's
timer and its Event Grid trigger: read the committed block list, verify the checkpoint's prefix,
download the new middle blocks in one ranged read conditioned on the ETag, ship each block's
parts, and advance the checkpoint block by block. Bytes read per pass are bounded, so a backlog
is worked off over several passes instead of exhausting memory or a Function timeout.
"""

import logging
import threading
from collections import deque
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flowcdr.collect.checkpoint import Checkpoint, CheckpointStore
from flowcdr.collect.deadletter import DeadLetter, DeadLetterStore
from flowcdr.collect.discovery import Discovery, hours_to_read
from flowcdr.collect.errors import BlobChangedError, SourceError
from flowcdr.collect.fragment import (
    FragmentError,
    block_document,
    block_records,
    cut_parts,
    envelope,
)
from flowcdr.collect.keys import blob_key, part_key
from flowcdr.collect.plan import Plan, Read, Span, plan_reading
from flowcdr.collect.ship import Delivery, Gateway, Outcome, gzip_body
from flowcdr.collect.source import (
    FLOW_LOG_CONTAINERS,
    BlobInfo,
    BlobSource,
    Block,
    BlockList,
)

log = logging.getLogger(__name__)

PASS_BYTES = 32 << 20  # in a Function: well inside its timeout
# The standalone collector's pass: reads are bounded by READ_BYTES whatever the pass, so a pass
# only sets how often a backlog is interrupted to list the hours again.
STANDALONE_PASS_BYTES = 256 << 20
# One ranged read. At most two are held: one being shipped, the next downloading meanwhile.
READ_BYTES = 8 << 20
READ_ATTEMPTS = 3  # the blob may move on between block list and read; then list again
# Blocks shipped at once: gzip and the socket release the GIL, and a remote gateway's round trip
# would otherwise idle the collector.
WORKERS = 8


@dataclass
class Metrics:
    """Counters since the collector started; ``lag_seconds`` per container, from the last pass."""

    passes: int = 0
    blobs_seen: int = 0
    bytes_read: int = 0
    blocks_delivered: int = 0
    batches_sent: int = 0
    retries: int = 0
    dead_letters: int = 0
    rewritten_blobs: int = 0
    lost_races: int = 0
    source_errors: int = 0  # listings and blobs that could not be read
    lag_seconds: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        lag = ", ".join(
            f"{c.removeprefix('insights-logs-')} {s:.0f}s" for c, s in self.lag_seconds.items()
        )
        return (
            f"passes {self.passes}, blobs seen {self.blobs_seen}, read {self.bytes_read} B, "
            f"blocks {self.blocks_delivered}, batches {self.batches_sent}, retries {self.retries}, "
            f"dead letters {self.dead_letters}, rewritten {self.rewritten_blobs}; lag {lag or '-'}"
        )


@dataclass(frozen=True)
class PassResult:
    bytes_read: int
    behind: bool  # some blob has more to read (the budget ran out): run the next pass now


class Collector:
    """Reads flow-log blobs of one ``source`` and ships them through ``gateway``."""

    def __init__(
        self,
        source: BlobSource,
        checkpoints: CheckpointStore,
        gateway: Gateway,
        dead_letters: DeadLetterStore,
        *,
        containers: Sequence[str] = FLOW_LOG_CONTAINERS,
        pass_bytes: int = PASS_BYTES,
        stop: threading.Event | None = None,
        discovery: Discovery | None = None,
        workers: int = WORKERS,
        read_bytes: int = READ_BYTES,
    ) -> None:
        self.source = source
        self.metrics = Metrics()
        self._checkpoints = checkpoints
        self._gateway = gateway
        self._dead_letters = dead_letters
        self._containers = containers
        self._pass_bytes = pass_bytes
        self._read_bytes = read_bytes
        self._stop = stop or threading.Event()
        self._discovery = discovery or Discovery(source)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="flowcdr-ship")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="flowcdr-read")
        self._window = 2 * workers
        self._lock = threading.Lock()

    def close(self) -> None:
        """Stop the shipping and reading threads (after the blocks in flight)."""
        self._pool.shutdown(cancel_futures=True)
        self._reader.shutdown(cancel_futures=True)

    def __enter__(self) -> "Collector":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run_pass(self, now: datetime | None = None, backfill_hours: int = 0) -> PassResult:
        """Collect the current and previous hour (and ``backfill_hours`` more) of each container."""
        now = now or datetime.now(UTC)
        hours = hours_to_read(now, backfill_hours)
        budget = self._pass_bytes
        behind = False
        for container in self._containers:
            try:
                budget, late = self._collect_container(container, hours, now, budget)
            except SourceError as error:  # the account is unreachable: end the pass, retry next
                self.metrics.source_errors += 1
                log.warning("listing %s failed, ending the pass: %s", container, error)
                break
            behind = behind or late
            if budget <= 0:
                break  # the next pass lists the rest (its lag is from the last pass meanwhile)
        self.metrics.passes += 1
        return PassResult(self._pass_bytes - budget, behind)

    def _collect_container(
        self, container: str, hours: list[datetime], now: datetime, budget: int
    ) -> tuple[int, bool]:
        """Collect the container's blobs of ``hours``; returns the budget left and if any lags.

        Listing stops where the budget runs out: a backlog of many blobs would otherwise be
        listed whole on every pass, to read one or two of them. The oldest hours come first, so
        the blobs listed are the ones that lag most.
        """
        lag = 0.0
        behind = False
        for blob in self._discovery.blobs(container, hours):
            self.metrics.blobs_seen += 1
            if not self._stop.is_set():
                budget -= self.collect_blob(container, blob.name, budget, seen=blob)
            if self._behind(container, blob):
                behind = True
                lag = max(lag, (now - blob.last_modified).total_seconds())
            if budget <= 0:
                behind = True
                break
        self.metrics.lag_seconds[container] = lag
        return budget, behind

    def collect_blob(
        self, container: str, name: str, budget: int = PASS_BYTES, *, seen: BlobInfo | None = None
    ) -> int:
        """Deliver a blob's new blocks (at most about ``budget`` bytes); returns bytes read.

        ``seen`` is the listing entry, if any: an unchanged ETag at a caught-up checkpoint costs
        no call at all. A blob that is gone or unreadable is logged and skipped.
        """
        blob = blob_key(self.source.account, container, name)
        checkpoint = self._checkpoints.load(blob)
        if seen is not None and checkpoint.etag == seen.etag:
            return 0
        try:
            return self._collect(container, name, blob, checkpoint, budget)
        except SourceError as error:
            self.metrics.source_errors += 1
            log.warning("skipping %s: %s", blob, error)
            return 0

    def _collect(
        self, container: str, name: str, blob: str, checkpoint: Checkpoint, budget: int
    ) -> int:
        for _ in range(READ_ATTEMPTS):
            listing = self.source.block_list(container, name)
            plan = plan_reading(listing.blocks, checkpoint.prefix, budget)
            if plan.rewritten:
                self.metrics.rewritten_blobs += 1
                log.warning(
                    "%s was rewritten: %d of %d delivered blocks unchanged; reading on from there",
                    blob,
                    plan.kept,
                    len(checkpoint.prefix),
                )
            if not plan.spans:
                if plan.caught_up and checkpoint.etag != listing.etag:
                    self._save_caught_up(
                        blob, checkpoint, listing.blocks[: plan.reached], listing.etag
                    )
                return 0
            reads = plan.reads(self._read_bytes)
            try:
                first = self._read(container, name, reads[0], listing.etag)
            except BlobChangedError:
                checkpoint = self._checkpoints.load(blob)
                continue
            break
        else:
            log.info("%s kept changing while being read; next pass", blob)
            return 0
        failure: list[SourceError] = []
        chunks = self._chunks(
            container, name, etag=listing.etag, reads=reads, first=first, failure=failure
        )
        read = self._deliver_in_order(blob, plan, listing, chunks, checkpoint.version)
        if failure and not isinstance(failure[0], BlobChangedError):
            raise failure[0]  # gone or unreadable after some blocks: those are checkpointed
        return read

    def _read(self, container: str, name: str, read: Read, etag: str) -> bytes | bytearray:
        return self.source.read(container, name, read.start, read.length, etag)

    def _chunks(
        self,
        container: str,
        name: str,
        *,
        etag: str,
        reads: Sequence[Read],
        first: bytes | bytearray,
        failure: list[SourceError],
    ) -> Generator[tuple[Span, bytes]]:
        """Each planned block's bytes, in order; the next read downloads while these ship.

        A later read that fails ends the blocks early with the error put in ``failure``: the
        blocks before it are still delivered and checkpointed. A blob that moved on (412) is
        simply read on by the next pass.
        """
        data = first
        following: Future[bytes | bytearray] | None = None
        try:
            for number, read in enumerate(reads):
                self.metrics.bytes_read += len(data)
                if number + 1 < len(reads):
                    following = self._reader.submit(
                        self._read, container, name, reads[number + 1], etag
                    )
                for span in read.spans:
                    yield span, bytes(data[span.offset - read.start : span.end - read.start])
                if following is None:
                    return
                try:
                    data = following.result()
                except SourceError as error:
                    log.info(
                        "%s: reading on stopped at %d: %s", name, reads[number + 1].start, error
                    )
                    failure.append(error)
                    return
                finally:
                    following = None
        finally:
            if following is not None:
                following.cancel()  # a read already running finishes and is dropped

    def _deliver_in_order(
        self,
        blob: str,
        plan: Plan,
        listing: BlockList,
        chunks: Generator[tuple[Span, bytes]],
        version: str | None,
    ) -> int:
        """Ship blocks in parallel, advance the checkpoint over them strictly in order.

        At most ``window`` blocks are in flight; a stop request lets those finish (and be
        checkpointed) and starts no other. Blocks acknowledged back to back are checkpointed in
        one write. A block whose delivery failed stops the blob right after the blocks before
        it, so nothing after it can be skipped on the next pass. Returns the bytes taken.
        """
        in_flight: deque[tuple[Span, Future[None]]] = deque()
        delivered: Span | None = None  # acknowledged, with all before it, not yet checkpointed
        count = 0
        read = 0
        try:
            while True:
                while len(in_flight) < self._window and not self._stop.is_set():
                    following = next(chunks, None)
                    if following is None:
                        break
                    span, chunk = following
                    read += span.block.size
                    task = self._pool.submit(self._deliver_block, blob, span, chunk)
                    in_flight.append((span, task))
                if not in_flight:
                    break
                span, task = in_flight.popleft()
                task.result()
                delivered, count = span, count + 1
                if in_flight and in_flight[0][1].done():
                    continue  # checkpoint once past every block already acknowledged
                version = self._advance(
                    blob, plan, listing, span=delivered, count=count, version=version
                )
                delivered, count = None, 0
                if version is None:
                    return read
        finally:
            for _, waiting in in_flight:
                waiting.cancel()
            if delivered is not None:  # a later block failed: keep what was acknowledged
                self._advance(blob, plan, listing, span=delivered, count=count, version=version)
            chunks.close()
        return read

    def _advance(
        self,
        blob: str,
        plan: Plan,
        listing: BlockList,
        *,
        span: Span,
        count: int,
        version: str | None,
    ) -> str | None:
        """Checkpoint the blob up to ``span`` (``count`` blocks newly delivered); None if raced."""
        last = span.index == plan.spans[-1].index
        advanced = Checkpoint(
            offset=span.end,
            prefix=listing.blocks[: span.index + 1],
            etag=listing.etag if last and plan.caught_up else None,
            version=version,
        )
        saved = self._checkpoints.save(blob, advanced)
        if saved is None:
            self.metrics.lost_races += 1
            log.info("%s: another collector advanced the checkpoint; leaving it", blob)
            return None
        self.metrics.blocks_delivered += count
        return saved

    def _save_caught_up(
        self, blob: str, checkpoint: Checkpoint, prefix: Sequence[Block], etag: str
    ) -> None:
        """Remember that this ETag has nothing new, so the next listing needs no block list."""
        offset = sum(block.size for block in prefix)
        self._checkpoints.save(blob, Checkpoint(offset, prefix, etag, checkpoint.version))

    def _deliver_block(self, blob: str, span: Span, chunk: bytes) -> None:
        try:
            document = block_document(chunk, blob)
            if document is not None and self._deliver_document(blob, span, document):
                return
            records = block_records(chunk, blob)
        except FragmentError as error:
            self._dead_letter(blob, span, "0", gzip_body(chunk), why=str(error))
            return
        if document is not None:  # refused as too large whole: its halves, as cut_parts would
            self._split(blob, span, "0", records)
            return
        for number, part in enumerate(cut_parts(records)):
            self._deliver_part(blob, span, str(number), part)

    def _deliver_document(self, blob: str, span: Span, document: bytes) -> bool:
        """Ship a block that is one part as it is; False if the gateway found it too large."""
        body = gzip_body(document)
        delivery = self._send(blob, span, "0", body)
        if delivery.outcome is Outcome.TOO_LARGE:
            return False
        if delivery.outcome is not Outcome.ACCEPTED:
            self._dead_letter(blob, span, "0", body, why=delivery)
        return True

    def _deliver_part(self, blob: str, span: Span, label: str, records: list[bytes]) -> None:
        """Ship one part; a 413 splits it in two halves with sub-labels, down to single records."""
        body = gzip_body(envelope(records))
        delivery = self._send(blob, span, label, body)
        if delivery.outcome is Outcome.ACCEPTED:
            return
        if delivery.outcome is Outcome.TOO_LARGE and len(records) > 1:
            self._split(blob, span, label, records)
            return
        self._dead_letter(blob, span, label, body, why=delivery)

    def _split(self, blob: str, span: Span, label: str, records: list[bytes]) -> None:
        if len(records) < 2:
            self._deliver_part(blob, span, label, records)  # one record: dead-lettered if refused
            return
        middle = len(records) // 2
        self._deliver_part(blob, span, f"{label}.0", records[:middle])
        self._deliver_part(blob, span, f"{label}.1", records[middle:])

    def _send(self, blob: str, span: Span, label: str, body: bytes) -> Delivery:
        key = part_key(blob, span.block.id, span.offset, span.block.size, label)
        delivery = self._gateway.send(body, key, blob)
        self._count(delivery)
        return delivery

    def _dead_letter(
        self, blob: str, span: Span, label: str, body: bytes, *, why: Delivery | str
    ) -> None:
        """Write the part down with its key and move on; ``why`` is the refusal or a reason."""
        key = part_key(blob, span.block.id, span.offset, span.block.size, label)
        status, reason, attempts = (
            (why.status, why.message, why.attempts) if isinstance(why, Delivery) else (0, why, 0)
        )
        block = span.block
        letter = DeadLetter(
            key, blob, block.id, span.offset, block.size, label, status, reason, attempts, body
        )
        self._dead_letters.put(letter)
        with self._lock:
            self.metrics.dead_letters += 1
        log.warning("dead letter %s (%s at %d): %s %s", key, blob, span.offset, status, reason)

    def _count(self, delivery: Delivery) -> None:
        with self._lock:
            self.metrics.batches_sent += 1
            self.metrics.retries += delivery.attempts - 1

    def _behind(self, container: str, blob: BlobInfo) -> bool:
        key = blob_key(self.source.account, container, blob.name)
        return self._checkpoints.load(key).etag != blob.etag


def replay_dead_letters(store: DeadLetterStore, gateway: Gateway) -> tuple[int, int]:
    """Resend every dead letter with its own key; returns (delivered and removed, still refused)."""
    delivered = refused = 0
    for name in list(store.names()):
        letter = store.get(name)
        delivery = gateway.send(letter.payload, letter.key, letter.source)
        if delivery.outcome is Outcome.ACCEPTED:
            store.remove(name)
            delivered += 1
        else:
            refused += 1
            log.warning(
                "dead letter %s refused again: %s %s", name, delivery.status, delivery.message
            )
    return delivered, refused
