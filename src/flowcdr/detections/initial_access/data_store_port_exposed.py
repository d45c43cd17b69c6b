"""Data store answering the internet (research E2, Sentinel's high-risk ports): SQL Server,
MySQL, PostgreSQL, Oracle, Redis, Elasticsearch, MongoDB, Memcached, Cassandra, CouchDB, NFS,
SMB or Docker's API accepted and answered a connection from a public address. Managed PaaS
endpoints are not in the VNet, so a hit here is a VM-hosted store open to the world. As for
management ports (``_sql.exposed``), a store only its regular sources reach (a partner's
server, answered on earlier days) fires once, when first seen, and again for strangers.
"""

from flowcdr.detect import Case, CaseFlow, Rule, RuleMeta, Tunable
from flowcdr.detections._sql import exposed

CLIENT, VM = "11.22.33.51", "10.0.12.4"
PORTS = (
    139,
    445,
    1433,
    1521,
    2049,
    2375,
    2376,
    3306,
    5432,
    5984,
    6379,
    9042,
    9200,
    9300,
    11211,
    27017,
    27018,
)

RULE = Rule(
    meta=RuleMeta(
        id="data_store_port_exposed",
        title="Data store answering the internet",
        level="high",
        description=(
            "A VM's database, cache, search, file-share or Docker API port accepted and "
            "answered connections from the internet, from a source it had not answered in "
            "the week before."
        ),
        tactics=("TA0001",),
        techniques=("T1190", "T1133"),
        false_positives=("A store deliberately shared with a partner: suppress its address.",),
        runbook=(
            "Close the port to the internet at the NSG (use Private Link or a VPN), then "
            "check the store's logs for reads by unknown clients: exposed Redis, "
            "Elasticsearch and MongoDB are usually found and emptied within hours."
        ),
    ),
    window_seconds=3600,
    query=exposed,
    dedup=("dst_ip", "dst_port"),
    dedup_seconds=7 * 86400,
    tunables={"ports": Tunable(PORTS, "Data-store ports.")},
    cases=(
        Case(
            "Redis read from the internet",
            tuple(CaseFlow(i, f"11.22.40.{i + 1}", VM, 6379) for i in range(3)),
            expect=1,
            check={"dst_port": 6379, "severity": "high"},
        ),
        Case("the web port", (CaseFlow(1, CLIENT, VM, 443),), expect=0),
        Case("app tier reading its database", (CaseFlow(1, "10.0.1.9", VM, 5432),), expect=0),
        Case(
            "a partner's server every day: once, then a regular",
            tuple(CaseFlow(day * 86_400 + 5, CLIENT, VM, 1433) for day in range(3)),
            expect=1,
            check={"windows": 1},
        ),
    ),
)
