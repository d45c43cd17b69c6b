"""Beaconing: a VM calling the same internet host at regular intervals with regular sizes
(research C1), scored as RITA does (``flowcdr.detect.beacon``) over six-hour windows, on the
raw tuples Traffic Analytics would have averaged away. Alert at 0.7 (RITA's "low"), medium at
0.9. RITA's prevalence modifier applies (+15 % when at most 2 % of our hosts call the
destination, -15 % when half or more do), and a destination called by at least half of our
hosts (three or more) is not scored at all: estate-wide periodic traffic is monitoring and
update agents, the research's main false positive. NTP and DNS are periodic by design and are
left out. One addition: the timing score alone must reach 0.75. The histogram and duration
scores are high for any steady traffic, and a host browsing one site all afternoon (random
times, random sizes) scores about 0.7 in total; its timing score is about 0.5, a jittered
beacon's (up to 60 % jitter) 0.8 or more. And a second way to fire: timing and size scores
both at 0.9 or more over at least six calls, whatever the histogram says. An hourly beacon
seen six times in six hours fills only six of the 24 bins and totals about 0.65, yet nothing
benign on one host is that regular in both time and size but an agent, which prevalence or a
suppression handles.
"""

import itertools
from collections.abc import Mapping

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.beacon import beacon_score
from flowcdr.detect.dialect import Sql
from flowcdr.detect.rule import Row, TunableValue
from flowcdr.detections._sql import ALLOWED, TO_INTERNET, connections

WINDOW = 6 * 3600
MIN_POPULATION = 10
"""Below this many hosts, shares of them say little and the prevalence modifier is skipped."""
VM, C2 = "10.0.14.4", "22.66.1.1"


