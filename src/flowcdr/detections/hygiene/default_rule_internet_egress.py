"""Internet egress through the default rule (research H4, Traffic Analytics' default vs user
rule split): a NSG or VNet whose VMs reach the internet through
``DefaultRule_AllowInternetOutBound`` has no egress control; any implant can call out. An
insight, one a week per resource, with how much went out that way.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, NO_DST, NO_PORT, TO_INTERNET

VM = "10.0.28.4"


def query(d: Sql) -> str:
    return f"""
SELECT bucket, CAST(NULL AS VARCHAR) AS src_ip, {NO_DST}, {NO_PORT},
       CAST(NULL AS INTEGER) AS protocol, resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(time) AS first_seen, max(time) AS last_seen, count(*) AS flow_count,
       sum(coalesce(src_bytes, 0) + coalesce(dst_bytes, 0)) AS bytes,
       {d.approx_distinct("src_ip")} AS vms, {d.approx_distinct("dst_ip")} AS destinations,
       {d.approx_distinct("dst_port")} AS ports, rule
FROM f
WHERE {TO_INTERNET} AND {ALLOWED} AND {d.in_list("rule", "rules")}
GROUP BY bucket, resource_id, rule
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="default_rule_internet_egress",
        title="Internet egress allowed by a default rule",
        level="low",
        description=(
            "VMs reached the internet through the NSG's default outbound rule: nothing limits "
            "where they may connect."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1037", "M1030"),
        insight=True,
        false_positives=("Intentional in small or test environments.",),
        runbook=(
            "Add user rules allowing only the destinations the workload needs (service tags, "
            "your proxies) and deny Internet outbound at a higher priority than the default."
        ),
    ),
    window_seconds=86_400,
    query=query,
    dedup=("resource_id", "rule"),
    dedup_seconds=7 * 86_400,
    tunables={"rules": Tunable(("DefaultRule_AllowInternetOutBound",), "Default rule names.")},
    cases=(
        Case(
            "VMs browse through the default rule",
            (CaseFlow(5, VM, "22.1.1.1", 443, rule="DefaultRule_AllowInternetOutBound"),),
            expect=1,
            check={"src_ip": None, "severity": "low"},
        ),
        Case(
            "egress through a user rule",
            (CaseFlow(5, VM, "22.1.1.1", 443, rule="UserRule_AllowProxyOut"),),
            expect=0,
        ),
    ),
)
