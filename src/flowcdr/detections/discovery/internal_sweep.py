"""Sweep from one of our VMs (research R5/R2): a private source trying one port on many
internal hosts within ten minutes, typically SMB, RDP or SSH discovery before lateral
movement. 20 hosts in 10 minutes is the research's internal threshold. Ports that clients
legitimately fan out on (DNS, NTP, web) are left out.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable, denied
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import EAST_WEST, horizontal_sweep

VM = "10.0.4.7"


def query(d: Sql) -> str:
    return horizontal_sweep(d, EAST_WEST)


RULE = Rule(
    meta=RuleMeta(
        id="internal_sweep",
        title="Network sweep from one of our VMs",
        level="medium",
        description=(
            "A VM tried the same port on at least 20 internal hosts within ten minutes: host "
            "discovery inside the network."
        ),
        tactics=("TA0007",),
        techniques=("T1046", "T1018"),
        false_positives=(
            "Monitoring, inventory, backup and patch servers: suppress their addresses.",
            "Service discovery in clusters (Kubernetes nodes, Consul).",
        ),
        runbook=(
            "Check the port: 445, 3389, 22, 5985 sweeps precede lateral movement. Find the "
            "process on the source VM; if it has no such role, isolate it."
        ),
    ),
    window_seconds=600,
    query=query,
    dedup=("src_ip",),
    dedup_seconds=6 * 3600,
    tunables={
        "min_hosts": Tunable(20, "Internal hosts touched on one port in ten minutes."),
        "ignored_ports": Tunable((53, 80, 123, 443), "Ports clients fan out on by design."),
    },
    cases=(
        Case(
            "SMB on 40 hosts in 4 minutes",
            tuple(denied(i * 6, VM, f"10.0.5.{i + 2}", 445) for i in range(40)),
            expect=1,
            check={"src_ip": VM, "dst_port": 445},
        ),
        Case(
            "SSH, SMB and RDP on 25 hosts each: one finding",
            tuple(
                denied(i, VM, f"10.0.5.{i % 25 + 2}", (22, 445, 3389)[i // 25]) for i in range(75)
            ),
            expect=1,
            check={"dst_port": None},
        ),
        Case(
            "a client resolving names against 25 internal DNS servers",
            tuple(CaseFlow(i, VM, f"10.0.5.{i + 2}", 53, protocol=17) for i in range(25)),
            expect=0,
        ),
        Case(
            "SSH to 10 hosts",
            tuple(CaseFlow(i * 20, VM, f"10.0.5.{i + 2}", 22) for i in range(10)),
            expect=0,
        ),
    ),
)
