"""Brute force from one of our VMs against internet hosts (research B5; Defender's
SSH/RDP_Outgoing_BF alerts): within half an hour, short connections to an admin or database
port of 20 or more internet hosts (one-to-many), or 50 or more to one host (one-to-one).
Abuse complaints to the subscription owner usually follow. Half an hour, not ten minutes: a
compromised VM working through a list at a few hosts a minute (34 hosts in 50 minutes in the
simulator's untuned seeds) stays under 20 in any ten minutes, and benign VMs do not open SSH
or RDP to twenty different internet hosts in half an hour.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, TO_INTERNET, connections

VM = "10.0.10.4"
PORTS = (22, 23, 3389, 21, 445, 1433, 3306, 5432, 5900, 5985, 5986)


def query(d: Sql) -> str:
    where = f"{TO_INTERNET} AND {ALLOWED} AND {d.in_list('dst_port', 'ports')}"
    least = f"least({d.param('min_targets')}, {d.param('min_attempts_one_target')})"
    return f"""
WITH {connections(d, where, ("src_ip", "dst_port"), least).strip()},
per_target AS (
    SELECT bucket, src_ip, dst_ip, dst_port, min(protocol) AS protocol,
           {d.any_value("resource_id")} AS resource_id,
           {d.any_value("subscription_id")} AS subscription_id,
           min(started) AS first_seen, max(ended) AS last_seen, sum(flows) AS flow_count,
           sum(bytes) AS bytes, count(*) AS attempts
    FROM conns WHERE bytes <= {d.param("max_attempt_bytes")}
    GROUP BY bucket, src_ip, dst_ip, dst_port
)
SELECT bucket, src_ip,
       CASE WHEN count(*) = 1 THEN min(dst_ip) END AS dst_ip,
       dst_port, min(protocol) AS protocol,
       {d.any_value("resource_id")} AS resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       sum(flow_count) AS flow_count, sum(bytes) AS bytes,
       count(*) AS targets, max(attempts) AS most_attempts_on_one_target,
       sum(attempts) AS attempts
FROM per_target
GROUP BY bucket, src_ip, dst_port
HAVING targets >= {d.param("min_targets")}
    OR most_attempts_on_one_target >= {d.param("min_attempts_one_target")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def tries(targets: int, each: int, port: int = 22, size: int = 3000) -> tuple[CaseFlow, ...]:
    return tuple(
        CaseFlow(
            t * 10 + i,
            VM,
            f"22.40.{t}.{i % 200 + 1}" if each == 1 else f"22.40.{t}.1",
            port,
            src_port=30000 + t * 100 + i,
            src_bytes=size,
            dst_bytes=size,
        )
        for t in range(targets)
        for i in range(each)
    )


RULE = Rule(
    meta=RuleMeta(
        id="outbound_brute_force",
        title="Brute force from one of our VMs",
        level="high",
        description=(
            "A VM made short connections to an admin or database port of at least 20 "
            "internet hosts, or at least 50 to one, within half an hour: it is guessing "
            "passwords, most likely because it was compromised."
        ),
        tactics=("TA0006",),
        techniques=("T1110",),
        false_positives=(
            "A management VM running a fleet tool over SSH against hosts outside Azure: "
            "suppress it by source.",
        ),
        runbook=(
            "Isolate the VM (NSG deny outbound), capture its disk, and find the process "
            "making the connections. Expect abuse reports naming its public IP."
        ),
    ),
    window_seconds=1800,
    query=query,
    dedup=("src_ip", "dst_port"),
    tunables={
        "ports": Tunable(PORTS, "Services guessed against."),
        "min_targets": Tunable(20, "Internet hosts tried in half an hour (one-to-many)."),
        "min_attempts_one_target": Tunable(50, "Tries on one host in half an hour (one-to-one)."),
        "max_attempt_bytes": Tunable(20_000, "Bytes (both ways) of an attempt, at most."),
    },
    cases=(
        Case("one-to-many: 30 hosts", tries(30, 1), expect=1, check={"src_ip": VM}),
        Case("one-to-one: 60 tries", tries(1, 60), expect=1, check={"dst_ip": "22.40.0.1"}),
        Case("git over SSH to 3 hosts, big transfers", tries(3, 10, size=500_000), expect=0),
        Case("HTTPS to 30 hosts", tries(30, 1, port=443), expect=0),
    ),
)
