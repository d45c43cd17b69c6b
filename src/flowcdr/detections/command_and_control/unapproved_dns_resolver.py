"""DNS to a resolver that is not approved (research C7; Panther's unapproved outbound DNS):
VMs in Azure resolve through 168.63.129.16 or a resolver you run; a VM querying some other
internet resolver bypasses DNS logging and filtering, as malware and DNS tunnels do. The big
public resolvers are approved by default (Panther allows 1.1.1.1 and 8.8.8.8); set the list to
your own to be strict.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, TO_INTERNET, context

VM, RESOLVER = "10.0.19.4", "22.66.6.6"
APPROVED = ("1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4", "9.9.9.9", "149.112.112.112")


def query(d: Sql) -> str:
    return f"""
SELECT bucket, src_ip, CASE WHEN count(DISTINCT dst_ip) = 1 THEN min(dst_ip) END AS dst_ip,
       CAST(min(dst_port) AS INTEGER) AS dst_port, min(protocol) AS protocol, {context(d)},
       {d.count_distinct("dst_ip")} AS resolvers, min(dst_ip) AS sample_resolver,
       sum(coalesce(src_bytes, 0)) AS bytes_sent
FROM f
WHERE {TO_INTERNET} AND {ALLOWED} AND {d.in_list("dst_port", "ports")}
  AND NOT {d.in_list("dst_ip", "approved")}
GROUP BY bucket, src_ip
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="unapproved_dns_resolver",
        title="DNS to an unapproved resolver",
        level="low",
        description=(
            "A VM sent DNS (53, or DNS over TLS on 853) to an internet resolver that is not "
            "on the approved list."
        ),
        tactics=("TA0011",),
        techniques=("T1071.004",),
        false_positives=(
            "A resolver you use but did not list: add it to the rule's approved tunable.",
        ),
        runbook=(
            "Find the process sending the queries. Software with hard-coded resolvers is "
            "suspicious on a server; look at the volume for tunnelling."
        ),
    ),
    window_seconds=3600,
    query=query,
    dedup=("src_ip",),
    tunables={
        "ports": Tunable((53, 853), "DNS and DNS over TLS."),
        "approved": Tunable(APPROVED, "Resolvers that are fine to use."),
    },
    cases=(
        Case(
            "queries to an unknown resolver",
            (CaseFlow(5, VM, RESOLVER, 53, protocol=17),),
            expect=1,
            check={"dst_ip": RESOLVER},
        ),
        Case(
            "two unknown resolvers: one finding for the VM",
            (CaseFlow(5, VM, RESOLVER, 53, protocol=17), CaseFlow(9, VM, "22.66.6.7", 53)),
            expect=1,
            check={"dst_ip": None},
        ),
        Case("Google's resolver", (CaseFlow(5, VM, "8.8.8.8", 53, protocol=17),), expect=0),
        Case(
            "Azure DNS (168.63.129.16)",
            (CaseFlow(5, VM, "168.63.129.16", 53, protocol=17),),
            expect=0,
        ),
    ),
)
