"""Vertical port scan from the internet, fast: one source probing many ports of one host in a
minute (research R1). Thresholds: Elastic's one-minute bins with 5 sensitive ports, and a port
count of 25 a minute, half of Sentinel's 50 per 5 minutes, since Azure logs a tuple per probe.
"""

from flowcdr.detect import Case, Rule, RuleMeta, Tunable
from flowcdr.detect.case import CaseFlow, denied
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import INBOUND_FROM_INTERNET, SENSITIVE_PORTS, vertical_scan

SCANNER, HOST = "11.22.33.44", "10.0.1.4"

META = RuleMeta(
    id="vertical_port_scan",
    title="Vertical port scan from the internet",
    level="low",
    description=(
        "An internet address probed many ports of one VM within a minute, or at least five "
        "sensitive ones (SSH, RDP, SMB, databases...). Probes are flows that exchanged no "
        "more than a handshake, or were denied."
    ),
    tactics=("TA0043",),
    techniques=("T1595.001", "T1046"),
    false_positives=(
        "Vulnerability scanners you run yourself: suppress their addresses.",
        "Internet-wide research scanners (constant background on public IPs).",
    ),
    runbook=(
        "Check which probed ports were allowed (evidence denied_ports vs probed_ports) and "
        "whether the same source later opened a real session (brute-force and exposure "
        "findings on the VM). Block the source at the NSG if any allowed port should not be."
    ),
    references=("https://attack.mitre.org/techniques/T1595/001/",),
)


def query(d: Sql) -> str:
    return vertical_scan(d, INBOUND_FROM_INTERNET)


RULE = Rule(
    meta=META,
    window_seconds=60,
    query=query,
    dedup=("src_ip", "dst_ip"),
    dedup_seconds=3600,
    tunables={
        "min_ports": Tunable(25, "Probed ports in one minute."),
        "min_sensitive_ports": Tunable(5, "Probed sensitive ports in one minute."),
        "sensitive_ports": Tunable(SENSITIVE_PORTS, "Which ports are sensitive."),
    },
    cases=(
        Case(
            "40 denied ports in 20 seconds",
            tuple(denied(i / 2, SCANNER, HOST, 1000 + i) for i in range(40)),
            expect=1,
            check={"src_ip": SCANNER, "dst_ip": HOST, "flow_count": 40},
        ),
        Case(
            "five sensitive ports, allowed but unanswered",
            tuple(
                CaseFlow(i, SCANNER, HOST, port, src_packets=1, dst_packets=1, dst_bytes=60)
                for i, port in enumerate((22, 445, 3389, 1433, 5985))
            ),
            expect=1,
        ),
        Case(
            "busy client on one port (many flows, one port)",
            tuple(CaseFlow(i, SCANNER, HOST, 443, src_port=40000 + i) for i in range(200)),
            expect=0,
        ),
        Case(
            "passive FTP: 30 data ports that carry data",
            tuple(CaseFlow(i, SCANNER, HOST, 30000 + i, src_packets=40) for i in range(30)),
            expect=0,
        ),
        Case(
            "24 ports is below the threshold",
            tuple(denied(i, SCANNER, HOST, 2000 + i) for i in range(24)),
            expect=0,
        ),
    ),
)
