"""Over-permissive inbound rule in use (research H2, Defender's adaptive network hardening):
a user rule that let internet traffic through to at least 10 different ports of our VMs within
a day is open far wider than any service needs. The evidence lists what the rule actually
carried, the start of a tighter rule.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, INBOUND_FROM_INTERNET, NO_DST, NO_PORT

VM = "10.0.29.4"


def query(d: Sql) -> str:
    return f"""
SELECT bucket, CAST(NULL AS VARCHAR) AS src_ip, {NO_DST}, {NO_PORT},
       CAST(NULL AS INTEGER) AS protocol, resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(time) AS first_seen, max(time) AS last_seen, count(*) AS flow_count,
       sum(coalesce(src_bytes, 0) + coalesce(dst_bytes, 0)) AS bytes,
       rule, {d.count_distinct("dst_port")} AS ports, {d.approx_distinct("src_ip")} AS sources,
       {d.approx_distinct("dst_ip")} AS vms, min(dst_port) AS lowest_port,
       max(dst_port) AS highest_port
FROM f
WHERE {INBOUND_FROM_INTERNET} AND {ALLOWED} AND rule NOT LIKE 'DefaultRule%'
GROUP BY bucket, resource_id, rule
HAVING ports >= {d.param("min_ports")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="permissive_rule_in_use",
        title="Over-permissive inbound rule in use",
        level="low",
        description=(
            "A user NSG rule let internet traffic reach at least 10 different ports of our "
            "VMs within a day: it allows far more than the services need."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1037",),
        insight=True,
        false_positives=("Rules for services with port ranges (FTP passive, media).",),
        runbook=(
            "Compare the rule's port range with the services the VMs run; narrow it to the "
            "ports and source ranges in use."
        ),
    ),
    window_seconds=86_400,
    query=query,
    dedup=("resource_id", "rule"),
    dedup_seconds=7 * 86_400,
    tunables={"min_ports": Tunable(10, "Distinct destination ports carried in a day.")},
    cases=(
        Case(
            "an any-port rule carrying 12 ports",
            tuple(
                CaseFlow(i * 60, f"11.5.5.{i + 1}", VM, 8000 + i, rule="UserRule_AllowAnyIn")
                for i in range(12)
            ),
            expect=1,
            check={"severity": "low"},
        ),
        Case(
            "a web rule carrying 80 and 443",
            tuple(
                CaseFlow(i * 60, f"11.5.5.{i + 1}", VM, (80, 443)[i % 2], rule="UserRule_Web")
                for i in range(12)
            ),
            expect=0,
        ),
    ),
)
