"""Large one-way upload to a rare internet host (research X2, no anchor scores asymmetry on
flows): within an hour, a VM sent at least 100 MB to one internet host and received at most a
tenth of that back, and no other of our hosts talks to that host. Browsing and downloads
pull data; backups to known storage are common destinations (not rare) or suppressed by
address. Only VMs that sent that much in all are broken down by destination.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, TO_INTERNET, context

VM, DROP = "10.0.22.4", "22.66.7.7"
MB = 1_000_000


def query(d: Sql) -> str:
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
callers AS (
    SELECT bucket, dst_ip, {d.count_distinct("src_ip")} AS callers FROM f
    WHERE {TO_INTERNET} AND dst_ip IN (SELECT dst_ip FROM pairs) GROUP BY bucket, dst_ip
)
SELECT pairs.*, callers.callers AS callers,
       round(pairs.bytes_sent / greatest(pairs.bytes_received, 1), 1) AS upload_ratio
FROM pairs JOIN callers ON callers.bucket = pairs.bucket AND callers.dst_ip = pairs.dst_ip
WHERE callers.callers <= {d.param("max_callers")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def transfer(sent: int, received: int, dst: str = DROP, src: str = VM) -> tuple[CaseFlow, ...]:
    return tuple(
        CaseFlow(
            i * 60,
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
            "hosts contacts, receiving at most a tenth of that back."
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
        "max_callers": Tunable(1, "Our hosts contacting the destination, at most (rarity)."),
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
    ),
)
