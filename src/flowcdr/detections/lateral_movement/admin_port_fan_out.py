"""Admin-protocol fan-out inside the network (research L1): one VM reaching SMB, RPC, RDP,
WinRM or SSH on at least 10 internal hosts within ten minutes, allowed or not, the spread of
an attacker or worm with credentials. Elastic's sweep uses 100 hosts, too coarse for an
estate; 10 is the research's suggested absolute threshold.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable, denied
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import EAST_WEST, NO_DST, NO_PORT, context

VM = "10.0.20.4"


def query(d: Sql) -> str:
    return f"""
SELECT bucket, src_ip, {NO_DST}, {NO_PORT}, min(protocol) AS protocol, {context(d)},
       {d.count_distinct("dst_ip")} AS hosts,
       {d.count_distinct("dst_ip", "decision = 'allow'")} AS hosts_allowed,
       {d.count_distinct("dst_port")} AS admin_ports,
       min(dst_port) AS lowest_port
FROM f
WHERE {EAST_WEST} AND {d.in_list("dst_port", "ports")} AND src_ip <> dst_ip
GROUP BY bucket, src_ip
HAVING hosts >= {d.param("min_hosts")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="admin_port_fan_out",
        title="Admin-protocol fan-out inside the network",
        level="high",
        description=(
            "A VM connected to SMB, RPC, RDP, WinRM or SSH on at least 10 internal hosts "
            "within ten minutes: lateral movement."
        ),
        tactics=("TA0008",),
        techniques=("T1021.001", "T1021.002", "T1021.004", "T1021.006", "T1210"),
        false_positives=(
            "Configuration management, backup, antivirus and SCCM servers: suppress them "
            "by source address.",
        ),
        runbook=(
            "Check which hosts accepted (hosts_allowed) and their logons from the source at "
            "that time. If the source is no management server, isolate it and reset the "
            "credentials it used."
        ),
    ),
    window_seconds=600,
    query=query,
    dedup=("src_ip",),
    dedup_seconds=6 * 3600,
    tunables={
        "ports": Tunable((22, 135, 139, 445, 3389, 5985, 5986), "Admin protocols."),
        "min_hosts": Tunable(10, "Internal hosts reached in ten minutes."),
    },
    cases=(
        Case(
            "SMB to 12 hosts, some denied",
            tuple(
                CaseFlow(i * 20, VM, f"10.0.21.{i + 4}", 445)
                if i % 2
                else denied(i * 20, VM, f"10.0.21.{i + 4}", 445)
                for i in range(12)
            ),
            expect=1,
            check={"src_ip": VM, "severity": "high"},
        ),
        Case(
            "an admin RDPs to 3 servers",
            tuple(CaseFlow(i * 60, VM, f"10.0.21.{i + 4}", 3389) for i in range(3)),
            expect=0,
        ),
        Case(
            "a web tier calling 15 app servers on 8080",
            tuple(CaseFlow(i, VM, f"10.0.21.{i + 4}", 8080) for i in range(15)),
            expect=0,
        ),
    ),
)
