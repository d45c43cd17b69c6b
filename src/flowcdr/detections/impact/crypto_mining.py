"""Crypto-mining from one of our VMs (research I3; GuardDuty's BitcoinTool, Traffic Analytics'
CryptoMining threat type): a session to an internet host on a mining-pool (stratum) port kept
up for at least 40 minutes of an hour, or any session with an address on a threat-intel list
whose name mentions mining. Ports such as 4444 and 8888 are also development ports: the
persistence requirement is what the research asks for.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, TO_INTERNET, context

VM, POOL = "10.0.26.4", "22.66.10.10"
PORTS = (3333, 3334, 3357, 4444, 5555, 7777, 8888, 9999, 14433, 14444, 45560, 45700)


def query(d: Sql) -> str:
    listed = "lower(coalesce(intel_match, '')) LIKE '%min%'"
    span = f"({d.epoch('max(time)')} - {d.epoch('min(time)')})"
    return f"""
SELECT bucket, src_ip, dst_ip, CAST(min(dst_port) AS INTEGER) AS dst_port,
       min(protocol) AS protocol, {context(d)},
       {span} AS active_seconds,
       max(CASE WHEN {listed} THEN 1 ELSE 0 END) = 1 AS on_mining_list
FROM f
WHERE {TO_INTERNET} AND {ALLOWED} AND coalesce(dst_packets, 0) > 0
  AND (({d.in_list("dst_port", "ports")} AND NOT {d.in_list("src_port", "ports")}) OR {listed})
GROUP BY bucket, src_ip, dst_ip
HAVING {span} >= {d.param("min_active_seconds")} OR on_mining_list
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def stratum(minutes: int, port: int = 3333) -> tuple[CaseFlow, ...]:
    return tuple(
        CaseFlow(
            m * 60,
            VM,
            POOL,
            port,
            src_port=54000,
            state="continue",
            src_packets=4,
            src_bytes=600,
            dst_packets=4,
            dst_bytes=700,
        )
        for m in range(minutes)
    )


RULE = Rule(
    meta=RuleMeta(
        id="crypto_mining",
        title="Crypto-mining from one of our VMs",
        level="high",
        description=(
            "A VM kept a session to a mining-pool port of an internet host for at least 40 "
            "minutes of an hour, or talked to an address on a mining threat-intel list."
        ),
        tactics=("TA0040",),
        techniques=("T1496.001",),
        false_positives=("A long-running development server on port 8888 or 4444.",),
        runbook=(
            "Check the VM's CPU. Find and kill the miner, then find how it got there (exposed "
            "service, stolen credentials): miners are usually the first payload, not the last."
        ),
    ),
    window_seconds=3600,
    query=query,
    dedup=("src_ip", "dst_ip"),
    tunables={
        "ports": Tunable(PORTS, "Mining-pool (stratum) ports."),
        "min_active_seconds": Tunable(2400, "Seconds of one hour the session stays up."),
    },
    cases=(
        Case("stratum for 55 minutes", stratum(56), expect=1, check={"dst_port": 3333}),
        Case("a 10-minute test on port 8888", stratum(10, port=8888), expect=0),
        Case(
            "a listed pool on 443",
            stratum(3, port=443),
            expect=1,
            intel=(POOL,),
            intel_list="coinblocker-mining",
        ),
    ),
)
