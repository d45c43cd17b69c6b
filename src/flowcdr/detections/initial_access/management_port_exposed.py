"""Management port answering the internet (research E1): SSH, RDP, WinRM, VNC, Telnet or RPC
of a VM accepted and answered a connection from a public address. The NSG allowed it and
something listened. One finding per VM and port, kept open for a week of further hits.

A port reached only by its regulars (sources it answered 12 hours to a week before: the
office's NAT addresses on a jump host) is restricted access, not exposure, and does not fire
again; a source it had not answered before does (``_sql.exposed``). So a jump host is
reported once, when first seen, and again only when strangers get in.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable, denied
from flowcdr.detections._sql import exposed

CLIENT, STRANGER, VM = "11.22.33.50", "11.22.99.7", "10.0.11.4"
DAY = 86_400
PORTS = (22, 23, 135, 3389, 5900, 5901, 5985, 5986, 1270)

RULE = Rule(
    meta=RuleMeta(
        id="management_port_exposed",
        title="Management port answering the internet",
        level="medium",
        description=(
            "A VM's SSH, RDP, WinRM, VNC, Telnet, RPC or OMI port accepted and answered "
            "connections from the internet, from a source it had not answered in the week "
            "before (its regulars, such as the office's addresses, do not fire)."
        ),
        tactics=("TA0001",),
        techniques=("T1133", "T1021"),
        false_positives=(
            "Bastion hosts meant to face the internet: suppress them by resource or address.",
            "A new administrator's address, or the office's NAT changing: it fires once, "
            "then is a regular.",
        ),
        runbook=(
            "Check the NSG rule in evidence: replace an internet-wide allow with your office "
            "ranges, Azure Bastion or just-in-time access. Look for brute-force findings on "
            "the same VM and port."
        ),
    ),
    window_seconds=3600,
    query=exposed,
    dedup=("dst_ip", "dst_port"),
    dedup_seconds=7 * 86400,
    tunables={"ports": Tunable(PORTS, "Management ports.")},
    cases=(
        Case(
            "RDP session from the internet",
            (CaseFlow(10, CLIENT, VM, 3389, rule="UserRule_AllowRdp"),),
            expect=1,
            check={"dst_ip": VM, "dst_port": 3389, "src_ip": None},
        ),
        Case("RDP denied", (denied(10, CLIENT, VM, 3389),), expect=0),
        Case(
            "allowed but nothing answered",
            (CaseFlow(10, CLIENT, VM, 22, dst_packets=0, dst_bytes=0),),
            expect=0,
        ),
        Case("SSH from inside the VNet", (CaseFlow(10, "10.0.0.9", VM, 22),), expect=0),
        Case(
            "the office's address again the next days: its regular",
            tuple(CaseFlow(day * DAY + 10, CLIENT, VM, 22) for day in range(3)),
            expect=1,
            check={"windows": 1},  # the first day only, before it was a regular
        ),
        Case(
            "a stranger the day after the office",
            (CaseFlow(10, CLIENT, VM, 22), CaseFlow(DAY + 10, STRANGER, VM, 22)),
            expect=1,
            check={"windows": 2},
        ),
    ),
)
