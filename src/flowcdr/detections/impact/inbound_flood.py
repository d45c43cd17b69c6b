"""Flood or reflection against one of our VMs (research I2; Sigma's SYN flood and DNS
amplification rules): within a minute, at least 200 internet sources sending probe-sized or
denied flows to one VM (a spoofed SYN flood), or at least 50 sources answering from DNS, NTP,
memcached, SSDP or chargen ports over UDP (reflection).
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable, denied
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import INBOUND_FROM_INTERNET, NO_SRC, PACKETS, context

VM = "10.0.25.4"


def query(d: Sql) -> str:
    small = f"(decision = 'deny' OR {PACKETS} <= 2)"
    reflected = f"(protocol = 17 AND {d.in_list('src_port', 'reflector_ports')})"
    least = f"least({d.param('min_sources')}, {d.param('min_reflectors')})"
    return f"""
WITH candidates AS (
    SELECT bucket, dst_ip FROM f WHERE {INBOUND_FROM_INTERNET}
    GROUP BY bucket, dst_ip HAVING count(*) >= {least}
)
SELECT bucket, {NO_SRC}, dst_ip, CAST(min(dst_port) AS INTEGER) AS dst_port,
       min(protocol) AS protocol, {context(d)},
       {d.count_distinct("src_ip", small)} AS flooding_sources,
       {d.count_distinct("src_ip", reflected)} AS reflecting_sources
FROM f JOIN candidates USING (bucket, dst_ip)
WHERE {INBOUND_FROM_INTERNET}
GROUP BY bucket, dst_ip
HAVING flooding_sources >= {d.param("min_sources")}
    OR reflecting_sources >= {d.param("min_reflectors")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="inbound_flood",
        title="Flood or reflection attack against one of our VMs",
        level="medium",
        description=(
            "At least 200 internet sources sent probe-sized or denied flows to one VM within a "
            "minute, or at least 50 sent UDP from reflector ports (DNS, NTP, memcached, SSDP)."
        ),
        tactics=("TA0040",),
        techniques=("T1498.001", "T1498.002", "T1499.001"),
        false_positives=("A flash crowd on a public site (sources then exchange data).",),
        runbook=(
            "Check whether Azure DDoS Protection is on for the public IP and whether the "
            "service degraded. Reflection traffic on UDP can be denied at the NSG."
        ),
    ),
    window_seconds=60,
    query=query,
    dedup=("dst_ip",),
    dedup_seconds=3600,
    tunables={
        "min_sources": Tunable(200, "Sources of small or denied flows in a minute."),
        "min_reflectors": Tunable(50, "Sources of UDP from reflector ports in a minute."),
        "reflector_ports": Tunable((19, 53, 123, 161, 389, 1900, 11211), "Reflector ports."),
    },
    cases=(
        Case(
            "SYN flood from 300 spoofed sources",
            tuple(denied(i / 10, f"11.{i // 250 + 1}.{i % 250}.7", VM, 443) for i in range(300)),
            expect=1,
            check={"dst_ip": VM},
        ),
        Case(
            "DNS reflection from 60 resolvers",
            tuple(
                CaseFlow(
                    i,
                    f"11.9.{i}.53",
                    VM,
                    40000 + i,
                    src_port=53,
                    protocol=17,
                    src_packets=20,
                    src_bytes=60_000,
                )
                for i in range(60)
            ),
            expect=1,
        ),
        Case(
            "a flash crowd: 300 real visitors",
            tuple(CaseFlow(i / 10, f"11.{i // 250 + 1}.{i % 250}.8", VM, 443) for i in range(300)),
            expect=0,
        ),
    ),
)
