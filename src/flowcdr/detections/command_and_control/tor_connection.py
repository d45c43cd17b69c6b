"""Tor from one of our VMs (research C4): answered sessions to an address on a Tor list (any
list whose name starts with ``tor``, e.g. ``tor-relays.txt`` from Onionoo or the bulk exit
list), or to Tor's usual ports (ORPort 9001, DirPort 9030, the client SOCKS ports 9050, 9150,
9151). The research prefers lists: ports alone are weaker, so a list match is high severity
and a port match medium.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import outbound_sessions

VM, RELAY = "10.0.17.4", "22.66.4.4"


def query(d: Sql) -> str:
    listed = "lower(coalesce(intel_match, '')) LIKE 'tor%'"
    on_list = f"max(CASE WHEN {listed} THEN 1 ELSE 0 END)"
    extra = (
        f", {on_list} = 1 AS on_tor_list, "
        f"CASE WHEN {on_list} = 1 THEN 'high' ELSE 'medium' END AS severity"
    )
    return outbound_sessions(d, f"{d.in_list('dst_port', 'ports')} OR {listed}", extra)


RULE = Rule(
    meta=RuleMeta(
        id="tor_connection",
        title="Tor connection from one of our VMs",
        level="medium",
        description=(
            "A VM held an answered session with a Tor relay (an address on a Tor list), or "
            "on one of Tor's ports: it runs a Tor client or relay."
        ),
        tactics=("TA0011",),
        techniques=("T1090.003",),
        false_positives=(
            "Ports 9001 and 9030 are also used by other software; prefer loading a Tor "
            "relay list (name it tor-*.txt).",
        ),
        runbook=(
            "Tor on a server is rarely legitimate: find the process, and treat it as C2 or "
            "exfiltration over an anonymising channel until explained."
        ),
    ),
    window_seconds=3600,
    query=query,
    dedup=("src_ip", "dst_ip"),
    tunables={"ports": Tunable((9001, 9030, 9050, 9150, 9151), "Tor's usual ports.")},
    cases=(
        Case(
            "ORPort 9001", (CaseFlow(5, VM, RELAY, 9001),), expect=1, check={"severity": "medium"}
        ),
        Case(
            "a listed relay on 443",
            (CaseFlow(5, VM, RELAY, 443),),
            expect=1,
            check={"severity": "high", "dst_port": 443},
            intel=(RELAY,),
            intel_list="tor-relays",
        ),
        Case("on another list, 443", (CaseFlow(5, VM, RELAY, 443),), expect=0, intel=(RELAY,)),
        Case(
            "a reply from ephemeral port 9001",
            (CaseFlow(5, VM, RELAY, 51515, src_port=9001),),
            expect=0,
        ),
        Case(
            "denied",
            (CaseFlow(5, VM, RELAY, 9001, decision="deny", state="deny", dst_packets=None),),
            expect=0,
        ),
    ),
)
