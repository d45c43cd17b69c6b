"""Detection as flows arrive: evaluate the windows that new flows touched, record findings.

The flow store tells ``touched`` the tenant and time span of every batch it merges. Each rule
then re-evaluates the windows of its own size that those spans overlap, whether the flows are
live, minutes late or a backfill of last week, and the ledger replaces those windows' hits.
There is no watermark to guess: a window is evaluated again whenever flows land in it, so the
findings converge on what an offline run over the same flows gives.

A rule with a long window is not re-run on every pass: re-running re-reads its whole open
window. An attack rule waits at most ``MAX_RERUN_SECONDS`` between runs, so its finding shows
within about that plus a detection interval of the flows that make it fire (the two-minute
promise; bench/detect_ttd.py); an NSG-hygiene insight, a day's posture rather than an attack,
re-runs once per ``window / RERUNS_PER_WINDOW`` (two hours for a day). After each rule run the
ledger folds threat-intel matches into the specific findings covering them, whichever of the
two rules ran first, as an offline run does.
"""

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from flowcdr.detect.ledger import FindingLedger
from flowcdr.detect.rule import Rule, TunableValue
from flowcdr.detect.runner import Flows, floor_to, rule_hits

# A rule's windows are re-evaluated at most this many times per window length...
RERUNS_PER_WINDOW = 12
# ...and an attack rule's at least this often (seconds) while flows keep coming.
MAX_RERUN_SECONDS = 60.0
log = logging.getLogger(__name__)

Enabled = Mapping[str, Mapping[str, TunableValue]]
Changed = Callable[[str, Collection[str], dt.datetime], None]
"""Told a tenant's findings that a pass at a time changed (the notifier); must not block."""


@dataclass(frozen=True)
class Pass:
    """What one pass did: rule evaluations, findings changed, rules that failed."""

    evaluations: int
    findings: int
    failures: int


class ContinuousDetector:
    """Keeps, per tenant and rule, the time span that new flows touched and not yet evaluated."""

    def __init__(
        self,
        rules: Mapping[str, Rule],
        ledger: FindingLedger,
        enabled_for: Callable[[str], Enabled],
        *,
        min_rerun_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Changed | None = None,
    ) -> None:
        self._rules = rules
        self._ledger = ledger
        self._enabled_for = enabled_for
        self._min_rerun = min_rerun_seconds
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._dirty: dict[tuple[str, str], tuple[dt.datetime, dt.datetime]] = {}
        self._last_run: dict[tuple[str, str], float] = {}

    def touched(self, tenant_id: str, first: dt.datetime, last: dt.datetime) -> None:
        """Flows of ``tenant_id`` with times in ``[first, last]`` became queryable."""
        with self._lock:
            for rule_id in self._enabled_for(tenant_id):
                self._mark((tenant_id, rule_id), first, last)

    def run(self, db: Flows, now: dt.datetime) -> Pass:
        """Evaluate every due rule over the windows its tenant's new flows touched."""
        evaluations = failures = 0
        changed: set[str] = set()
        for (tenant_id, rule_id), (first, last) in self._take_due():
            rule = self._rules[rule_id]
            values = self._enabled_for(tenant_id).get(rule_id)
            if values is None:  # disabled since the flows came
                continue
            width = dt.timedelta(seconds=rule.window_seconds)
            start, end = floor_to(first, rule.window_seconds), floor_to(last, rule.window_seconds)
            try:
                hits = rule_hits(
                    db, rule, values, tenant_id=tenant_id, start=start, end=end + width
                )
                found = self._ledger.record(
                    tenant_id, rule, start=start, end=end + width, hits=hits, now=now
                )
                found |= self._ledger.fold(tenant_id, found, self._rules, now=now)
            except Exception:  # one broken rule must not stop the others; retried next pass
                log.exception("rule %s failed for tenant %s", rule_id, tenant_id)
                with self._lock:
                    self._mark((tenant_id, rule_id), first, last)
                failures += 1
                continue
            evaluations += 1
            changed |= found
            if found and self._on_change is not None:
                self._on_change(tenant_id, found, now)
        return Pass(evaluations, len(changed), failures)

    def _mark(self, key: tuple[str, str], first: dt.datetime, last: dt.datetime) -> None:
        """Widen the span a rule has to evaluate; called with the lock held."""
        span = self._dirty.get(key)
        self._dirty[key] = (first, last) if span is None else (
            min(span[0], first), max(span[1], last))  # fmt: skip

    def _take_due(self) -> list[tuple[tuple[str, str], tuple[dt.datetime, dt.datetime]]]:
        moment = self._clock()
        due = []
        with self._lock:
            for key, span in list(self._dirty.items()):
                rule = self._rules[key[1]]
                wait = rerun_seconds(rule, self._min_rerun)
                if moment - self._last_run.get(key, float("-inf")) >= wait:
                    due.append((key, span))
                    del self._dirty[key]
                    self._last_run[key] = moment
        return due


def rerun_seconds(rule: Rule, min_rerun: float) -> float:
    """The least time between two runs of ``rule`` for one tenant."""
    spread = rule.window_seconds / RERUNS_PER_WINDOW
    return max(min_rerun, spread if rule.meta.insight else min(spread, MAX_RERUN_SECONDS))
