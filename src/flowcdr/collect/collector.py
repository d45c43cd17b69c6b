"""One collection pass: every changed flow-log blob read from its checkpoint and shipped once.

The same code serves the standalone poller (``flowcdr collect``), the Function's timer and its
Event Grid trigger (``collect_blob``): read the committed block list, verify the checkpoint's
prefix, download the new middle blocks in ranged reads conditioned on the ETag, ship each block's
parts, and advance the checkpoint over the acknowledged blocks in order. Three stages overlap, so
that storage and the gateway are never waited on in turn: three threads read ahead (the next
ranges of the blob, then the next blob's block list and first range), a pool gzips and ships
blocks, and the pass's thread checkpoints. Reads are bounded (five in memory at most) and so are
bytes read per pass, so a backlog is worked off over several passes instead of exhausting memory
or a Function timeout.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from flowcdr.collect.checkpoint import Checkpoint, CheckpointStore
from flowcdr.collect.deadletter import DeadLetter, DeadLetterStore
from flowcdr.collect.discovery import Discovery, hours_to_read
from flowcdr.collect.errors import BlobChangedError, SourceError, UnsupportedBlobError
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
    BlockList,
)

log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_T = TypeVar("_T")

PASS_BYTES = 32 << 20  # in a Function: well inside its timeout
# The standalone collector's pass: reads are bounded by READ_BYTES whatever the pass, so a pass
# only sets how often a backlog is interrupted to list the hours again.
STANDALONE_PASS_BYTES = 256 << 20
# One ranged read. While one is shipped, the next READS_AHEAD download side by side: storage
# answers one request while another's bytes are taken in (3 measured faster than 1 or 2).
READ_BYTES = 8 << 20
READS_AHEAD = 3
PRUNE_SECONDS = 3600  # how often old checkpoints are looked for, and how idle they must be
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
    recreated_blobs: int = 0  # deleted and created again under the same name
    refused_blobs: int = 0  # not block blobs (append or page blobs): never read
    checkpoints_pruned: int = 0  # of blobs gone past the discovery horizon
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
            f"dead letters {self.dead_letters}, rewritten {self.rewritten_blobs}, "
            f"re-created {self.recreated_blobs}, refused {self.refused_blobs}; lag {lag or '-'}"
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
        self._reader = ThreadPoolExecutor(READS_AHEAD, thread_name_prefix="flowcdr-read")
        self._window = 2 * workers
        self._lock = threading.Lock()
        self._pruned_at: float | None = None

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
        self._prune(hours[0], now)
        self.metrics.passes += 1
        return PassResult(self._pass_bytes - budget, behind)

    def _prune(self, horizon: datetime, now: datetime) -> None:
        """Forget, once an hour, checkpoints of blobs of hours before ``horizon`` (the pass's
        oldest), unless saved in the last hour: such a blob is no longer listed, so its
        checkpoint would never be read again."""
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < PRUNE_SECONDS:
            return
        self._pruned_at = time.monotonic()
        try:
            pruned = self._checkpoints.prune(horizon, now - timedelta(seconds=PRUNE_SECONDS))
        except SourceError as error:
            self.metrics.source_errors += 1
            log.warning("pruning old checkpoints failed; next hour: %s", error)
            return
        self.metrics.checkpoints_pruned += pruned
        if pruned:
            log.info("forgot %d checkpoints of blobs before %s", pruned, horizon.isoformat())

    def _collect_container(
        self, container: str, hours: list[datetime], now: datetime, budget: int
    ) -> tuple[int, bool]:
        """Collect the container's blobs of ``hours``; returns the budget left and if any lags.

        While a blob's last blocks ship, the next blob's block list and first read are already
        fetched, so storage is never idle between blobs. Listing stops where the budget runs
        out: a backlog of many blobs would otherwise be listed whole on every pass, to read one
        or two of them. The oldest hours come first, so the blobs listed lag most.
        """
        lag = 0.0
        behind = False
        listing = self._discovery.blobs(container, hours)
        changed = self._next_changed(container, listing)
        ahead: Future[_Prepared | None] | None = None
        while changed is not None and budget > 0 and not self._stop.is_set():
            blob, checkpoint = changed
            if ahead is None:
                ahead = _done(self._plan_and_read, container, blob.name, checkpoint, budget)
            prepared = self._settle(container, blob.name, ahead)
            ahead = None
            changed = self._next_changed(container, listing)
            if prepared is not None:
                rest = budget - prepared.planned  # what the next blob may read
                prefetch = _Prefetch(self._reader, self._plan_and_read, container, changed, rest)
                budget -= self._ship_safely(prepared, prefetch.start)
                ahead = prefetch.future
            if self._behind(container, blob):
                behind = True
                lag = max(lag, (now - blob.last_modified).total_seconds())
        if changed is not None:
            behind = True  # the budget ran out (or a stop came) before this blob
        self.metrics.lag_seconds[container] = lag
        return budget, behind

    def _next_changed(
        self, container: str, listing: Iterator[BlobInfo]
    ) -> tuple[BlobInfo, Checkpoint] | None:
        """The next listed blob not caught up at its listed ETag, with its checkpoint."""
        for blob in listing:
            self.metrics.blobs_seen += 1
            checkpoint = self._checkpoints.load(blob_key(self.source.account, container, blob.name))
            if checkpoint.etag != blob.etag:
                return blob, checkpoint
        return None

    def collect_blob(
        self, container: str, name: str, budget: int = PASS_BYTES, *, seen: BlobInfo | None = None
    ) -> int:
        """Deliver a blob's new blocks (at most about ``budget`` bytes); returns bytes read.

        ``seen`` is the listing entry, if any: an unchanged ETag at a caught-up checkpoint costs
        no call at all. A blob that is gone or unreadable is logged and skipped.
        """
        checkpoint = self._checkpoints.load(blob_key(self.source.account, container, name))
        if seen is not None and checkpoint.etag == seen.etag:
            return 0
        planned = _done(self._plan_and_read, container, name, checkpoint, budget)
        prepared = self._settle(container, name, planned)
        return 0 if prepared is None else self._ship_safely(prepared, None)

    def _settle(
        self, container: str, name: str, planned: "Future[_Prepared | None]"
    ) -> "_Prepared | None":
        """A blob's plan and first read, acted on; None if there is nothing to ship now.

        This runs in the pass's thread, whichever thread fetched the plan: a rewritten or
        re-created blob is logged and counted, a caught-up one checkpointed at its ETag, and a
        blob that is not a block blob refused, once per version of it.
        """
        blob = blob_key(self.source.account, container, name)
        try:
            prepared = planned.result()
        except UnsupportedBlobError as error:
            self.metrics.refused_blobs += 1
            log.error("refusing %s: %s", blob, error)
            refused = replace(self._checkpoints.load(blob), etag=error.etag)
            self._checkpoints.save(blob, refused)
            return None
        except SourceError as error:
            self.metrics.source_errors += 1
            log.warning("skipping %s: %s", blob, error)
            return None
        if prepared is None:
            log.info("%s kept changing while being read; next pass", blob)
            return None
        checkpoint, plan, listing = prepared.checkpoint, prepared.plan, prepared.listing
        if prepared.recreated:
            self.metrics.recreated_blobs += 1
            log.warning(
                "%s was deleted and created again (at %s, was %s): reading it from its start",
                blob,
                listing.created,
                checkpoint.created,
            )
        elif plan.rewritten:
            self.metrics.rewritten_blobs += 1
            log.warning(
                "%s was rewritten: %d of %d delivered blocks unchanged; reading on from there",
                blob,
                plan.kept,
                len(checkpoint.prefix),
            )
        if not plan.spans:
            if plan.caught_up and checkpoint.etag != listing.etag:
                prefix = listing.blocks[: plan.reached]
                offset = sum(block.size for block in prefix)
                caught_up = Checkpoint(
                    offset, prefix, listing.etag, checkpoint.version, listing.created
                )
                self._checkpoints.save(blob, caught_up)
            return None
        return prepared

    def _plan_and_read(
        self, container: str, name: str, checkpoint: Checkpoint, budget: int
    ) -> "_Prepared | None":
        """Block list, plan and first read of a blob; None if it kept changing under us.

        Only storage is called here (it may run on the read-ahead thread): the checkpoint was
        loaded by the caller, and a blob that moved on between its block list and the read is
        listed again. A blob whose creation time differs from its checkpoint's is another blob
        under the same name, read from its start.
        """
        for _ in range(READ_ATTEMPTS):
            listing = self.source.block_list(container, name)
            recreated = checkpoint.created is not None and checkpoint.created != listing.created
            delivered = () if recreated else checkpoint.prefix
            plan = plan_reading(listing.blocks, delivered, budget)
            reads = plan.reads(self._read_bytes)
            if not reads:
                return _Prepared(container, name, checkpoint, listing, plan, reads, b"", recreated)
            try:
                first = self._read(container, name, reads[0], listing.etag)
            except BlobChangedError:
                continue
            return _Prepared(container, name, checkpoint, listing, plan, reads, first, recreated)
        return None

    def _ship_safely(
        self, prepared: "_Prepared", after_last_read: Callable[[], None] | None
    ) -> int:
        """Ship a prepared blob; a blob gone or unreadable midway is logged and skipped."""
        try:
            return self._ship(prepared, after_last_read)
        except SourceError as error:
            self.metrics.source_errors += 1
            log.warning("skipping the rest of %s/%s: %s", prepared.container, prepared.name, error)
            return 0

    def _ship(self, prepared: "_Prepared", after_last_read: Callable[[], None] | None) -> int:
        failure: list[SourceError] = []
        blob = BlobRef(
            blob_key(self.source.account, prepared.container, prepared.name),
            prepared.listing.created,
        )
        chunks = self._chunks(prepared, failure=failure, after_last_read=after_last_read)
        taken = self._deliver_in_order(blob, prepared, chunks)
        if failure and not isinstance(failure[0], BlobChangedError):
            raise failure[0]  # gone or unreadable after some blocks: those are checkpointed
        return taken

    def _read(self, container: str, name: str, read: Read, etag: str) -> bytes | bytearray:
        return self.source.read(container, name, read.start, read.length, etag)

    def _chunks(
        self,
        prepared: "_Prepared",
        *,
        failure: list[SourceError],
        after_last_read: Callable[[], None] | None,
    ) -> Generator[tuple[Span, bytes]]:
        """Each planned block's bytes, in order; the next reads download while these ship.

        Up to ``READS_AHEAD`` reads download at once, on as many connections; once the blob's
        last read is asked for, ``after_last_read`` is called (to fetch the next blob
        meanwhile). A later read that fails ends the blocks early with the error put in
        ``failure``: the blocks before it are still delivered and checkpointed. A blob that
        moved on (412) is simply read on by the next pass.
        """
        container, name, reads = prepared.container, prepared.name, prepared.reads
        etag = prepared.listing.etag
        ahead: deque[Future[bytes | bytearray]] = deque()
        submitted = 1  # the first read came with the plan

        def read_ahead() -> None:
            nonlocal submitted, after_last_read
            while submitted < len(reads) and len(ahead) < READS_AHEAD:
                ahead.append(
                    self._reader.submit(self._read, container, name, reads[submitted], etag)
                )
                submitted += 1
            if submitted == len(reads) and after_last_read is not None:
                after_last_read()
                after_last_read = None

        data = memoryview(prepared.first)
        try:
            for read in reads:
                self.metrics.bytes_read += len(data)
                read_ahead()
                for span in read.spans:
                    yield span, data[span.offset - read.start : span.end - read.start].tobytes()
                if not ahead:
                    return
                following = ahead.popleft()
                try:
                    data = memoryview(following.result())
                except SourceError as error:
                    log.info("%s: reading on stopped: %s", name, error)
                    failure.append(error)
                    return
        finally:
            for waiting in ahead:
                waiting.cancel()  # a read already running finishes and is dropped

    def _deliver_in_order(
        self, blob: "BlobRef", prepared: "_Prepared", chunks: Generator[tuple[Span, bytes]]
    ) -> int:
        """Ship blocks in parallel, advance the checkpoint over them strictly in order.

        At most ``window`` blocks are in flight; a stop request lets those finish (and be
        checkpointed) and starts no other. Blocks acknowledged back to back are checkpointed in
        one write. A block whose delivery failed stops the blob right after the blocks before
        it, so nothing after it can be skipped on the next pass. Returns the bytes taken.
        """
        version = prepared.checkpoint.version
        in_flight: deque[tuple[Span, Future[None]]] = deque()
        delivered: Span | None = None  # acknowledged, with all before it, not yet checkpointed
        count = 0
        taken = 0
        try:
            while True:
                while len(in_flight) < self._window and not self._stop.is_set():
                    following = next(chunks, None)
                    if following is None:
                        break
                    span, chunk = following
                    taken += span.block.size
                    task = self._pool.submit(self._deliver_block, blob, span, chunk)
                    in_flight.append((span, task))
                if not in_flight:
                    break
                span, task = in_flight.popleft()
                task.result()
                delivered, count = span, count + 1
                if in_flight and in_flight[0][1].done():
                    continue  # checkpoint once past every block already acknowledged
                version = self._advance(blob.key, prepared, delivered, count, version)
                delivered, count = None, 0
                if version is None:
                    return taken
        finally:
            for _, waiting in in_flight:
                waiting.cancel()
            if delivered is not None:  # a later block failed: keep what was acknowledged
                self._advance(blob.key, prepared, delivered, count, version)
            chunks.close()
        return taken

    def _advance(
        self, blob: str, prepared: "_Prepared", span: Span, count: int, version: str | None
    ) -> str | None:
        """Checkpoint the blob up to ``span`` (``count`` blocks newly delivered); None if raced."""
        plan, listing = prepared.plan, prepared.listing
        last = span.index == plan.spans[-1].index
        advanced = Checkpoint(
            offset=span.end,
            prefix=listing.blocks[: span.index + 1],
            etag=listing.etag if last and plan.caught_up else None,
            version=version,
            created=listing.created,
        )
        saved = self._checkpoints.save(blob, advanced)
        if saved is None:
            self.metrics.lost_races += 1
            log.info("%s: another collector advanced the checkpoint; leaving it", blob)
            return None
        self.metrics.blocks_delivered += count
        return saved

    def _deliver_block(self, blob: "BlobRef", span: Span, chunk: bytes) -> None:
        try:
            document = block_document(chunk, blob.key)
            if document is not None and self._deliver_document(blob, span, document):
                return
            records = block_records(chunk, blob.key)
        except FragmentError as error:
            self._dead_letter(blob, span, "0", gzip_body(chunk), why=str(error))
            return
        if document is not None:  # refused as too large whole: its halves, as cut_parts would
            self._split(blob, span, "0", records)
            return
        for number, part in enumerate(cut_parts(records)):
            self._deliver_part(blob, span, str(number), part)

    def _deliver_document(self, blob: "BlobRef", span: Span, document: bytes) -> bool:
        """Ship a block that is one part as it is; False if the gateway found it too large."""
        body = gzip_body(document)
        delivery = self._send(blob, span, "0", body)
        if delivery.outcome is Outcome.TOO_LARGE:
            return False
        if delivery.outcome is not Outcome.ACCEPTED:
            self._dead_letter(blob, span, "0", body, why=delivery)
        return True

    def _deliver_part(self, blob: "BlobRef", span: Span, label: str, records: list[bytes]) -> None:
        """Ship one part; a 413 splits it in two halves with sub-labels, down to single records."""
        body = gzip_body(envelope(records))
        delivery = self._send(blob, span, label, body)
        if delivery.outcome is Outcome.ACCEPTED:
            return
        if delivery.outcome is Outcome.TOO_LARGE and len(records) > 1:
            self._split(blob, span, label, records)
            return
        self._dead_letter(blob, span, label, body, why=delivery)

    def _split(self, blob: "BlobRef", span: Span, label: str, records: list[bytes]) -> None:
        if len(records) < 2:
            self._deliver_part(blob, span, label, records)  # one record: dead-lettered if refused
            return
        middle = len(records) // 2
        self._deliver_part(blob, span, f"{label}.0", records[:middle])
        self._deliver_part(blob, span, f"{label}.1", records[middle:])

    def _send(self, blob: "BlobRef", span: Span, label: str, body: bytes) -> Delivery:
        key = blob.part_key(span, label)
        delivery = self._gateway.send(body, key, blob.key)
        self._count(delivery)
        return delivery

    def _dead_letter(
        self, blob: "BlobRef", span: Span, label: str, body: bytes, *, why: Delivery | str
    ) -> None:
        """Write the part down with its key and move on; ``why`` is the refusal or a reason."""
        key = blob.part_key(span, label)
        status, reason, attempts = (
            (why.status, why.message, why.attempts) if isinstance(why, Delivery) else (0, why, 0)
        )
        block = span.block
        letter = DeadLetter(
            key, blob.key, block.id, span.offset, block.size, label, status, reason, attempts, body
        )
        self._dead_letters.put(letter)
        with self._lock:
            self.metrics.dead_letters += 1
        log.warning("dead letter %s (%s at %d): %s %s", key, blob.key, span.offset, status, reason)

    def _count(self, delivery: Delivery) -> None:
        with self._lock:
            self.metrics.batches_sent += 1
            self.metrics.retries += delivery.attempts - 1

    def _behind(self, container: str, blob: BlobInfo) -> bool:
        """Whether the blob has more than its checkpoint delivered (not caught up at its ETag)."""
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


@dataclass(frozen=True)
class BlobRef:
    """The blob being shipped: its full name and its creation time, both in every part key."""

    key: str
    created: str

    def part_key(self, span: Span, label: str) -> str:
        return part_key(self.key, span.block.id, span.offset, span.block.size, label, self.created)


@dataclass(frozen=True)
class _Prepared:
    """A blob's plan with its first read in hand, and the checkpoint the plan started from."""

    container: str
    name: str
    checkpoint: Checkpoint
    listing: BlockList
    plan: Plan
    reads: Sequence[Read]
    first: bytes | bytearray
    recreated: bool  # another blob of the same name: its checkpoint's blocks were not this one's

    @property
    def planned(self) -> int:
        return self.plan.end - self.plan.start if self.plan.spans else 0


def _done(call: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
    """The call made now, in this thread, as a finished future (or one holding its error)."""
    future: Future[_T] = Future()
    try:
        future.set_result(call(*args, **kwargs))
    except SourceError as error:
        future.set_exception(error)
    return future


class _Prefetch:
    """The next blob's plan and first read, started once the current blob's reads are in."""

    def __init__(
        self,
        reader: ThreadPoolExecutor,
        plan_and_read: Callable[[str, str, Checkpoint, int], "_Prepared | None"],
        container: str,
        following: tuple[BlobInfo, Checkpoint] | None,
        budget: int,
    ) -> None:
        """``following`` is the next blob to read and its checkpoint, None if there is none."""
        self._reader = reader
        self._plan_and_read = plan_and_read
        self._container = container
        self._following = following
        self._budget = budget
        self.future: Future[_Prepared | None] | None = None

    def start(self) -> None:
        if self._following is not None and self._budget > 0:
            blob, checkpoint = self._following
            self.future = self._reader.submit(
                self._plan_and_read, self._container, blob.name, checkpoint, self._budget
            )
