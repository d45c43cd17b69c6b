"""Distributed brute force against one service (research B2): within six hours, at least 20
internet addresses making at least 100 short, allowed connections in all to one VM's admin or
database port. Six hours, because sprays go low and slow (a hundred sources a few tries each
across an afternoon); internet background on an exposed port is a handful of sources. Without
a per-host baseline this stays at low severity.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, INBOUND_FROM_INTERNET, connections

VM = "10.0.9.4"
PORTS = (22, 3389, 21, 445, 1433, 3306, 5432, 5900, 5985, 5986, 27017)


def query(d: Sql) -> str:
    where = f"{INBOUND_FROM_INTERNET} AND {ALLOWED} AND {d.in_list('dst_port', 'ports')}"
    return f"""
WITH {connections(d, where, ("dst_ip", "dst_port"), d.param("min_attempts")).strip()}
SELECT bucket, CAST(NULL AS VARCHAR) AS src_ip, dst_ip, dst_port, min(protocol) AS protocol,
       {d.any_value("resource_id")} AS resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(started) AS first_seen, max(ended) AS last_seen, sum(flows) AS flow_count,
       sum(bytes) AS bytes, count(*) AS attempts, {d.count_distinct("src_ip")} AS sources
FROM conns
WHERE bytes <= {d.param("max_attempt_bytes")}
GROUP BY bucket, dst_ip, dst_port
HAVING sources >= {d.param("min_sources")} AND attempts >= {d.param("min_attempts")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def attempts(sources: int, each: int, size: int = 3000) -> tuple[CaseFlow, ...]:
    return tuple(
        CaseFlow(
            s * 60 + i * 5,
            f"11.23.{s}.9",
            VM,
            22,
            src_port=20000 + i,
            src_bytes=size,
            dst_bytes=size,
        )
        for s in range(sources)
        for i in range(each)
    )


RULE = Rule(
    meta=RuleMeta(
        id="distributed_brute_force",
        title="Distributed brute force against one service",
        level="low",
        description=(
            "At least 20 internet addresses made at least 100 short connections in all to one "
            "VM's admin or database port within six hours: a botnet guessing passwords."
        ),
        tactics=("TA0006",),
        techniques=("T1110",),
        false_positives=(
            "A popular service whose clients reconnect often (an SFTP drop box for many "
            "partners): raise the thresholds for that VM or suppress its port.",
        ),
        runbook=(
            "Restrict the port to known addresses (or Azure Bastion / VPN). Check the "
            "service's login failures and look for brute_force_then_success on the VM."
        ),
    ),
    window_seconds=6 * 3600,
    query=query,
    dedup=("dst_ip", "dst_port"),
    tunables={
        "ports": Tunable(PORTS, "Services guessed against."),
        "min_sources": Tunable(20, "Distinct internet sources in six hours."),
        "min_attempts": Tunable(100, "Short connections in six hours, all sources together."),
        "max_attempt_bytes": Tunable(20_000, "Bytes (both ways) of an attempt, at most."),
    },
    cases=(
        Case("30 sources, 10 tries each", attempts(30, 10), expect=1, check={"dst_port": 22}),
        Case("low and slow: 96 sources, 3 tries each", attempts(96, 3), expect=1),
        Case("background: 8 sources, 10 tries each", attempts(8, 10), expect=0),
        Case("30 partners uploading files", attempts(30, 10, size=400_000), expect=0),
    ),
)
