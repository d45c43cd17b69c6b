"""Large one-way upload to a rare internet host (research X2, no anchor scores asymmetry on
flows): within an hour, a VM sent at least 100 MB to one internet host and received at most a
tenth of that back. Browsing and downloads pull data; what is left is backups, file drops and
exfiltration. Only VMs that sent that much in all are broken down by destination.

Two baselines, both read from the week of flows before the hour (the flow store is the
baseline, as for ``new_exposed_port``, so an offline run and a streaming run agree):

- rarity across the estate (RITA's prevalence): the destination is contacted by no other of our
  hosts that week up to this hour. A storage front end that every database VM backs up to is
  not rare, even in the hour when only one VM's backup is still running;
- the VM's own habit: it already uploaded to this destination at least 12 hours earlier in the
  week (last night's backup), and this hour is not ten times above the most it sent there in
  an hour. An upload far above its usual, or to a new destination, still fires.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, TO_INTERNET, context

VM, DROP = "10.0.22.4", "22.66.7.7"
MB = 1_000_000
WINDOW, DAY = 3600, 86_400
LOOKBACK_SECONDS = 7 * DAY
USUAL_AFTER_SECONDS = 12 * 3600
"""An earlier upload counts as the VM's habit from this long before: yesterday's backup does,
the previous hour of the same transfer does not."""


def query(d: Sql) -> str:
    bucket, seen = d.epoch("p.bucket"), d.epoch("s.seen_bucket")
    return f"""
WITH uploaders AS (
    SELECT bucket, src_ip FROM f WHERE {TO_INTERNET} AND {ALLOWED}
    GROUP BY bucket, src_ip HAVING sum(coalesce(src_bytes, 0)) >= {d.param("min_bytes")}
),
pairs AS (
    SELECT bucket, src_ip, dst_ip, CAST(min(dst_port) AS INTEGER) AS dst_port,
           min(protocol) AS protocol, {context(d)},
           sum(coalesce(src_bytes, 0)) AS bytes_sent,
           sum(coalesce(dst_bytes, 0)) AS bytes_received
    FROM f JOIN uploaders USING (bucket, src_ip) WHERE {TO_INTERNET} AND {ALLOWED}
    GROUP BY bucket, src_ip, dst_ip
    HAVING bytes_sent >= {d.param("min_bytes")}
       AND bytes_sent >= {d.param("min_ratio")} * bytes_received
),
seen AS (
    SELECT bucket AS seen_bucket, src_ip, dst_ip, sum(coalesce(src_bytes, 0)) AS sent
    FROM {d.history(LOOKBACK_SECONDS, WINDOW)} AS h
    WHERE {TO_INTERNET} AND dst_ip IN (SELECT dst_ip FROM pairs)
    GROUP BY bucket, src_ip, dst_ip
),
callers AS (
    SELECT p.bucket AS bucket, p.dst_ip AS dst_ip, {d.count_distinct("s.src_ip")} AS callers
    FROM (SELECT DISTINCT bucket, dst_ip FROM pairs) AS p
    JOIN seen AS s ON s.dst_ip = p.dst_ip
    WHERE {seen} <= {bucket} AND {seen} >= {bucket} - {LOOKBACK_SECONDS}
    GROUP BY p.bucket, p.dst_ip
),
usual AS (
    SELECT p.bucket AS bucket, p.src_ip AS src_ip, p.dst_ip AS dst_ip, max(s.sent) AS usual
    FROM pairs AS p JOIN seen AS s ON s.src_ip = p.src_ip AND s.dst_ip = p.dst_ip
    WHERE {seen} <= {bucket} - {USUAL_AFTER_SECONDS} AND {seen} >= {bucket} - {LOOKBACK_SECONDS}
    GROUP BY p.bucket, p.src_ip, p.dst_ip
)
SELECT pairs.*, callers.callers AS callers,
       coalesce(usual.usual, 0) AS usual_hourly_bytes,
       round(pairs.bytes_sent / greatest(pairs.bytes_received, 1), 1) AS upload_ratio
FROM pairs
JOIN callers ON callers.bucket = pairs.bucket AND callers.dst_ip = pairs.dst_ip
LEFT JOIN usual ON usual.bucket = pairs.bucket AND usual.src_ip = pairs.src_ip
    AND usual.dst_ip = pairs.dst_ip
WHERE callers.callers <= {d.param("max_callers")}
  AND pairs.bytes_sent > {d.param("max_growth")} * coalesce(usual.usual, 0)
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def transfer(
    sent: int, received: int, dst: str = DROP, src: str = VM, at: int = 0
) -> tuple[CaseFlow, ...]:
    return tuple(
        CaseFlow(
            at + i * 60,
            src,
            dst,
            443,
            src_port=52000,
            state="continue",
            src_bytes=sent // 20,
            dst_bytes=received // 20,
        )
        for i in range(20)
    )


RULE = Rule(
    meta=RuleMeta(
        id="upload_asymmetry",
        title="Large one-way upload to a rare internet host",
        level="medium",
        description=(
            "A VM uploaded at least 100 MB within an hour to an internet host no other of our "
            "hosts contacted that week, receiving at most a tenth of that back, and had not "
            "uploaded there before (12 hours to a week earlier) or now sends over ten times "
            "its most in an hour there."
        ),
        tactics=("TA0010",),
        techniques=("T1041", "T1030", "T1567"),
        false_positives=(
            "Backups or uploads to a storage provider by address: suppress the destination.",
        ),
        runbook=(
            "Identify the destination's owner and the process that sent the data. Compare "
            "with the VM's usual traffic; if unexplained, treat it as exfiltration: preserve "
            "the VM and find what data it holds."
        ),
    ),
    window_seconds=3600,
    query=query,
    dedup=("src_ip", "dst_ip"),
    tunables={
        "min_bytes": Tunable(100 * MB, "Bytes sent to one host in an hour."),
        "min_ratio": Tunable(10, "Sent over received, at least."),
        "max_callers": Tunable(
            1, "Our hosts contacting the destination in the week up to the hour, at most."
        ),
        "max_growth": Tunable(
            10, "Times the VM's most in an hour to that destination that still is its habit."
        ),
    },
    cases=(
        Case("400 MB out, 2 MB back", transfer(400 * MB, 2 * MB), expect=1, check={"dst_ip": DROP}),
        Case("a 400 MB download", transfer(4 * MB, 400 * MB), expect=0),
        Case("50 MB out", transfer(50 * MB, 1 * MB), expect=0),
        Case(
            "the storage account two VMs back up to",
            tuple(f for n in range(2) for f in transfer(400 * MB, 2 * MB, src=f"10.0.22.{n + 10}")),
            expect=0,
        ),
        Case(
            "a backup's second hour, when the other VM's backup to that account has ended",
            transfer(400 * MB, 2 * MB, src="10.0.22.11")
            + transfer(400 * MB, 2 * MB, src="10.0.22.10")
            + transfer(400 * MB, 2 * MB, src="10.0.22.10", at=3600),
            expect=0,
        ),
        Case(
            "last night's backup again, at its usual size",
            transfer(400 * MB, 2 * MB) + transfer(500 * MB, 2 * MB, at=DAY),
            expect=1,
            check={"windows": 1},  # the first night only: the second is its habit
        ),
        Case(
            "twenty times last night's upload",
            transfer(200 * MB, 1 * MB) + transfer(4_000 * MB, 2 * MB, at=DAY),
            expect=1,
            check={"windows": 2},  # both nights: the second is far above the first
        ),
    ),
)
