"""Newly exposed port (research E3; Panther's inbound port allowlist, Traffic Analytics' open
ports): a VM's port answered internet traffic in this hour and had not in the 14 days before.
Deployments open ports; so do attackers (a bind shell) and mistakes (a debug port). After a
day of learning, each new (VM, port) fires once. Web ports are expected and left out.

The baseline is the flow store itself: the rule looks back 14 days before the range it
evaluates, so an offline run and a streaming run agree on what was "seen before".
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, BYTES, INBOUND_FROM_INTERNET, NO_SRC

WINDOW, LOOKBACK_DAYS, LEARNING_SECONDS = 3600, 14, 86_400
CLIENT, VM = "11.22.33.60", "10.0.32.4"
DAY = 86_400


def query(d: Sql) -> str:
    return f"""
WITH exposures AS (
    SELECT bucket, dst_ip, dst_port, min(protocol) AS protocol,
           {d.any_value("resource_id")} AS resource_id,
           {d.any_value("subscription_id")} AS subscription_id,
           min(time) AS first_seen, max(time) AS last_seen, count(*) AS flow_count,
           sum({BYTES}) AS bytes, {d.count_distinct("src_ip")} AS sources,
           {d.any_value("rule")} AS rule
    FROM {d.history(LOOKBACK_DAYS * DAY, WINDOW)} AS h
    WHERE {INBOUND_FROM_INTERNET} AND {ALLOWED} AND coalesce(dst_packets, 0) > 0
      AND NOT {d.in_list("dst_port", "expected_ports")}
    GROUP BY bucket, dst_ip, dst_port
),
ordered AS (
    SELECT *, lag(bucket) OVER (PARTITION BY dst_ip, dst_port ORDER BY bucket) AS previous
    FROM exposures
)
SELECT bucket, {NO_SRC}, dst_ip, dst_port, protocol, resource_id, subscription_id,
       first_seen, last_seen, flow_count, bytes, sources, rule
FROM ordered
WHERE bucket >= {d.window_start()}
  AND (previous IS NULL OR {d.epoch("previous")} < {d.epoch("bucket")} - {LOOKBACK_DAYS * DAY})
  AND {d.epoch("bucket")} >= {d.epoch(d.tenant_start())} + {LEARNING_SECONDS}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


FIRST = CaseFlow(0, CLIENT, VM, 443)

RULE = Rule(
    meta=RuleMeta(
        id="new_exposed_port",
        title="Newly exposed port answering the internet",
        level="medium",
        description=(
            "A VM's port answered internet traffic for the first time in 14 days (after a "
            "day of learning). Web ports 80 and 443 are expected."
        ),
        tactics=("TA0001",),
        techniques=("T1133", "T1571"),
        false_positives=("A deployment that opened the port on purpose: close the finding.",),
        runbook=(
            "Ask whether a change opened the port (NSG rule in evidence). If not, find the "
            "listening process on the VM: an unexpected listener is a backdoor until shown "
            "otherwise."
        ),
    ),
    window_seconds=WINDOW,
    query=query,
    dedup=("dst_ip", "dst_port"),
    dedup_seconds=LOOKBACK_DAYS * DAY,
    tunables={"expected_ports": Tunable((80, 443), "Ports expected to face the internet.")},
    cases=(
        Case(
            "port 8081 opens on the third day",
            (FIRST, CaseFlow(2 * DAY + 60, CLIENT, VM, 8081)),
            expect=1,
            check={"dst_ip": VM, "dst_port": 8081, "src_ip": None},
        ),
        Case(
            "port 8081 open since the start",
            (FIRST, CaseFlow(60, CLIENT, VM, 8081), CaseFlow(2 * DAY + 60, CLIENT, VM, 8081)),
            expect=0,
        ),
        Case("during the learning day", (FIRST, CaseFlow(3600, CLIENT, VM, 8081)), expect=0),
        Case(
            "back after 20 days closed",
            (FIRST, CaseFlow(60, CLIENT, VM, 8081), CaseFlow(20 * DAY, CLIENT, VM, 8081)),
            expect=1,
        ),
        Case("HTTPS on day three", (FIRST, CaseFlow(2 * DAY, CLIENT, VM, 443)), expect=0),
    ),
)
