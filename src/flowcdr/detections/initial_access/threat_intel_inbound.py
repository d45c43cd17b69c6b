"""Allowed inbound traffic from a threat-intel address (research E4; Sentinel's TI map on
flow logs, Traffic Analytics' malicious allowed flows). Only allowed flows: denied TI traffic
is the NSG doing its job. Severity by what happened: medium if our VM answered with data (a
session), low if it was allowed but not answered. One finding per VM and list, however many
listed addresses reached it (a botnet of a hundred is one incident, not a hundred), naming one
source when there is only one. Folded into a more specific finding on the same addresses
(a brute force from the listed source) as corroboration, as for ``threat_intel_outbound``.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable, denied
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, context

BAD, VM = "11.66.66.66", "10.0.13.4"


def query(d: Sql) -> str:
    return f"""
SELECT bucket, CASE WHEN count(DISTINCT src_ip) = 1 THEN min(src_ip) END AS src_ip, dst_ip,
       CAST(min(dst_port) AS INTEGER) AS dst_port, min(protocol) AS protocol, {context(d)},
       intel_match AS intel_list,
       {d.count_distinct("src_ip")} AS sources, min(src_ip) AS sample_source,
       {d.count_distinct("dst_port")} AS ports,
       sum(coalesce(dst_bytes, 0)) AS bytes_answered,
       CASE WHEN sum(coalesce(dst_bytes, 0)) > {d.param("min_answer_bytes")}
            THEN 'medium' ELSE 'low' END AS severity
FROM f
WHERE intel_match IS NOT NULL AND {ALLOWED} AND dst_scope = 'private'
  AND src_scope NOT IN ('private', 'azure_platform')
GROUP BY bucket, dst_ip, intel_match
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="threat_intel_inbound",
        title="Allowed inbound traffic from a threat-intel address",
        level="low",
        description=(
            "A VM accepted traffic from an address on a loaded threat-intel list. Medium when "
            "the VM answered with data, low when it did not. When a more specific finding "
            "(brute force, a scan, an exposed port...) covers the same addresses at the same "
            "time, the match is folded into it as corroboration."
        ),
        tactics=("TA0001",),
        techniques=("T1190", "T1133"),
        false_positives=(
            "Stale indicators and shared hosting or CDN addresses: check the list's age and "
            "what else lives on the address.",
        ),
        runbook=(
            "See which ports were reached (evidence) and what the VM's service logged for "
            "the source. Block the address at the NSG if the port is not meant to be public."
        ),
        corroborating=True,
    ),
    window_seconds=3600,
    query=query,
    dedup=("dst_ip", "intel_list"),
    tunables={
        "min_answer_bytes": Tunable(
            10_000, "Bytes our VM sent back that make it a session (medium)."
        )
    },
    cases=(
        Case(
            "a listed scanner got a web page",
            (CaseFlow(5, BAD, VM, 443, dst_bytes=50_000),),
            expect=1,
            check={"src_ip": BAD, "severity": "medium", "dst_port": 443},
            intel=(BAD,),
        ),
        Case("a listed scanner was denied", (denied(5, BAD, VM, 22),), expect=0, intel=(BAD,)),
        Case(
            "forty listed bots on RDP: one finding",
            tuple(CaseFlow(i, f"11.66.0.{i + 1}", VM, 3389) for i in range(40)),
            expect=1,
            check={"src_ip": None, "dst_port": 3389},
            intel=tuple(f"11.66.0.{i + 1}" for i in range(40)),
        ),
        Case(
            "an unlisted client",
            (CaseFlow(5, "11.67.0.1", VM, 443),),
            expect=0,
            intel=(BAD,),
        ),
    ),
)
