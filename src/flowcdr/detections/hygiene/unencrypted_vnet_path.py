"""Unencrypted traffic between VMs where VNet encryption is expected (research E5, VNet flow
logs' encryption field): within a day, flows between two of our hosts logged ``NX`` (not
encrypted) on a port the tenant marks as needing encryption (data stores and admin protocols
by default). VNet encryption is per VNet and NIC type; an ``NX_*`` reason (hardware or SKU not
supported, destination not in an encrypted VNet) is in the evidence. One finding per VNet (the
flow log's target) and port a day, naming how many servers and clients. VNet logs only: NSG
logs carry no encryption state.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detect.dialect import Sql
from flowcdr.detections._sql import ALLOWED, EAST_WEST

APP, DB = "10.0.31.4", "10.0.31.9"
PORTS = (22, 445, 1433, 3306, 3389, 5432, 6379, 9200, 27017)


def query(d: Sql) -> str:
    return f"""
SELECT bucket, CASE WHEN count(DISTINCT src_ip) = 1 THEN min(src_ip) END AS src_ip,
       CASE WHEN count(DISTINCT dst_ip) = 1 THEN min(dst_ip) END AS dst_ip,
       dst_port, min(protocol) AS protocol, resource_id,
       {d.any_value("subscription_id")} AS subscription_id,
       min(time) AS first_seen, max(time) AS last_seen, count(*) AS flow_count,
       sum(coalesce(src_bytes, 0) + coalesce(dst_bytes, 0)) AS bytes,
       {d.count_distinct("dst_ip")} AS servers, min(dst_ip) AS sample_server,
       {d.count_distinct("src_ip")} AS clients, min(src_ip) AS sample_client,
       min(encryption) AS encryption_state
FROM f
WHERE {EAST_WEST} AND {ALLOWED} AND log_type = 'vnet' AND encryption LIKE 'NX%'
  AND {d.in_list("dst_port", "ports")}
GROUP BY bucket, resource_id, dst_port
"""  # noqa: S608 - rule SQL is code; tunables are bound parameters


RULE = Rule(
    meta=RuleMeta(
        id="unencrypted_vnet_path",
        title="Unencrypted VNet path to a sensitive port",
        level="low",
        description=(
            "VNet flow logs show traffic between our hosts to a data-store or admin port "
            "that VNet encryption did not cover (state NX)."
        ),
        tactics=(),
        techniques=(),
        mitigations=("M1041",),
        insight=True,
        false_positives=("VNets where encryption is not enabled on purpose.",),
        runbook=(
            "Enable VNet encryption on both VNets (and supported VM sizes), or make sure the "
            "protocol itself is encrypted (TLS to the database)."
        ),
    ),
    window_seconds=86_400,
    query=query,
    dedup=("resource_id", "dst_port"),
    dedup_seconds=7 * 86_400,
    tunables={"ports": Tunable(PORTS, "Ports whose paths should be encrypted.")},
    cases=(
        Case("app to database, NX", (CaseFlow(5, APP, DB, 5432, encryption="NX"),), expect=1),
        Case(
            "twenty app servers to one database: one finding",
            tuple(CaseFlow(i, f"10.0.31.{i + 20}", DB, 5432, encryption="NX") for i in range(20)),
            expect=1,
            check={"src_ip": None, "dst_ip": DB},
        ),
        Case("app to database, encrypted", (CaseFlow(5, APP, DB, 5432, encryption="X"),), expect=0),
        Case("web traffic, NX", (CaseFlow(5, APP, DB, 8080, encryption="NX"),), expect=0),
    ),
)
