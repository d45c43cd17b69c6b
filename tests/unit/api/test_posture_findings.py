"""Posture findings through the findings API: listed with their kind and filtered by it."""

import datetime as dt

from flowcdr.inventory.posture import audit

from ..inventory.estate import NSG_WEB, estate, rule, with_rules
from .conftest import Gateway
from .test_findings import scan_detected


def test_findings_carry_their_kind_and_filter_by_it(gateway: Gateway) -> None:
    scan_detected(gateway)
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    alice = services.store.user("alice").tenant_id
    exposed = with_rules(estate(), NSG_WEB, rule("AllowAnyRDP", 200, ports=("3389",)))
    audit(alice, exposed, None, services.ledger, dt.datetime.now(dt.UTC))
    amy = gateway.bearer("amy")

    def listed(**params: str) -> list[dict[str, str]]:
        response = gateway.client.get("/cdr/v1/findings", params=params, headers=amy)
        assert response.status_code == 200, response.text
        items: list[dict[str, str]] = response.json()["items"]
        return items

    everything = listed()
    assert {item["kind"] for item in everything} == {"detection", "posture"}
    [posture] = listed(kind="posture")
    assert posture["rule_id"] == "posture.internet_management_port"
    assert posture["kind"] == "posture"
    detections = listed(kind="detection")
    assert detections
    assert all(item["kind"] == "detection" for item in detections)
    assert len(detections) + 1 == len(everything)
    refused = gateway.client.get("/cdr/v1/findings", params={"kind": "attack"}, headers=amy)
    assert refused.status_code == 422
    assert "kind" in refused.text
    bob = gateway.client.get(
        "/cdr/v1/findings", params={"kind": "posture"}, headers=gateway.bearer("bob")
    )
    assert bob.json()["items"] == []
