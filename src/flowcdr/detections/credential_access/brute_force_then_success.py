"""Brute force followed by a session (research B3, no anchor has it on flows): at least 20
short failed-looking connections from one source to an admin or database port, then a
connection from the same source that is clearly a session: 100 kB or more, or five minutes or
longer (the research's >10x the attempt size or >5 minutes). The guessing worked. Attempts
count from the hour before the session's hour too, so a session just after an hour boundary
is still tied to the guessing before it. Only (source, VM, port) keys with that many flows in
the whole range are broken down into connections.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, BYTES, INBOUND_FROM_INTERNET

GUESSER, VM = "11.22.33.49", "10.0.8.4"
PORTS = (22, 3389, 21, 445, 1433, 3306, 5432, 5900, 5985, 5986, 27017)
WINDOW = 3600


def query(d: Sql) -> str:
    where = f"{INBOUND_FROM_INTERNET} AND {ALLOWED} AND {d.in_list('dst_port', 'ports')}"
    duration = f"({d.epoch('ended')} - {d.epoch('started')})"
    small = f"(bytes <= {d.param('max_attempt_bytes')} AND {duration} < 60)"
    session = (
        f"(NOT {small} AND (bytes >= {d.param('min_session_bytes')} "
        f"OR {duration} >= {d.param('min_session_seconds')}))"
    )
    history = d.history(WINDOW, WINDOW)
    return f"""
WITH candidates AS (
    SELECT src_ip, dst_ip, dst_port FROM {history} AS h WHERE {where}
    GROUP BY src_ip, dst_ip, dst_port HAVING count(*) >= {d.param("min_attempts")}
),
conns AS (
    SELECT bucket, src_ip, dst_ip, dst_port, src_port, min(protocol) AS protocol,
           {d.any_value("resource_id")} AS resource_id,
           {d.any_value("subscription_id")} AS subscription_id,
           min(time) AS started, max(time) AS ended, count(*) AS flows, sum({BYTES}) AS bytes
    FROM {history} AS h JOIN candidates USING (src_ip, dst_ip, dst_port)
    WHERE {where}
    GROUP BY bucket, src_ip, dst_ip, dst_port, src_port
),
hours AS (
    SELECT bucket, src_ip, dst_ip, dst_port, min(protocol) AS protocol,
           {d.any_value("resource_id")} AS resource_id,
           {d.any_value("subscription_id")} AS subscription_id,
           min(started) AS first_seen, max(ended) AS last_seen, sum(flows) AS flow_count,
           sum(bytes) AS bytes,
           {d.count_if(small)} AS attempts,
           min(CASE WHEN {small} THEN started END) AS first_attempt,
           max(CASE WHEN {session} THEN started END) AS session_started,
           max(CASE WHEN {session} THEN bytes END) AS session_bytes,
           max(CASE WHEN {session} THEN {duration} END) AS session_seconds
    FROM conns
    GROUP BY bucket, src_ip, dst_ip, dst_port
)
SELECT cur.bucket AS bucket, cur.src_ip AS src_ip, cur.dst_ip AS dst_ip,
       cur.dst_port AS dst_port, cur.protocol AS protocol, cur.resource_id AS resource_id,
       cur.subscription_id AS subscription_id,
       least(cur.first_seen, coalesce(prev.first_seen, cur.first_seen)) AS first_seen,
       cur.last_seen AS last_seen, cur.flow_count + coalesce(prev.flow_count, 0) AS flow_count,
       cur.bytes + coalesce(prev.bytes, 0) AS bytes,
       cur.attempts + coalesce(prev.attempts, 0) AS attempts,
       cur.session_started AS session_started, cur.session_bytes AS session_bytes,
       cur.session_seconds AS session_seconds
FROM hours AS cur
LEFT JOIN hours AS prev
  ON prev.bucket = cur.bucket - INTERVAL {WINDOW} SECOND AND prev.src_ip = cur.src_ip
 AND prev.dst_ip = cur.dst_ip AND prev.dst_port = cur.dst_port
WHERE cur.bucket >= {d.window_start()} AND cur.session_started IS NOT NULL
  AND cur.attempts + coalesce(prev.attempts, 0) >= {d.param("min_attempts")}
  AND least(coalesce(prev.first_attempt, cur.first_attempt), coalesce(cur.first_attempt,
      prev.first_attempt)) < cur.session_started
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def attempt(at: float, index: int) -> CaseFlow:
    return CaseFlow(at, GUESSER, VM, 22, src_port=41000 + index, src_bytes=3000, dst_bytes=3600)


SESSION = CaseFlow(400, GUESSER, VM, 22, src_port=42000, src_bytes=90_000, dst_bytes=400_000)

RULE = Rule(
    meta=RuleMeta(
        id="brute_force_then_success",
        title="Brute force followed by a successful session",
        level="high",
        description=(
            "An internet address made at least 20 short, failed-looking connections to an "
            "admin or database port of a VM, then a long or large session to the same port "
            "within the hour: the guessing probably succeeded."
        ),
        tactics=("TA0006", "TA0001"),
        techniques=("T1110", "T1078", "T1133"),
        false_positives=(
            "An administrator who mistyped a password many times, then logged in: confirm "
            "with them; the source address tells.",
        ),
        runbook=(
            "Treat as a compromise until shown otherwise: find the account that logged in "
            "from the source in the VM's auth logs, reset it, and review what the session "
            "did. Restrict the port to known addresses."
        ),
    ),
    window_seconds=WINDOW,
    query=query,
    dedup=("src_ip", "dst_ip", "dst_port"),
    tunables={
        "ports": Tunable(PORTS, "Services guessed against."),
        "min_attempts": Tunable(20, "Failed-looking connections before the session."),
        "max_attempt_bytes": Tunable(20_000, "Bytes (both ways) of an attempt, at most."),
        "min_session_bytes": Tunable(100_000, "Bytes (both ways) that make a session."),
        "min_session_seconds": Tunable(300, "Or its duration, in seconds."),
    },
    cases=(
        Case(
            "25 attempts, then a 490 kB session",
            (*(attempt(i * 10, i) for i in range(25)), SESSION),
            expect=1,
            check={"src_ip": GUESSER, "dst_port": 22, "severity": "high"},
        ),
        Case("25 attempts and no session", tuple(attempt(i * 10, i) for i in range(25)), expect=0),
        Case(
            "attempts before the hour, the session just after it",
            (*(attempt(3300 + i * 10, i) for i in range(25)), SESSION._replace(at=3700)),
            expect=1,
        ),
        Case(
            "an admin's session first, then a burst of short reconnects",
            (SESSION._replace(at=0), *(attempt(600 + i * 10, i) for i in range(25))),
            expect=0,
        ),
    ),
)