def query(d: Sql) -> str:
    where = f"{TO_INTERNET} AND {ALLOWED} AND NOT {d.in_list('dst_port', 'ignored_ports')}"
    return f"""
WITH {connections(d, where, ("src_ip", "dst_ip"), d.param("min_connections")).strip()},
pairs AS (
    SELECT bucket, src_ip, dst_ip, min(dst_port) AS dst_port, min(protocol) AS protocol,
           {d.any_value("resource_id")} AS resource_id,
           {d.any_value("subscription_id")} AS subscription_id,
           min(started) AS first_seen, max(ended) AS last_seen, sum(flows) AS flow_count,
           sum(bytes) AS bytes, count(*) AS connections,
           {d.sorted_list(d.epoch("started"), "started")} AS starts,
           {d.sorted_list("CASE WHEN counted > 0 THEN sent ELSE -1 END", "started")} AS sizes
    FROM conns
    GROUP BY bucket, src_ip, dst_ip
    HAVING connections >= {d.param("min_connections")}
       AND {d.epoch("max(started)")} - {d.epoch("min(started)")} >= {d.param("min_span_seconds")}
),
callers AS (
    SELECT bucket, dst_ip, {d.count_distinct("src_ip")} AS callers FROM f
    WHERE {where} AND dst_ip IN (SELECT dst_ip FROM pairs)
    GROUP BY bucket, dst_ip
),
population AS (
    SELECT bucket, {d.count_distinct("src_ip")} AS hosts FROM f
    WHERE src_scope = 'private' GROUP BY bucket
)
SELECT pairs.*, callers.callers AS callers, population.hosts AS hosts
FROM pairs
JOIN callers ON callers.bucket = pairs.bucket AND callers.dst_ip = pairs.dst_ip
JOIN population ON population.bucket = pairs.bucket
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def refine(rows: list[Row], values: Mapping[str, TunableValue]) -> list[Row]:
    """Score each candidate pair; keep those at or above the threshold."""
    threshold, min_ts, min_regular, max_prevalence = (
        _number(values[name])
        for name in ("min_score", "min_ts_score", "min_regular_score", "max_prevalence")
    )
    found = []
    for row in rows:
        starts, sizes = row.pop("starts"), row.pop("sizes")
        prevalence = row["callers"] / max(row["hosts"], 1)
        if prevalence >= max_prevalence and row["callers"] >= 3:
            continue
        low = row["bucket"].timestamp()
        known = [size for size in sizes if size >= 0]
        scored = beacon_score(
            starts, known if len(known) == len(sizes) else None, (low, low + WINDOW)
        )
        if scored is None or scored.ts < min_ts:
            continue
        factor = 1.0
        if row["hosts"] >= MIN_POPULATION:
            factor = 1.15 if prevalence <= 0.02 else 0.85 if prevalence >= 0.5 else 1.0
        score = round(min(1.0, scored.score * factor), 3)
        regular = scored.ts >= min_regular and (scored.ds is None or scored.ds >= min_regular)
        if score < threshold and not regular:
            continue
        gaps = sorted(b - a for a, b in itertools.pairwise(starts))
        row.update(
            score=score,
            ts_score=scored.ts,
            ds_score=scored.ds,
            hist_score=scored.hist,
            dur_score=scored.dur,
            prevalence=round(prevalence, 3),
            median_interval_seconds=round(gaps[len(gaps) // 2], 1),
            severity="medium" if score >= 0.9 else "low",
        )
        found.append(row)
    return found


def _number(value: TunableValue) -> float:
    if isinstance(value, tuple):
        raise TypeError("expected a number")
    return float(value)


def calls(
    src: str, every: float, count: int, jitter: float = 0.0, size: int = 520
) -> tuple[CaseFlow, ...]:
    """``count`` connections ``every`` seconds, start times jittered by up to ``jitter``."""
    return tuple(
        CaseFlow(
            600 + i * every + jitter * ((i * 7919) % 13 - 6) / 6,
            src,
            C2,
            443,
            src_port=20000 + i,
            src_bytes=size + (i * 31) % 9,
            dst_bytes=2048,
        )
        for i in range(count)
    )


RULE = Rule(
    meta=RuleMeta(
        id="beaconing",
        title="Beaconing to an internet host",
        level="low",
        description=(
            "A VM connected to the same internet host at regular intervals with regular "
            "sizes over six hours (RITA-style beacon score of 0.7 or more): the pattern of "
            "an implant polling its command-and-control server."
        ),
        tactics=("TA0011",),
        techniques=("T1071", "T1573", "T1029"),
        false_positives=(
            "Update checks, telemetry and monitoring agents on a few hosts only: suppress "
            "the destination once identified.",
        ),
        runbook=(
            "Look the destination up (owner, reputation, first seen). On the VM, find the "
            "process holding connections to it. A small, fixed payload at a fixed interval "
            "to an unknown host is an implant until shown otherwise."
        ),
        references=("https://github.com/activecm/rita",),
    ),
    window_seconds=WINDOW,
    query=query,
    refine=refine,
    dedup=("src_ip", "dst_ip"),
    tunables={
        "min_connections": Tunable(6, "Connections in six hours before a pair is scored."),
        "min_score": Tunable(0.7, "Beacon score that fires (RITA's low)."),
        "min_ts_score": Tunable(0.75, "Timing regularity required on its own."),
        "min_regular_score": Tunable(
            0.9, "Timing and size scores that fire on their own, whatever the total."
        ),
        "min_span_seconds": Tunable(
            5400,
            "First to last call, at least. A pair active under a quarter of the window has a "
            "histogram score of 0 and a duration score of at most 0.5, so it cannot reach 0.7; "
            "lower this with min_score.",
        ),
        "max_prevalence": Tunable(
            0.5, "Share of our hosts calling a destination that rules it out."
        ),
        "ignored_ports": Tunable((53, 123), "Periodic by design (DNS, NTP)."),
    },
    cases=(
        Case(
            "every 5 minutes with 20 s of jitter for 6 hours",
            calls(VM, 300, 70, jitter=20),
            expect=1,
            check={"src_ip": VM, "dst_ip": C2},
        ),
        Case("every 30 minutes, 12 calls", calls(VM, 1800, 12), expect=1),
        Case("hourly, 14 % jitter, 6 calls", calls(VM, 3590, 6, jitter=500), expect=1),
        Case(
            "browsing: irregular times and sizes",
            tuple(
                CaseFlow(
                    (i * i * 37) % 21000,
                    VM,
                    C2,
                    443,
                    src_port=21000 + i,
                    src_bytes=500 + (i * 7717) % 90000,
                )
                for i in range(40)
            ),
            expect=0,
        ),
        Case(
            "the same agent on all four VMs",
            tuple(f for n in range(4) for f in calls(f"10.0.14.{n + 10}", 300, 70)),
            expect=0,
        ),
        Case("three calls", calls(VM, 300, 3), expect=0),
        Case("every 10 minutes with 50 % jitter", calls(VM, 600, 36, jitter=300), expect=1),
    ),
)
