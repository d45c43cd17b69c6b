"""A VM talking to a threat-intel address (research C3; Defender's Network_CommunicationWithC2,
GuardDuty's C&CActivity): allowed flows from our private space to an address on a loaded list
(Feodo, ThreatFox, FireHOL level1...). High when the remote end answered with data, medium
when it did not: an infected VM whose callback is not (yet) answered.

A listed address is context as much as an incident: a Tor client whose relay is on a list, or
a beacon to a listed C2, is found by its own rule with its own ATT&CK technique. There the
match is corroborating evidence (``RuleMeta.corroborating``): folded into that finding, not a
second finding with a generic technique.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, context

VM, C2 = "10.0.15.4", "22.66.2.2"


def query(d: Sql) -> str:
    return f"""
SELECT bucket, src_ip, dst_ip, CAST(min(dst_port) AS INTEGER) AS dst_port,
       min(protocol) AS protocol, {context(d)},
       {d.any_value("intel_match")} AS intel_list,
       {d.count_distinct("dst_port")} AS ports,
       sum(coalesce(dst_bytes, 0)) AS bytes_received,
       sum(coalesce(src_bytes, 0)) AS bytes_sent,
       CASE WHEN sum(coalesce(dst_bytes, 0)) >= {d.param("min_answer_bytes")}
            THEN 'high' ELSE 'medium' END AS severity
FROM f
WHERE intel_match IS NOT NULL AND {ALLOWED} AND src_scope = 'private'
  AND dst_scope NOT IN ('private', 'azure_platform')
GROUP BY bucket, src_ip, dst_ip
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="threat_intel_outbound",
        title="Traffic to a threat-intel address",
        level="medium",
        description=(
            "A VM sent allowed traffic to an address on a loaded threat-intel list (botnet "
            "C2, malware hosting). High when the address answered with data. When a more "
            "specific finding (Tor, beaconing, mining...) covers the same VM and address at "
            "the same time, the match is folded into it as corroboration."
        ),
        tactics=("TA0011",),
        techniques=("T1071", "T1105"),
        false_positives=(
            "Sinkholed or shared-hosting addresses and stale indicators: check the list's age "
            "and what the address serves now.",
        ),
        runbook=(
            "Find the process on the VM that made the connection. If the list is a C2 list "
            "(Feodo), treat the VM as infected: isolate it, keep its disk, reimage."
        ),
        corroborating=True,
    ),
    window_seconds=3600,
    query=query,
    dedup=("src_ip", "dst_ip"),
    tunables={"min_answer_bytes": Tunable(1_000, "Bytes received that make it high.")},
    cases=(
        Case(
            "a VM downloads from a listed address",
            (CaseFlow(5, VM, C2, 8080, dst_bytes=250_000),),
            expect=1,
            check={"src_ip": VM, "dst_ip": C2, "severity": "high"},
            intel=(C2,),
        ),
        Case(
            "an unanswered callback",
            (CaseFlow(5, VM, C2, 443, dst_packets=0, dst_bytes=0),),
            expect=1,
            check={"severity": "medium"},
            intel=(C2,),
        ),
        Case("an unlisted address", (CaseFlow(5, VM, "22.66.2.3", 443),), expect=0, intel=(C2,)),
        Case(
            "denied by the NSG",
            (CaseFlow(5, VM, C2, 443, decision="deny", state="deny"),),
            expect=0,
            intel=(C2,),
        ),
    ),
)
