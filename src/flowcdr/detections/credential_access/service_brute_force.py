"""Password guessing against databases and other services from the internet (research B4):
the SSH/RDP rule's logic on SQL Server, MySQL, PostgreSQL, Oracle, MongoDB, FTP, VNC, WinRM
and SMB. Connection-pool churn from our own app servers is east-west, so external sources
only, as the research advises.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, INBOUND_FROM_INTERNET, brute_force

GUESSER, DB = "11.22.33.48", "10.0.7.4"
PORTS = (21, 445, 1433, 1521, 3306, 5432, 5900, 5901, 5985, 5986, 27017)


def query(d: Sql) -> str:
    return brute_force(
        d, f"{INBOUND_FROM_INTERNET} AND {ALLOWED} AND {d.in_list('dst_port', 'ports')}"
    )


def attempt(at: float, port: int, index: int, src: str = GUESSER, size: int = 900) -> CaseFlow:
    return CaseFlow(at, src, DB, port, src_port=30000 + index, src_packets=6, src_bytes=size,
                    dst_packets=5, dst_bytes=size)  # fmt: skip


RULE = Rule(
    meta=RuleMeta(
        id="service_brute_force",
        title="Database or service brute force from the internet",
        level="high",
        description=(
            "An internet address made at least 25 short, similar connections to a database, "
            "FTP, VNC, WinRM or SMB port of one VM within five minutes."
        ),
        tactics=("TA0006",),
        techniques=("T1110.001",),
        false_positives=("A partner's integration that reconnects per query: suppress it.",),
        runbook=(
            "A data store should not face the internet: see data_store_port_exposed for the "
            "VM, check the service's login failures, and close the port at the NSG."
        ),
    ),
    window_seconds=300,
    query=query,
    dedup=("src_ip", "dst_ip", "dst_port"),
    tunables={
        "ports": Tunable(PORTS, "Services guessed against."),
        "min_attempts": Tunable(25, "Connections in five minutes."),
        "max_attempt_bytes": Tunable(20_000, "Median bytes (both ways) of an attempt."),
        "max_size_spread": Tunable(0.2, "Interquartile range of sizes over their median."),
    },
    cases=(
        Case(
            "40 SQL Server logins in 3 minutes",
            tuple(attempt(i * 4, 1433, i) for i in range(40)),
            expect=1,
            check={"dst_port": 1433, "severity": "high"},
        ),
        Case(
            "40 connections from 40 different clients",
            tuple(attempt(i * 4, 1433, i, src=f"11.22.34.{i + 1}") for i in range(40)),
            expect=0,
        ),
        Case(
            "HTTPS is not a guessed service",
            tuple(attempt(i * 4, 443, i) for i in range(40)),
            expect=0,
        ),
    ),
)
