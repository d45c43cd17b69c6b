"""Long-lived connection to a rarely contacted internet host (research C2, RITA's long
connections): one TCP or UDP 5-tuple, begun before the hour, still logging ``continue``
tuples at its end, to a destination at most two of our hosts talk to. Such a connection has
lived an hour or more: a reverse shell, a tunnel, C2 over one session. The finding grows hour
by hour while it lasts (``windows`` is its age in hours, RITA's 1/4/8/12 h ladder).

A long life is a property of a session more than an incident: when a more specific finding
explains the same session (an upload to a rare host, a Tor circuit, a miner), the long
connection is folded into it as corroboration (``RuleMeta.corroborating``); alone, a reverse
shell or a tunnel, it is a finding of its own.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, BYTES, TO_INTERNET

VM, REMOTE = "10.0.16.4", "22.66.3.3"
EDGE = 600
"""A connection alive across the hour logs a tuple within this many seconds of each end."""


def query(d: Sql) -> str:
    start, first, last = d.epoch("bucket"), d.epoch("min(time)"), d.epoch("max(time)")
    where = f"{TO_INTERNET} AND {ALLOWED}"
    return f"""
WITH early AS (
    SELECT DISTINCT bucket, src_ip, dst_ip, dst_port, src_port FROM f
    WHERE {where} AND state = 'continue' AND {d.epoch("time")} - {start} <= {EDGE}
),
conns AS (
    SELECT bucket, src_ip, dst_ip, dst_port, src_port, min(protocol) AS protocol,
           {d.any_value("resource_id")} AS resource_id,
           {d.any_value("subscription_id")} AS subscription_id,
           min(time) AS first_seen, max(time) AS last_seen, count(*) AS flow_count,
           sum({BYTES}) AS bytes
    FROM f JOIN early USING (bucket, src_ip, dst_ip, dst_port, src_port) WHERE {where}
    GROUP BY bucket, src_ip, dst_ip, dst_port, src_port
    HAVING {d.count_if("state = 'begin'")} = 0
       AND {first} - {start} <= {EDGE} AND {start} + 3600 - {last} <= {EDGE}
),
callers AS (
    SELECT bucket, dst_ip, {d.count_distinct("src_ip")} AS callers FROM f
    WHERE {TO_INTERNET} AND dst_ip IN (SELECT dst_ip FROM conns) GROUP BY bucket, dst_ip
)
SELECT conns.*, callers.callers AS callers
FROM conns JOIN callers ON callers.bucket = conns.bucket AND callers.dst_ip = conns.dst_ip
WHERE callers.callers <= {d.param("max_callers")}
  AND NOT {d.in_list("conns.dst_port", "ignored_ports")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def session(dst: str = REMOTE, port: int = 4443, minutes: int = 130) -> tuple[CaseFlow, ...]:
    """A begin tuple, then a continue tuple every minute (as Azure logs open connections)."""
    return (
        CaseFlow(0, VM, dst, port, src_port=51000, state="begin"),
        *(
            CaseFlow(m * 60 + 30, VM, dst, port, src_port=51000, state="continue")
            for m in range(minutes)
        ),
    )


RULE = Rule(
    meta=RuleMeta(
        id="long_connection",
        title="Long-lived connection to a rare internet host",
        level="low",
        description=(
            "A VM kept one connection to an internet host open for a whole hour or more, to "
            "a destination at most two of our hosts contact. When a more specific finding "
            "(an upload, Tor, mining...) covers the same session, it is folded into it."
        ),
        tactics=("TA0011",),
        techniques=("T1071", "T1572"),
        false_positives=(
            "VPN tunnels, database replication and websockets to a partner: suppress the "
            "destination.",
        ),
        runbook=(
            "Identify the process owning the connection on the VM (ss -tp, netstat -b). An "
            "interactive shell or tunnel tool talking to an unknown host is an intrusion."
        ),
        corroborating=True,
    ),
    window_seconds=3600,
    query=query,
    dedup=("src_ip", "dst_ip", "dst_port"),
    dedup_seconds=3600,
    tunables={
        "max_callers": Tunable(2, "Our hosts talking to the destination, at most (rarity)."),
        "ignored_ports": Tunable((), "Destination ports of known long-lived services."),
    },
    cases=(
        Case(
            "a shell open for 130 minutes",
            session(),
            expect=1,
            check={"src_ip": VM, "dst_ip": REMOTE, "dst_port": 4443},
        ),
        Case("a 50-minute download", session(minutes=50), expect=0),
        Case(
            "a popular service: five VMs hold sessions to it",
            tuple(f._replace(src=f"10.0.16.{n + 10}") for n in range(5) for f in session()),
            expect=0,
        ),
    ),
)
