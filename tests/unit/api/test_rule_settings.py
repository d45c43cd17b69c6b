"""Per-tenant rule settings through the gateway: read by all, changed by admins, checked
against the rule's tunables, audited, and obeyed by the continuous detector of that tenant."""

from typing import Any

import flowcdr.detections
from flowcdr.api.detection import detect_once
from flowcdr.detect.case import Case
from flowcdr.detect.catalogue import load_rules
from flowcdr.enrich import enrich, stamp
from flowcdr.store.flows import Batch

from .conftest import Gateway

RULE = load_rules(flowcdr.detections)["vertical_port_scan"]
URL = f"/cdr/v1/rules/{RULE.id}/settings"
FORTY_PORTS = next(c for c in RULE.cases if c.name == "40 denied ports in 20 seconds")
TWENTY_FOUR_PORTS = next(c for c in RULE.cases if c.name == "24 ports is below the threshold")


def detected(gateway: Gateway, case: Case) -> dict[str, int]:
    """The case's flows admitted for both tenants, one detection pass run; findings of the
    rule per admin's tenant."""
    services = gateway.client.app.state.services  # type: ignore[attr-defined]
    for username in ("alice", "bob"):
        tenant_id = services.store.user(username).tenant_id
        table = stamp(enrich(case.table()), tenant_id, "conn-1")
        services.flows.admit(Batch(tenant_id, f"{case.name}-{username}", table, {}, "test"))
    services.flows.flush()
    assert detect_once(services).failures == 0
    return {
        username: len(services.ledger.findings(services.store.user(username).tenant_id,
                                               rule_id=RULE.id))
        for username in ("alice", "bob")
    }  # fmt: skip


def put(gateway: Gateway, username: str, body: dict[str, Any]) -> Any:
    return gateway.client.put(URL, json=body, headers=gateway.bearer(username))


def test_admins_change_a_rules_settings_analysts_read_them(gateway: Gateway) -> None:
    amy = gateway.bearer("amy")
    before = gateway.client.get(URL, headers=amy).json()
    assert before["enabled"] is True
    assert before["updated_by"] is None
    assert before["tunables"]["min_ports"] == {
        "value": 25, "default": 25, "overridden": False, "doc": "Probed ports in one minute."
    }  # fmt: skip
    assert put(gateway, "amy", {"enabled": False}).status_code == 403

    changed = put(
        gateway, "alice", {"enabled": True, "tunables": {"min_ports": 30, "sensitive_ports": [22]}}
    )
    assert changed.status_code == 200, changed.text
    after = gateway.client.get(URL, headers=amy).json()
    assert after == changed.json()
    assert (after["tunables"]["min_ports"]["value"], after["tunables"]["min_ports"]["overridden"],
            after["tunables"]["sensitive_ports"]["value"], after["updated_by"]) == (
        30, True, [22], "alice")  # fmt: skip
    assert after["tunables"]["min_sensitive_ports"]["overridden"] is False
    other_tenant = gateway.client.get(URL, headers=gateway.bearer("bea")).json()
    assert other_tenant["tunables"]["min_ports"]["value"] == 25
    audit = gateway.client.get("/cdr/v1/audit", headers=gateway.bearer("alice")).json()
    assert any((e["action"], e["target"]) == ("rule.settings", RULE.id) for e in audit)


def test_a_misfit_tunable_is_refused_naming_it(gateway: Gateway) -> None:
    cases = {
        "min_port": ({"min_port": 3}, "has no tunable 'min_port'"),
        "min_ports": ({"min_ports": "many"}, "expected a number"),
        "min_sensitive_ports": ({"min_sensitive_ports": 2.5}, "expected an integer"),
        "sensitive_ports": ({"sensitive_ports": ["ssh"]}, "expected a list of int"),
    }
    for name, (tunables, message) in cases.items():
        refused = put(gateway, "alice", {"tunables": tunables})
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["field"] == f"tunables.{name}"
        assert message in error["message"]
    negative = put(gateway, "alice", {"tunables": {"min_ports": -1}}).json()["error"]
    assert "0 or more" in negative["message"]
    unknown_field = put(gateway, "alice", {"enable": False}).json()["error"]
    assert unknown_field["field"] == "enable"
    missing = gateway.client.get("/cdr/v1/rules/no_such_rule/settings",
                                 headers=gateway.bearer("amy"))  # fmt: skip
    assert missing.status_code == 404
    unchanged = gateway.client.get(URL, headers=gateway.bearer("amy")).json()
    assert unchanged["updated_by"] is None


def test_a_disabled_rule_stops_firing_for_its_tenant_only(gateway: Gateway) -> None:
    assert put(gateway, "alice", {"enabled": False}).status_code == 200
    assert detected(gateway, FORTY_PORTS) == {"alice": 0, "bob": 1}


def test_a_changed_threshold_changes_what_fires(gateway: Gateway) -> None:
    assert put(gateway, "alice", {"tunables": {"min_ports": 20}}).status_code == 200
    assert detected(gateway, TWENTY_FOUR_PORTS) == {"alice": 1, "bob": 0}


def test_a_raised_threshold_silences_what_the_default_finds(gateway: Gateway) -> None:
    assert put(gateway, "bob", {"tunables": {"min_ports": 50}}).status_code == 200
    assert detected(gateway, FORTY_PORTS) == {"alice": 1, "bob": 0}
