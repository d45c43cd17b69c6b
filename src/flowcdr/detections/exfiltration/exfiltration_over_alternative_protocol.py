"""Exfiltration over FTP, SSH/SCP, SMB, SMTP or RDP to the internet (research X3; Elastic's
"SMB/FTP/SMTP/SSH/RDP to the Internet"): a VM sent at least 50 MB within an hour to one
internet host over one of these ports. Data leaving over a file-transfer or mail protocol to
an outside host is what alternative-protocol exfiltration looks like.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, TO_INTERNET, context

VM, REMOTE = "10.0.23.4", "22.66.8.8"
MB = 1_000_000


def query(d: Sql) -> str:
    return f"""
SELECT bucket, src_ip, dst_ip, dst_port, min(protocol) AS protocol, {context(d)},
       sum(coalesce(src_bytes, 0)) AS bytes_sent,
       sum(coalesce(dst_bytes, 0)) AS bytes_received
FROM f
WHERE {TO_INTERNET} AND {ALLOWED} AND {d.in_list("dst_port", "ports")}
GROUP BY bucket, src_ip, dst_ip, dst_port
HAVING bytes_sent >= {d.param("min_bytes")}
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


def upload(port: int, sent: int) -> tuple[CaseFlow, ...]:
    return tuple(
        CaseFlow(
            i * 60,
            VM,
            REMOTE,
            port,
            src_port=53000,
            state="continue",
            src_bytes=sent // 10,
            dst_bytes=20_000,
        )
        for i in range(10)
    )


RULE = Rule(
    meta=RuleMeta(
        id="exfiltration_over_alternative_protocol",
        title="Large upload over FTP, SSH, SMB, SMTP or RDP to the internet",
        level="medium",
        description=(
            "A VM sent at least 50 MB within an hour to one internet host over FTP, SSH/SCP, "
            "SMB, SMTP or RDP."
        ),
        tactics=("TA0010",),
        techniques=("T1048", "T1048.003"),
        false_positives=("A partner SFTP server that receives files: suppress the address.",),
        runbook=(
            "Ask who owns the destination. SMB or RDP carrying data to the internet is "
            "almost never legitimate; SFTP and mail need the process and user on the VM."
        ),
    ),
    window_seconds=3600,
    query=query,
    dedup=("src_ip", "dst_ip", "dst_port"),
    tunables={
        "ports": Tunable((20, 21, 22, 25, 139, 445, 465, 587, 989, 990, 3389), "Protocols."),
        "min_bytes": Tunable(50 * MB, "Bytes sent in an hour."),
    },
    cases=(
        Case("300 MB over SCP", upload(22, 300 * MB), expect=1, check={"dst_port": 22}),
        Case("300 MB over HTTPS (another rule's business)", upload(443, 300 * MB), expect=0),
        Case("an SSH session of 2 MB", upload(22, 2 * MB), expect=0),
    ),
)
