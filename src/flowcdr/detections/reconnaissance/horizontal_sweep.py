"""Horizontal sweep from the internet: one source, one port, many of our hosts within ten
minutes (research R2). 10 hosts in 10 minutes, half the research's internal threshold: an
estate has far fewer internet-facing VMs than the 100-200 the Elastic and Azure Firewall rules
count across whole subnets, and a sweep of 19 VMs on the Redis port is one to report. Web
ports are left out, as Azure Firewall's rule does.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable, denied
from flowcdr.detections._sql import INBOUND_FROM_INTERNET, horizontal_sweep

SWEEPER = "11.22.33.46"

RULE = Rule(
    meta=RuleMeta(
        id="horizontal_sweep",
        title="Horizontal sweep from the internet",
        level="low",
        description=(
            "An internet address tried the same port on at least 10 of our VMs within ten "
            "minutes: a sweep for one service (SSH, RDP, SMB...) across the estate."
        ),
        tactics=("TA0043",),
        techniques=("T1595.001", "T1046"),
        false_positives=(
            "Internet-wide research scanners (Shodan, Censys): common, low value; suppress by "
            "their published ranges if they are noise.",
        ),
        runbook=(
            "Check answering_hosts: those VMs expose the port. Decide whether the service "
            "should be reachable from the internet at all; if not, close it at the NSG."
        ),
    ),
    window_seconds=600,
    query=lambda d: horizontal_sweep(d, INBOUND_FROM_INTERNET),
    dedup=("src_ip",),
    dedup_seconds=6 * 3600,
    tunables={
        "min_hosts": Tunable(10, "Hosts touched on one port in ten minutes."),
        "ignored_ports": Tunable((80, 443), "Ports whose sweeps are web crawling."),
    },
    cases=(
        Case(
            "port 22 on 30 VMs in 3 minutes",
            tuple(denied(i * 6, SWEEPER, f"10.0.2.{10 + i}", 22) for i in range(30)),
            expect=1,
            check={"src_ip": SWEEPER, "dst_port": 22, "dst_ip": None},
        ),
        Case(
            "a crawler on 443 of 30 VMs",
            tuple(CaseFlow(i * 6, SWEEPER, f"10.0.2.{10 + i}", 443) for i in range(30)),
            expect=0,
        ),
        Case(
            "port 22 on 8 VMs",
            tuple(denied(i * 6, SWEEPER, f"10.0.2.{10 + i}", 22) for i in range(8)),
            expect=0,
        ),
    ),
)
