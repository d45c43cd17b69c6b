"""A threat-intel match that a specific finding covers is folded into it, offline and live.

A Tor client whose relay is on a list is one finding (the Tor one, naming the list), not a
Tor finding plus a generic threat-intel one with another ATT&CK technique; a listed address
that no specific rule explains stays a threat-intel finding of its own.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from flowcdr.config import Settings
from flowcdr.detect.case import CASE_START, Case, CaseFlow
from flowcdr.detect.continuous import ContinuousDetector
from flowcdr.detect.dataset import OFFLINE_TENANT, add_flows, open_dataset
from flowcdr.detect.finding import Finding
from flowcdr.detect.intel import Intel, build_list
from flowcdr.detect.ledger import FindingLedger
from flowcdr.detect.runner import detect_offline
from flowcdr.store.control import ControlStore

from .test_ledger import Clock
from .test_runner import RULES

VM, RELAY, C2, BRUTE = "10.0.17.4", "22.66.4.4", "22.66.9.9", "11.66.5.5"
SERVER = "10.0.11.4"
USED = ("tor_connection", "threat_intel_outbound", "threat_intel_inbound", "ssh_rdp_brute_force")
ENABLED = {rule_id: RULES[rule_id].settings({}) for rule_id in USED}
NOW = CASE_START + dt.timedelta(days=30)


def flows() -> tuple[pa.Table, Intel]:
    """A Tor circuit to a listed relay, a download from a listed address on 443 an hour
    later, and forty fixed-size SSH logins from a listed address."""
    tor = [CaseFlow(60 + i * 300, VM, RELAY, 9001, dst_bytes=80_000) for i in range(6)]
    c2 = [CaseFlow(3 * 3600 + 60, VM, C2, 443, dst_bytes=250_000)]
    guesses = [
        CaseFlow(5 * 3600 + i * 5, BRUTE, SERVER, 22, src_port=40_000 + i, src_bytes=2_500)
        for i in range(40)
    ]
    table = Case("all", (*tor, *c2, *guesses), 0).table()
    return table, Intel((build_list("feodo", (RELAY, C2, BRUTE)),))


def offline() -> list[Finding]:
    table, intel = flows()
    db = open_dataset()
    add_flows(db, table, intel=intel)
    return list(detect_offline(db, RULES, ENABLED, OFFLINE_TENANT).findings())


def test_a_listed_tor_relay_is_one_tor_finding_naming_the_list() -> None:
    by_rule = {f.rule_id: f for f in offline()}
    assert set(by_rule) == {"tor_connection", "threat_intel_outbound", "ssh_rdp_brute_force"}
    tor = by_rule["tor_connection"]
    assert tor.related_rules == ("threat_intel_outbound",)
    # Its own ATT&CK first, then what the list adds.
    assert tor.techniques == ("T1090.003", *RULES["threat_intel_outbound"].meta.techniques)
    assert tor.severity == "high"  # the intel match answered with data: high
    (intel,) = tor.evidence["corroboration"]
    assert (intel["rule_id"], intel["intel_list"]) == ("threat_intel_outbound", "feodo")
    assert tor.as_dict()["related_rules"] == ["threat_intel_outbound"]


def test_a_listed_address_no_specific_rule_explains_stays_its_own_finding() -> None:
    by_rule = {f.rule_id: f for f in offline()}
    assert by_rule["threat_intel_outbound"].dst_ip == C2
    assert by_rule["threat_intel_outbound"].related_rules == ()


def test_an_inbound_match_folds_into_the_brute_force_from_that_source() -> None:
    brute = next(f for f in offline() if f.rule_id == "ssh_rdp_brute_force")
    assert (brute.src_ip, brute.related_rules) == (BRUTE, ("threat_intel_inbound",))


def test_a_long_connection_carrying_an_upload_is_one_upload_finding() -> None:
    uploaded = [
        CaseFlow(0, VM, C2, 4443, src_port=51000, state="begin"),
        *(
            CaseFlow(m * 60 + 30, VM, C2, 4443, src_port=51000, state="continue",
                     src_bytes=4_000_000, dst_bytes=20_000)
            for m in range(130)
        ),
    ]  # fmt: skip
    db = open_dataset()
    add_flows(db, Case("upload", tuple(uploaded), 0).table())
    rules = ("long_connection", "upload_asymmetry")
    enabled = {rule_id: RULES[rule_id].settings({}) for rule_id in rules}
    (found,) = detect_offline(db, RULES, enabled, OFFLINE_TENANT).findings()
    assert (found.rule_id, found.related_rules) == ("upload_asymmetry", ("long_connection",))
    assert "T1572" in found.techniques  # still tunnelling, as the long connection said


@pytest.fixture
def control(tmp_path: Path, database_url: str | None) -> Iterator[ControlStore]:
    store = ControlStore.open(Settings(data_dir=tmp_path / "data", database_url=database_url))
    yield store
    store.close()


@pytest.mark.parametrize("intel_first", [True, False])
def test_the_gateway_folds_whichever_rule_runs_first(
    control: ControlStore, intel_first: bool
) -> None:
    tenant = control.add_user("user-contoso", "contoso", "admin", "x").tenant_id
    ledger = FindingLedger(control)
    order = ("threat_intel_outbound", "tor_connection")
    enabled = {rule_id: ENABLED[rule_id] for rule_id in (order if intel_first else order[::-1])}
    continuous = ContinuousDetector(
        RULES, ledger, lambda _tenant: enabled, min_rerun_seconds=0, clock=Clock()
    )
    table, intel = flows()
    db = open_dataset()
    add_flows(db, table, intel=intel, tenant_id=tenant)
    continuous.touched(tenant, CASE_START, CASE_START + dt.timedelta(hours=6))
    continuous.run(db, NOW)
    stored = {(i.finding.rule_id, i.finding.dst_ip): i for i in ledger.findings(tenant)}
    tor = stored["tor_connection", RELAY]
    folded = stored["threat_intel_outbound", RELAY]
    assert (folded.finding.status, folded.status_by) == (
        "suppressed",
        f"correlation:{tor.finding.id}",
    )
    assert stored["threat_intel_outbound", C2].finding.status == "open"  # nothing covers it
