"""Findings through the gateway: merged flows are detected, listed per tenant, triaged."""

from typing import Any

import flowcdr.detections
from flowcdr.api.detection import detect_once
from flowcdr.detect.catalogue import load_rules
from flowcdr.enrich import enrich, stamp
from flowcdr.store.flows import Batch

from .conftest import Gateway

RULES = load_rules(flowcdr.detections)
RULE = RULES["vertical_port_scan"]
CASE = next(case for case in RULE.cases if case.expect)


def scan_detected(gateway: Gateway, tenant: str = "alice") -> Any:
    """The case's scan admitted for ``tenant``'s tenant, merged, and one detection pass run."""
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    tenant_id = services.store.user(tenant).tenant_id
    table = stamp(enrich(CASE.table()), tenant_id, "conn-1")
    services.flows.admit(Batch(tenant_id, f"scan-{tenant}", table, {"flows": 1}, "test"))
    services.flows.flush()  # merged, so the detector has heard of it
    return detect_once(services)


def test_a_merged_scan_becomes_a_finding_of_its_tenant_only(gateway: Gateway) -> None:
    done = scan_detected(gateway)
    assert done.failures == 0
    assert done.findings >= 1
    page = gateway.client.get(
        "/cdr/v1/findings", params={"rule": RULE.id}, headers=gateway.bearer("amy")
    ).json()
    (item,) = page["items"]
    assert (item["rule_id"], item["status"], item["src_ip"]) == (
        RULE.id,
        "open",
        CASE.check["src_ip"],
    )
    assert item["techniques"] == list(RULE.meta.techniques)
    assert page["next"] is None
    assert gateway.client.get("/cdr/v1/findings", headers=gateway.bearer("bob")).json() == {
        "items": [],
        "next": None,
    }
    other = gateway.client.get(f"/cdr/v1/findings/{item['id']}", headers=gateway.bearer("bob"))
    assert other.status_code == 404
    ocsf = gateway.client.get(
        "/cdr/v1/findings", params={"format": "ocsf"}, headers=gateway.bearer("amy")
    ).json()
    assert {found["class_uid"] for found in ocsf["items"]} == {2004}


def test_admins_triage_and_suppress_analysts_read(gateway: Gateway) -> None:
    scan_detected(gateway)
    amy, alice = gateway.bearer("amy"), gateway.bearer("alice")
    (item,) = gateway.client.get("/cdr/v1/findings", params={"rule": RULE.id}, headers=amy).json()[
        "items"
    ]
    change = {"status": "acknowledged", "note": "ticket SEC-12"}
    url = f"/cdr/v1/findings/{item['id']}"
    assert gateway.client.patch(url, json=change, headers=amy).status_code == 403
    changed = gateway.client.patch(url, json=change, headers=alice)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["status_by"]) == ("acknowledged", "alice")
    bad = gateway.client.patch(
        f"/cdr/v1/findings/{item['id']}", json={"status": "gone"}, headers=alice
    )
    assert bad.status_code == 422
    audit = gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("alice")).json()
    assert any(e["action"] == "finding.acknowledged" for e in audit)

    rule = {"cidr": "10.0.9.0/24", "rule": RULE.id, "reason": "our scanner"}
    assert gateway.client.post("/cdr/v1/suppressions", json=rule, headers=amy).status_code == 403
    added = gateway.client.post("/cdr/v1/suppressions", json=rule, headers=alice)
    assert added.status_code == 201, added.text
    assert [s["id"] for s in gateway.client.get("/cdr/v1/suppressions", headers=amy).json()] == [
        added.json()["id"]
    ]
    assert gateway.client.get("/cdr/v1/suppressions", headers=gateway.bearer("bob")).json() == []
    for wrong in ({"cidr": "10.0.0.300/8", "reason": "x"}, {"reason": "nothing to match"},
                  {"rule": "no_such_rule", "reason": "x"}):  # fmt: skip
        refused = gateway.client.post("/cdr/v1/suppressions", json=wrong, headers=alice)
        assert refused.status_code == 422, wrong
    gone = gateway.client.delete(f"/cdr/v1/suppressions/{added.json()['id']}", headers=alice)
    assert gone.status_code == 204
    rules = gateway.client.get("/cdr/v1/rules", headers=amy).json()
    assert [r["id"] for r in rules] == list(RULES)
    assert {"id", "title", "techniques", "runbook"} <= set(rules[0])
