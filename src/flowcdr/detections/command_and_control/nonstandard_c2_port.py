"""Answered sessions from a VM to internet hosts on ports that C2 and proxies favour (research
C5): IRC (6660-6669, 6697), SOCKS (1080), Squid (3128), Metasploit's 4444, SMTP on 26, and
31337. Elastic's per-port rules (IRC, proxy, port 26) folded into one with a port list. A
reply whose source port happens to be one of these is not a session to it.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import outbound_sessions

VM, REMOTE = "10.0.18.4", "22.66.5.5"
PORTS = (
    26,
    1080,
    3128,
    4444,
    6660,
    6661,
    6662,
    6663,
    6664,
    6665,
    6666,
    6667,
    6668,
    6669,
    6697,
    31337,
)


def query(d: Sql) -> str:
    return outbound_sessions(d, d.in_list("dst_port", "ports"))


RULE = Rule(
    meta=RuleMeta(
        id="nonstandard_c2_port",
        title="Session to an internet host on a C2 or proxy port",
        level="low",
        description=(
            "A VM exchanged data with an internet host on IRC, SOCKS, proxy, Metasploit or "
            "other ports favoured by command-and-control channels."
        ),
        tactics=("TA0011",),
        techniques=("T1571", "T1095", "T1090"),
        false_positives=("A developer's IRC client or a corporate proxy on 3128: suppress it.",),
        runbook=(
            "Identify the process and the remote host. IRC or a reverse shell on 4444 from a "
            "server is a strong sign of compromise."
        ),
    ),
    window_seconds=3600,
    query=query,
    dedup=("src_ip", "dst_ip", "dst_port"),
    tunables={"ports": Tunable(PORTS, "Ports watched.")},
    cases=(
        Case("IRC", (CaseFlow(5, VM, REMOTE, 6667),), expect=1, check={"dst_port": 6667}),
        Case("a reverse shell on 4444", (CaseFlow(5, VM, REMOTE, 4444),), expect=1),
        Case("HTTPS", (CaseFlow(5, VM, REMOTE, 443),), expect=0),
        Case(
            "unanswered",
            (CaseFlow(5, VM, REMOTE, 6667, dst_packets=0, dst_bytes=0),),
            expect=0,
        ),
        Case("inside the VNet", (CaseFlow(5, VM, "10.0.18.9", 6667),), expect=0),
    ),
)
