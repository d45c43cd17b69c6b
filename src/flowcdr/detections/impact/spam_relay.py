"""Spam from one of our VMs (research I4; GuardDuty's Spambot): within six hours, SMTP sessions
from one VM to at least 20 internet mail servers (research: 20 in an hour; six hours also
catches a bot pacing itself at a few servers an hour). An application relays through its mail
provider's few smart hosts; a spam bot delivers directly to many MX hosts.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, NO_DST, TO_INTERNET, context

VM = "10.0.27.4"


def query(d: Sql) -> str:
    return f"""
SELECT bucket, src_ip, {NO_DST}, CAST(min(dst_port) AS INTEGER) AS dst_port,
       min(protocol) AS protocol, {context(d)},
       {d.count_distinct("dst_ip")} AS mail_servers
FROM f
WHERE {TO_INTERNET} AND {ALLOWED} AND {d.in_list("dst_port", "ports")}
GROUP BY bucket, src_ip
HAVING mail_servers >= {d.param("min_servers")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="spam_relay",
        title="Spam sent from one of our VMs",
        level="medium",
        description=(
            "A VM opened SMTP sessions to at least 20 internet mail servers within six hours."
        ),
        tactics=("TA0040",),
        techniques=("T1496",),
        false_positives=("A mail server you run that delivers directly: suppress it.",),
        runbook=(
            "Azure blocks outbound port 25 for most subscriptions; if it is open here, find "
            "the sending process, stop it, and check the VM's public IP against blocklists."
        ),
    ),
    window_seconds=6 * 3600,
    query=query,
    dedup=("src_ip",),
    tunables={
        "ports": Tunable((25, 465, 587), "SMTP ports."),
        "min_servers": Tunable(20, "Mail servers reached in six hours."),
    },
    cases=(
        Case(
            "SMTP to 50 mail servers",
            tuple(CaseFlow(i * 30, VM, f"22.{i + 1}.0.25", 25) for i in range(50)),
            expect=1,
            check={"src_ip": VM},
        ),
        Case(
            "an app sending through its mail provider",
            tuple(CaseFlow(i * 30, VM, "22.99.0.25", 587, src_port=30000 + i) for i in range(50)),
            expect=0,
        ),
    ),
)
