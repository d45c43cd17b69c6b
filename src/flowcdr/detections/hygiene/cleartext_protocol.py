"""Cleartext protocol in use (research E5; Sigma's cleartext protocol usage, Sentinel's
"protocols passing authentication in cleartext"): answered sessions on Telnet, FTP, POP3, IMAP,
LDAP, SNMP or the r-commands, between our hosts or with the internet. Credentials on these
travel readable by anyone on the path. A posture insight, not an attack (the research lists
ATT&CK T1040 as the risk): one finding per client and protocol, naming how many servers.
Plain HTTP is left out (too common, mostly redirects), as the research advises.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, context

CLIENT, SERVER = "10.0.30.4", "10.0.30.9"
PORTS = (21, 23, 110, 143, 161, 389, 512, 513, 514)


def query(d: Sql) -> str:
    return f"""
SELECT bucket, src_ip, CASE WHEN count(DISTINCT dst_ip) = 1 THEN min(dst_ip) END AS dst_ip,
       dst_port, min(protocol) AS protocol, {context(d)},
       {d.count_distinct("dst_ip")} AS servers, min(dst_ip) AS sample_server,
       {d.count_distinct("src_port")} AS connections
FROM f
WHERE {ALLOWED} AND {d.in_list("dst_port", "ports")} AND coalesce(dst_packets, 0) > 0
  AND src_scope IN ('private', 'public') AND dst_scope IN ('private', 'public')
GROUP BY bucket, src_ip, dst_port
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="cleartext_protocol",
        title="Cleartext protocol in use",
        level="low",
        description=(
            "Hosts exchanged data over Telnet, FTP, POP3, IMAP, LDAP, SNMP or the r-commands, "
            "whose credentials cross the network unencrypted."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1041",),
        insight=True,
        false_positives=("Legacy systems you know about: suppress them by address and port.",),
        runbook=(
            "Move the service to its encrypted form (SFTP, SSH, LDAPS, IMAPS, SNMPv3) and "
            "rotate the credentials that were used over it."
        ),
    ),
    window_seconds=86_400,
    query=query,
    dedup=("src_ip", "dst_port"),
    dedup_seconds=7 * 86_400,
    tunables={"ports": Tunable(PORTS, "Cleartext protocols' ports.")},
    cases=(
        Case("Telnet between VMs", (CaseFlow(5, CLIENT, SERVER, 23),), expect=1),
        Case(
            "one admin host on Telnet to 30 VMs: one finding",
            tuple(CaseFlow(i, CLIENT, f"10.0.30.{i + 10}", 23) for i in range(30)),
            expect=1,
            check={"dst_ip": None, "src_ip": CLIENT},
        ),
        Case("SSH between VMs", (CaseFlow(5, CLIENT, SERVER, 22),), expect=0),
        Case(
            "Telnet refused (no answer)",
            (CaseFlow(5, CLIENT, SERVER, 23, dst_packets=0, dst_bytes=0),),
            expect=0,
        ),
    ),
)
