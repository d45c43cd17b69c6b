"""Flows loaded for detection look as the store keeps them, with intel matched at either end."""

from flowcdr.detect.case import Case, CaseFlow
from flowcdr.detect.dataset import add_flows, open_dataset, with_intel
from flowcdr.detect.intel import Intel, build_list
from flowcdr.enrich import enrich

FLOWS = Case(
    "three flows",
    (
        CaseFlow(0, "10.0.0.4", "22.1.1.1", 443),
        CaseFlow(1, "11.2.2.2", "10.0.0.4", 22),
        CaseFlow(2, "10.0.0.4", "10.0.0.5", 445),
    ),
    0,
)
INTEL = Intel((build_list("feodo", ["22.1.1.1"]), build_list("blocklist", ["11.2.2.0/24"])))


def test_with_intel_names_the_list_and_marks_the_flow_malicious() -> None:
    table = with_intel(enrich(FLOWS.table()), INTEL)
    assert table.column("intel_match").to_pylist() == ["feodo", "blocklist", None]
    assert table.column("flow_type").to_pylist() == ["malicious", "malicious", "intra_vnet"]
    assert table.schema.equals(enrich(FLOWS.table()).schema)


def test_no_intel_leaves_the_table_alone() -> None:
    table = enrich(FLOWS.table())
    assert with_intel(table, Intel()) is table


def test_add_flows_stamps_and_stores_as_the_flow_store_does() -> None:
    db = open_dataset()
    assert add_flows(db, FLOWS.table(), intel=INTEL, tenant_id="t1") == 3
    rows = db.execute(
        "SELECT tenant_id, intel_match, flow_type::VARCHAR, src_scope::VARCHAR FROM flows "
        "ORDER BY time"
    ).fetchall()
    assert rows == [
        ("t1", "feodo", "malicious", "private"),
        ("t1", "blocklist", "malicious", "public"),
        ("t1", None, "intra_vnet", "private"),
    ]
