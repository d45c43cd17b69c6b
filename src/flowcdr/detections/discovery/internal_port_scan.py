"""Port scan from one of our VMs (research R5): a private source probing many ports of one
host, inside the VNet or on the internet. Counted over five minutes, not one: a compromised VM
scanning a neighbour at ten ports a minute (51 ports in five minutes in the simulator's
untuned seeds) stays under any per-minute threshold the internet's background noise allows,
while east-west traffic has no such noise. 20 ports, or 10 sensitive ones rather than 5: a
monitoring server checks SSH, RDP, SMB, WinRM and a database port on every VM every minute,
and looks just like five probes. Severity is high
because a VM with no scanning role that scans is likely compromised (Defender's PortScanning
alert, GuardDuty Impact:EC2/PortSweep).
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable, denied
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import SENSITIVE_PORTS, vertical_scan

VM, TARGET, OUTSIDE = "10.0.3.7", "10.0.3.9", "22.33.44.55"


def query(d: Sql) -> str:
    return vertical_scan(d, "src_scope = 'private' AND dst_scope IN ('private', 'public')")


RULE = Rule(
    meta=RuleMeta(
        id="internal_port_scan",
        title="Port scan from one of our VMs",
        level="high",
        description=(
            "A VM probed at least 20 ports (or 10 sensitive ones) of one host within five minutes, "
            "east-west or towards the internet. Probes exchange no more than a handshake."
        ),
        tactics=("TA0007",),
        techniques=("T1046",),
        false_positives=(
            "Discovery or monitoring tools (Nessus agents, inventory scanners): suppress their "
            "source addresses.",
        ),
        runbook=(
            "Identify the process on the source VM that opened the connections (Defender for "
            "Endpoint, auditd). If nothing on it should scan, isolate the VM and investigate."
        ),
    ),
    window_seconds=300,
    query=query,
    dedup=("src_ip", "dst_ip"),
    dedup_seconds=3600,
    tunables={
        "min_ports": Tunable(20, "Probed ports in five minutes."),
        "min_sensitive_ports": Tunable(10, "Probed sensitive ports in five minutes."),
        "sensitive_ports": Tunable(SENSITIVE_PORTS, "Which ports are sensitive."),
    },
    cases=(
        Case(
            "east-west: 100 ports in 10 seconds",
            tuple(denied(i / 10, VM, TARGET, i + 1) for i in range(100)),
            expect=1,
            check={"src_ip": VM, "dst_ip": TARGET, "severity": "high"},
        ),
        Case(
            "towards the internet, unanswered",
            tuple(
                CaseFlow(i, VM, OUTSIDE, 8000 + i, src_packets=1, dst_packets=0, dst_bytes=0)
                for i in range(30)
            ),
            expect=1,
        ),
        Case(
            "a monitoring server checking 6 admin and database ports",
            tuple(
                CaseFlow(i, VM, TARGET, port, src_port=40000 + i, src_packets=3, dst_packets=2)
                for i, port in enumerate((22, 445, 3389, 5985, 1433, 8080))
            ),
            expect=0,
        ),
        Case(
            "east-west at ten ports a minute for five minutes",
            tuple(denied(i * 6, VM, TARGET, 2000 + i) for i in range(50)),
            expect=1,
            check={"src_ip": VM, "dst_ip": TARGET},
        ),
        Case(
            "an app server using 4 ports of its database",
            tuple(
                CaseFlow(i, VM, TARGET, port)
                for i in range(40)
                for port in (1433, 5432, 6379, 9200)
            )[:120],
            expect=0,
        ),
    ),
)
