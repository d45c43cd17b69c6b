"""One simulation run: estate, attacks, then traffic hour by hour into a blob sink.

Memory stays bounded by one hour: each hour's sessions are logged, then encoded and handed to
the sink a few hundred thousand flows at a time, before the next hour is made. Flows of sessions
still open at the end of an hour (their continuing and end tuples) are carried to the hour they
belong to. A blob gets its records with one commit per hour in the batch mode (two for the hour
that also receives the previous hour's minute 59), and one commit per record in the live mode.

Each part of the model draws from its own generator spawned from the seed, so the traffic is
the same whatever formats are written or scenarios injected.
"""

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from flowcdr.simulate.benign import benign_hour
from flowcdr.simulate.encode import (
    MINUTE_MS,
    LogFormat,
    Record,
    encode_records,
    sort_for_records,
)
from flowcdr.simulate.observe import Flows, concat_flows, observe
from flowcdr.simulate.scenarios import Label, inject
from flowcdr.simulate.sessions import Sessions, concat
from flowcdr.simulate.sink import BlobSink
from flowcdr.simulate.topology import Topology, build_topology
from flowcdr.simulate.world import HOUR_MS, build_world

CHUNK_FLOWS = 200_000


@dataclass(frozen=True)
class Plan:
    """What to simulate: ``hours`` from ``start_ms``, which must be the start of an hour (UTC)."""

    start_ms: int
    hours: int
    seed: int
    vms: int
    formats: tuple[LogFormat, ...]
    scenarios: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.start_ms % HOUR_MS:
            raise ValueError(f"start_ms {self.start_ms} is not the start of an hour")
        if self.hours < 1 or self.vms < 5:
            raise ValueError(f"need at least 1 hour and 5 VMs, got {self.hours} and {self.vms}")

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.hours * HOUR_MS


@dataclass
class Totals:
    hours: int = 0
    flows: int = 0
    records: int = 0
    blobs: int = 0


@dataclass(frozen=True)
class Pace:
    """Live mode: write as Azure does, minute by minute, ``speed`` simulated minutes a second."""

    speed: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


