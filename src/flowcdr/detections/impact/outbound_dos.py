"""Denial of service from one of our VMs (research I1; Defender's outgoing DDoS alert,
GuardDuty's DenialOfService findings): within a minute, at least 1,000 new connections, or
100,000 packets that the other side hardly answers (at most 1 % back), from one VM to one
internet host. A flood is many small, unanswered packets; a bulk upload (a backup to storage)
sends as many packets, but TCP acknowledges them, so the reply share tells them apart.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import TO_INTERNET, context

VM, VICTIM = "10.0.24.4", "22.66.9.9"


def query(d: Sql) -> str:
    unanswered = (
        f"sum(coalesce(src_packets, 0)) >= {d.param('min_packets')} "
        "AND sum(coalesce(dst_packets, 0)) * 100 <= sum(coalesce(src_packets, 0))"
    )
    enough = f"count(*) >= {d.param('min_connections')} OR ({unanswered})"
    return f"""
WITH candidates AS (
    SELECT bucket, src_ip, dst_ip FROM f WHERE {TO_INTERNET}
    GROUP BY bucket, src_ip, dst_ip HAVING {enough}
)
SELECT bucket, src_ip, dst_ip, CAST(min(dst_port) AS INTEGER) AS dst_port,
       min(protocol) AS protocol, {context(d)},
       {d.count_distinct("src_port")} AS connections,
       sum(coalesce(src_packets, 0)) AS packets_sent,
       sum(coalesce(dst_packets, 0)) AS packets_received,
       {d.count_distinct("dst_port")} AS ports
FROM f JOIN candidates USING (bucket, src_ip, dst_ip)
WHERE {TO_INTERNET}
GROUP BY bucket, src_ip, dst_ip
HAVING connections >= {d.param("min_connections")} OR ({unanswered})
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="outbound_dos",
        title="Denial of service from one of our VMs",
        level="high",
        description=(
            "A VM opened at least 1,000 connections or sent at least 100,000 packets to one "
            "internet host within a minute: it is flooding it."
        ),
        tactics=("TA0040",),
        techniques=("T1498.001", "T1499"),
        false_positives=("A load test you run against your own public endpoint: suppress it.",),
        runbook=(
            "Block the VM's outbound traffic at the NSG now (Azure may otherwise act on the "
            "subscription), then find the process: a DDoS bot means the VM is compromised."
        ),
    ),
    window_seconds=60,
    query=query,
    dedup=("src_ip", "dst_ip"),
    dedup_seconds=3600,
    tunables={
        "min_connections": Tunable(1_000, "New connections to one host in a minute."),
        "min_packets": Tunable(100_000, "Unanswered packets to one host in a minute."),
    },
    cases=(
        Case(
            "a SYN flood: 1,500 connections in 30 seconds",
            tuple(
                CaseFlow(
                    i / 50,
                    VM,
                    VICTIM,
                    80,
                    src_port=10000 + i,
                    state="begin",
                    src_packets=None,
                    src_bytes=None,
                    dst_packets=None,
                    dst_bytes=None,
                )
                for i in range(1500)
            ),
            expect=1,
            check={"dst_ip": VICTIM, "severity": "high"},
        ),
        Case(
            "a UDP flood on one socket",
            tuple(
                CaseFlow(
                    i,
                    VM,
                    VICTIM,
                    53,
                    protocol=17,
                    state="continue",
                    src_packets=5_000,
                    src_bytes=5_000_000,
                    dst_packets=0,
                    dst_bytes=0,
                )
                for i in range(30)
            ),
            expect=1,
        ),
        Case(
            "a backup upload: 600,000 packets a minute, acknowledged",
            tuple(
                CaseFlow(
                    i,
                    VM,
                    VICTIM,
                    443,
                    state="continue",
                    src_packets=20_000,
                    src_bytes=28_000_000,
                    dst_packets=10_000,
                    dst_bytes=600_000,
                )
                for i in range(30)
            ),
            expect=0,
        ),
        Case(
            "a busy API client: 300 requests a minute",
            tuple(CaseFlow(i / 5, VM, VICTIM, 443, src_port=10000 + i) for i in range(300)),
            expect=0,
        ),
    ),
)
