"""One simulation run: estate, attacks, then traffic hour by hour into a blob sink.

Memory stays bounded by one hour: each hour's sessions are logged, encoded and handed to the
sink before the next hour is made. Flows of sessions still open at the end of an hour (their
continuing and end tuples) are carried to the hour they belong to, and a blob is written once
its hour is complete (the records of a minute 59 are written in the next hour, as Azure does).

Each part of the model draws from its own generator spawned from the seed, so the traffic is
the same whatever formats are written or scenarios injected.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from flowcdr.simulate.benign import HOUR_MS, benign_hour, build_world
from flowcdr.simulate.encode import LogFormat, Record, encode_records, sort_for_records
from flowcdr.simulate.observe import Flows, concat_flows, observe
from flowcdr.simulate.scenarios import Label, inject
from flowcdr.simulate.sessions import Sessions, concat
from flowcdr.simulate.sink import BlobSink
from flowcdr.simulate.topology import Topology, build_topology


@dataclass(frozen=True)
class Plan:
    """What to simulate; ``start_ms`` is rounded down to its hour."""

    start_ms: int
    hours: int
    seed: int
    vms: int
    formats: tuple[LogFormat, ...]
    scenarios: tuple[str, ...]

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.hours * HOUR_MS


@dataclass
class Totals:
    hours: int = 0
    flows: int = 0
    records: int = 0
    blobs: set[tuple[str, str]] = field(default_factory=set)


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
        pending: dict[tuple[str, str], tuple[int, list[bytes]]] = {}
        wall_start = pace.clock() if pace else 0.0
        for hour in range(plan.hours):
            hour_ms = plan.start_ms + hour * HOUR_MS
            now, carried = self._flows_of_hour(hour_ms, carried)
            records = (
                record
                for fmt in plan.formats
                for record in encode_records(now, self.topology, fmt, encoders[fmt])
            )
            totals.flows += len(now) * len(plan.formats)
            if pace is not None:
                self._write_live(sink, list(records), pace, wall_start, totals)
            else:
                self._write_finished(sink, records, pending, hour_ms + HOUR_MS, totals)
            totals.hours += 1
            if progress is not None:
                progress(totals)
        for (container, blob), (_, blocks) in pending.items():
            sink.append(container, blob, blocks)
        return totals

    def _flows_of_hour(self, hour_ms: int, carried: Flows) -> tuple[Flows, Flows]:
        """The hour's flows sorted for records, and those that belong to later hours."""
        sessions = concat(
            [benign_hour(self._world, self._traffic_rng, hour_ms), self._attacks_in(hour_ms)]
        )
        flows = concat_flows([carried, observe(sessions)])
        later = flows.time_ms >= hour_ms + HOUR_MS
        return (
            sort_for_records(flows.take(~later)),
            flows.take(later & (flows.time_ms < self.plan.end_ms)),
        )

    def _attacks_in(self, hour_ms: int) -> Sessions:
        starts = self._attacks.start_ms
        first, end = np.searchsorted(starts, [hour_ms, hour_ms + HOUR_MS])
        return self._attacks.take(np.arange(first, end))

    def _write_finished(
        self,
        sink: BlobSink,
        records: Iterable[Record],
        pending: dict[tuple[str, str], tuple[int, list[bytes]]],
        hour_end_ms: int,
        totals: Totals,
    ) -> None:
        """Hold records by blob; write every blob whose hour has ended."""
        for record in records:
            key = (record.container, record.blob)
            blob_hour = record.time_ms - record.time_ms % HOUR_MS
            pending.setdefault(key, (blob_hour, []))[1].append(record.data)
            totals.blobs.add(key)
            totals.records += 1
        for key in [key for key, (blob_hour, _) in pending.items() if blob_hour < hour_end_ms]:
            sink.append(*key, pending.pop(key)[1])

    def _write_live(
        self, sink: BlobSink, records: list[Record], pace: Pace, wall_start: float, totals: Totals
    ) -> None:
        """Append each record as its own block, in write order, keeping to the pace."""
        for record in sorted(records, key=lambda r: r.time_ms):
            due = (record.time_ms - self.plan.start_ms) / 60_000 / pace.speed
            wait = wall_start + due - pace.clock()
            if wait > 0:
                pace.sleep(wait)
            sink.append(record.container, record.blob, [record.data])
            totals.blobs.add((record.container, record.blob))
            totals.records += 1