class Simulation:
    """The seeded estate and attacks of a plan; ``run`` writes the traffic."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        seeds = np.random.default_rng(plan.seed).spawn(4)
        self._traffic_rng, self._attack_rng, self._encode_seed, self.intel_rng = seeds
        self.topology: Topology = build_topology(self._traffic_rng, plan.vms)
        self._world = build_world(self._traffic_rng, self.topology)
        injections = inject(
            self._world, self._attack_rng, plan.start_ms, plan.end_ms, list(plan.scenarios)
        )
        self.labels: list[Label] = [injection.label for injection in injections]
        attacks = concat([injection.sessions for injection in injections])
        self._attacks = attacks.take(np.argsort(attacks.start_ms, kind="stable"))

    def run(
        self,
        sink: BlobSink,
        pace: Pace | None = None,
        progress: Callable[[Totals], None] | None = None,
    ) -> Totals:
        plan = self.plan
        totals = Totals()
        encoders = {
            fmt: np.random.default_rng(self._encode_seed.integers(1 << 62)) for fmt in plan.formats
        }
        carried = observe(concat([]))
        blobs = _GrowingBlobs(sink, totals)
        wall_start = pace.clock() if pace else 0.0
        for hour in range(plan.hours):
            hour_ms = plan.start_ms + hour * HOUR_MS
            now, carried = self._flows_of_hour(hour_ms, carried)
            totals.flows += len(now) * len(plan.formats)
            held: list[Record] = []
            for chunk in _nic_chunks(now, CHUNK_FLOWS):
                for fmt in plan.formats:
                    records = encode_records(chunk, self.topology, fmt, encoders[fmt])
                    if pace is None:
                        blobs.append_by_blob(records)
                    else:
                        held.extend(records)
            if pace is not None:
                self._write_live(blobs, held, pace, wall_start)
            blobs.finish_before(hour_ms + HOUR_MS)
            totals.hours += 1
            if progress is not None:
                progress(totals)
        blobs.finish_before(None)
        return totals

    def _flows_of_hour(self, hour_ms: int, carried: Flows) -> tuple[Flows, Flows]:
        """The hour's flows sorted for records, and those that belong to later hours.

        The run stops with its span, when the last minute's records are not yet written (Azure
        writes a minute after it ends): so a run writes only blobs of its own hours, and a live
        run started at its end continues them without touching its blobs.
        """
        sessions = concat(
            [benign_hour(self._world, self._traffic_rng, hour_ms), self._attacks_in(hour_ms)]
        )
        flows = concat_flows([carried, observe(sessions)])
        written = flows.time_ms < self.plan.end_ms - MINUTE_MS
        later = flows.time_ms >= hour_ms + HOUR_MS
        return (
            sort_for_records(flows.take(written & ~later)),
            flows.take(written & later),
        )

    def _attacks_in(self, hour_ms: int) -> Sessions:
        starts = self._attacks.start_ms
        first, end = np.searchsorted(starts, [hour_ms, hour_ms + HOUR_MS])
        return self._attacks.take(np.arange(first, end))

    def _write_live(
        self, blobs: "_GrowingBlobs", records: list[Record], pace: Pace, wall_start: float
    ) -> None:
        """Append each record as its own block, in write order, keeping to the pace."""
        for record in sorted(records, key=lambda r: r.time_ms):
            due = (record.time_ms - self.plan.start_ms) / 60_000 / pace.speed
            wait = wall_start + due - pace.clock()
            if wait > 0:
                pace.sleep(wait)
            blobs.append(record.container, record.blob, record.time_ms, [record.data])


class _GrowingBlobs:
    """The sink and the blobs still growing in it; a blob is finished once its hour is over.

    Only the blobs of the current and the next hour are remembered, so a month-long run holds
    no more than an hour-long one.
    """

    def __init__(self, sink: BlobSink, totals: Totals) -> None:
        self._sink = sink
        self._totals = totals
        self._open: dict[tuple[str, str], int] = {}

    def append(self, container: str, blob: str, time_ms: int, blocks: list[bytes]) -> None:
        key = (container, blob)
        if key not in self._open:
            self._open[key] = time_ms - time_ms % HOUR_MS
            self._totals.blobs += 1
        self._sink.append(container, blob, blocks)
        self._totals.records += len(blocks)

    def append_by_blob(self, records: Iterable[Record]) -> None:
        """Each blob's records with one commit (batch mode)."""
        by_blob: dict[tuple[str, str], tuple[int, list[bytes]]] = {}
        for record in records:
            key = (record.container, record.blob)
            by_blob.setdefault(key, (record.time_ms, []))[1].append(record.data)
        for (container, blob), (time_ms, blocks) in by_blob.items():
            self.append(container, blob, time_ms, blocks)

    def finish_before(self, hour_ms: int | None) -> None:
        """Finish the blobs of the hours before ``hour_ms`` (all of them for None)."""
        done = [k for k, hour in self._open.items() if hour_ms is None or hour < hour_ms]
        for container, blob in done:
            self._sink.finish(container, blob)
            del self._open[(container, blob)]


def _nic_chunks(flows: Flows, size: int) -> Iterator[Flows]:
    """Runs of whole NICs of about ``size`` flows each (``flows`` sorted by NIC first).

    Encoding an hour a chunk at a time keeps the peak memory of the text to one chunk's.
    """
    if not len(flows):
        return
    nic_starts = np.flatnonzero(np.diff(flows.vm, prepend=-1))
    wanted = np.searchsorted(nic_starts, np.arange(size, len(flows), size))
    cuts = np.unique(nic_starts[wanted[wanted < len(nic_starts)]])
    bounds = [0, *cuts.tolist(), len(flows)]
    for first, end in itertools.pairwise(bounds):
        if end > first:
            yield flows.take(slice(first, end))
