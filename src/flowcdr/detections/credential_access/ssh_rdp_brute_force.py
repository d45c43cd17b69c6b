"""SSH and RDP password guessing from one internet address (research B1): at least 25 allowed
connections to one VM's SSH or RDP within five minutes (Sentinel NSE's 25 per 5-minute bin),
each a small exchange of nearly the same size, which is what a failed login looks like in
flow counters. Automation (Ansible, backups over SSH) makes as many connections, but moves
more data in varied amounts, so the size test leaves it out.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, INBOUND_FROM_INTERNET, brute_force

GUESSER, VM = "11.22.33.47", "10.0.6.4"


def query(d: Sql) -> str:
    return brute_force(
        d, f"{INBOUND_FROM_INTERNET} AND {ALLOWED} AND {d.in_list('dst_port', 'ports')}"
    )


def attempt(at: float, port: int, index: int, size: int = 3100) -> CaseFlow:
    return CaseFlow(at, GUESSER, VM, port, src_port=40000 + index, src_packets=12,
                    src_bytes=size, dst_packets=10, dst_bytes=size + 600)  # fmt: skip


RULE = Rule(
    meta=RuleMeta(
        id="ssh_rdp_brute_force",
        title="SSH or RDP brute force from the internet",
        level="medium",
        description=(
            "An internet address made at least 25 short, similar SSH or RDP connections to "
            "one VM within five minutes: password guessing that the NSG let through."
        ),
        tactics=("TA0006",),
        techniques=("T1110.001", "T1021.004", "T1021.001"),
        false_positives=(
            "A jump host or automation with many short sessions of fixed size: suppress it.",
        ),
        runbook=(
            "Look for brute_force_then_success on the same pair. Check the VM's auth logs "
            "for the source; restrict SSH/RDP to known addresses or Azure Bastion."
        ),
        references=("https://attack.mitre.org/techniques/T1110/001/",),
    ),
    window_seconds=300,
    query=query,
    dedup=("src_ip", "dst_ip", "dst_port"),
    tunables={
        "ports": Tunable((22, 3389), "Services guessed against."),
        "min_attempts": Tunable(25, "Connections in five minutes."),
        "max_attempt_bytes": Tunable(20_000, "Median bytes (both ways) of an attempt."),
        "max_size_spread": Tunable(0.2, "Interquartile range of sizes over their median."),
    },
    cases=(
        Case(
            "30 SSH attempts of about 6.8 kB in 4 minutes",
            tuple(attempt(i * 8, 22, i, 3100 + i % 3 * 20) for i in range(30)),
            expect=1,
            check={"src_ip": GUESSER, "dst_ip": VM, "dst_port": 22},
        ),
        Case(
            "RDP attempts spread over the window",
            tuple(attempt(i * 10, 3389, i, 9000) for i in range(28)),
            expect=1,
        ),
        Case(
            "Ansible: 30 SSH sessions of varied size",
            tuple(attempt(i * 8, 22, i, 20_000 + i * 7_000) for i in range(30)),
            expect=0,
        ),
        Case("20 attempts", tuple(attempt(i * 8, 22, i) for i in range(20)), expect=0),
    ),
)
