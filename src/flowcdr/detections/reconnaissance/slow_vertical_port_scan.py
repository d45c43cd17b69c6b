"""Slow vertical port scan from the internet: many ports of one host within six hours, for
scanners that pace themselves under per-minute thresholds (research R1 suggests an hour; a
scanner at one probe every two minutes shows 30 ports an hour and would pass). 50 ports, as
Sentinel counts in five minutes; Panther's 10 an hour is too noisy for internet-facing VMs.
"""

from flowcdr.detect import Case, Rule, RuleMeta, Tunable, denied
from flowcdr.detections._sql import INBOUND_FROM_INTERNET, SENSITIVE_PORTS, vertical_scan

SCANNER, HOST = "11.22.33.45", "10.0.1.5"

RULE = Rule(
    meta=RuleMeta(
        id="slow_vertical_port_scan",
        title="Slow vertical port scan from the internet",
        level="low",
        description=(
            "An internet address probed at least 50 ports (or 10 sensitive ones) of one VM "
            "within six hours, slowly enough to stay under per-minute scan thresholds."
        ),
        tactics=("TA0043",),
        techniques=("T1595.001", "T1046"),
        false_positives=("Vulnerability scanners you run, paced to be gentle: suppress them.",),
        runbook=(
            "As for a fast scan: see which probed ports were allowed, and look for sessions "
            "from the same source afterwards. Slow pacing suggests a deliberate attacker."
        ),
    ),
    window_seconds=6 * 3600,
    query=lambda d: vertical_scan(d, INBOUND_FROM_INTERNET),
    dedup=("src_ip", "dst_ip"),
    tunables={
        "min_ports": Tunable(50, "Probed ports in six hours."),
        "min_sensitive_ports": Tunable(10, "Probed sensitive ports in six hours."),
        "sensitive_ports": Tunable(SENSITIVE_PORTS, "Which ports are sensitive."),
    },
    cases=(
        Case(
            "200 ports, one every 100 seconds",
            tuple(denied(i * 100, SCANNER, HOST, 7000 + i) for i in range(200)),
            expect=1,
            check={"src_ip": SCANNER, "dst_ip": HOST},
        ),
        Case(
            "40 ports in six hours is below the threshold",
            tuple(denied(i * 500, SCANNER, HOST, 7000 + i) for i in range(40)),
            expect=0,
        ),
        Case(
            "a client reconnecting to 3 ports all afternoon",
            tuple(denied(i * 60, SCANNER, HOST, (22, 80, 443)[i % 3]) for i in range(300)),
            expect=0,
        ),
    ),
)
