"""Exposure checks: internet to management and database ports, and any-any allows."""

import pytest

from flowcdr.inventory.model import SecurityRule
from flowcdr.inventory.posture.exposure import ANY_ANY, DATABASE, MANAGEMENT

from .estate import NSG_DB, NSG_WEB, estate, rule, with_rules
from .posture_helpers import issues, traffic


@pytest.mark.parametrize("source", ["*", "0.0.0.0/0", "Internet", "Any", "internet"])
def test_rdp_from_any_internet_source_is_reported_naming_nsg_rule_and_fix(source: str) -> None:
    snapshot = with_rules(
        estate(), NSG_WEB, rule("AllowAnyRDP", 200, src=(source,), ports=("3389",))
    )
    [issue] = issues(MANAGEMENT, snapshot)
    assert issue.rule == "AllowAnyRDP"
    assert issue.port == 3389
    assert issue.resource_id == NSG_WEB
    assert issue.severity == "high"
    assert "nsg-web" in issue.summary
    assert "RDP (3389)" in issue.summary
    assert f"source from {source} to" in issue.fix
    assert issue.flow_evidence is None  # no evidence was asked for


@pytest.mark.parametrize(
    ("ports", "protocol", "found"),
    [
        (("20-25",), "Tcp", [22, 23]),
        (("*",), "Tcp", [22, 23, 135, 445, 1270, 3389, 5900, 5901, 5985, 5986]),
        (("5985-5986", "8080"), "*", [5985, 5986]),
        (("3389",), "Udp", [3389]),
    ],
)
def test_ranges_and_star_ports_are_expanded(
    ports: tuple[str, ...], protocol: str, found: list[int]
) -> None:
    snapshot = with_rules(estate(), NSG_WEB, rule("Wide", 200, protocol=protocol, ports=ports))
    [issue] = issues(MANAGEMENT, snapshot)
    assert issue.details["ports"] == found
    assert issue.port == found[0]


@pytest.mark.parametrize(
    "added",
    [
        rule("SshFromCorp", 200, src=("203.0.113.0/24",), ports=("22",)),  # a known source
        rule("SshFromVnet", 200, src=("VirtualNetwork",), ports=("22",)),
        rule("HttpsFromAll", 200, src=("*",), ports=("443", "8080-8090")),  # not management
        rule("DenyRdp", 200, access="Deny", ports=("3389",)),
        rule("RdpOut", 200, direction="Outbound", ports=("3389",)),
        rule("IcmpFromAll", 200, protocol="Icmp", ports=("*",)),
        # Shadowed by a deny evaluated first: nothing is exposed (shadowed_rule reports it).
        rule("AllowAnyRDP", 300, ports=("3389",)),
    ],
)
def test_rules_that_do_not_open_management_to_the_internet_are_not_reported(
    added: SecurityRule,
) -> None:
    snapshot = with_rules(
        estate(),
        NSG_WEB,
        added,
        rule("DenyRdpFirst", 250, access="Deny", ports=("3389",)),
    )
    assert issues(MANAGEMENT, snapshot) == []


def test_the_clean_estate_has_no_exposure() -> None:
    for check in (MANAGEMENT, DATABASE, ANY_ANY):
        assert issues(check, estate()) == []


def test_accepted_internet_sources_raise_and_their_absence_softens() -> None:
    snapshot = with_rules(estate(), NSG_WEB, rule("AllowAnyRDP", 200, ports=("3389",)))
    [confirmed] = issues(MANAGEMENT, snapshot, traffic(NSG_WEB, AllowAnyRDP=(900, 500, 412)))
    assert confirmed.severity == "critical"
    assert confirmed.flow_count == 500
    assert confirmed.flow_evidence is not None
    assert "412 internet addresses were accepted under rule AllowAnyRDP" in confirmed.flow_evidence
    [quiet] = issues(MANAGEMENT, snapshot, traffic(NSG_WEB, AllowHttpsInBound=(10, 5, 3)))
    assert quiet.severity == "medium"
    assert quiet.flow_evidence == (
        "no internet address was accepted under rule AllowAnyRDP in the last 24 h"
    )
    [unknown] = issues(MANAGEMENT, snapshot, traffic(NSG_DB))  # flows of another NSG only
    assert unknown.severity == "high"
    assert unknown.flow_evidence is not None
    assert "no flows of this NSG were logged" in unknown.flow_evidence


def test_database_ports_from_the_internet() -> None:
    snapshot = with_rules(
        estate(), NSG_DB, rule("DatabaseAnyInBound", 150, ports=("1433", "3306", "5432", "6379"))
    )
    [issue] = issues(DATABASE, snapshot)
    assert issue.details["ports"] == [1433, 3306, 5432, 6379]
    assert "SQL Server (1433), MySQL (3306), PostgreSQL (5432), Redis (6379)" in issue.summary
    assert issues(MANAGEMENT, snapshot) == []


def test_database_ports_from_a_private_range_are_not_reported() -> None:
    snapshot = with_rules(
        estate(), NSG_DB, rule("Mongo", 150, src=("10.0.0.0/8",), ports=("27017",))
    )
    assert issues(DATABASE, snapshot) == []


@pytest.mark.parametrize("source", ["*", "0.0.0.0/0", "Internet"])
def test_any_any_inbound_is_one_finding_not_one_per_port_family(source: str) -> None:
    snapshot = with_rules(
        estate(), NSG_WEB, rule("AllowAll", 200, protocol="*", src=(source,), ports=("*",))
    )
    [issue] = issues(ANY_ANY, snapshot)
    assert issue.rule == "AllowAll"
    assert issue.severity == "high"
    assert issues(MANAGEMENT, snapshot) == issues(DATABASE, snapshot) == []


def test_any_any_outbound_is_medium() -> None:
    snapshot = with_rules(
        estate(),
        NSG_WEB,
        rule("AllowAllOut", 200, direction="Outbound", protocol="*", ports=("0-65535",)),
    )
    [issue] = issues(ANY_ANY, snapshot)
    assert issue.severity == "medium"
    assert "exfiltration" in issue.summary


@pytest.mark.parametrize(
    "added",
    [
        rule("AllTcp", 200, protocol="Tcp", ports=("*",)),  # one protocol only
        rule("AllFromCorp", 200, protocol="*", src=("203.0.113.0/24",), ports=("*",)),
        rule("AllToOneHost", 200, protocol="*", dst=("10.1.1.4",), ports=("*",)),
        rule("AllButLow", 200, protocol="*", ports=("1024-65535",)),
        rule("DenyAll", 200, access="Deny", protocol="*", ports=("*",)),
    ],
)
def test_rules_short_of_any_any_are_not_any_any(added: SecurityRule) -> None:
    assert issues(ANY_ANY, with_rules(estate(), NSG_WEB, added)) == []


def test_an_exposure_names_the_vms_behind_the_nsg() -> None:
    snapshot = with_rules(estate(), NSG_WEB, rule("AllowAnyRDP", 200, ports=("3389",)))
    [issue] = issues(MANAGEMENT, snapshot)
    assert "from the internet, exposing VM web-01 (rg-prod, public IP 20.1.2.3): Allow" in (
        issue.summary
    )
    assert issue.details["vms"] == ["web-01 (rg-prod, public IP 20.1.2.3)"]
    db = with_rules(estate(), NSG_DB, rule("DatabaseAnyInBound", 150, ports=("5432",)))
    [database] = issues(DATABASE, db)
    assert database.details["vms"] == ["sql-01 (rg-prod)"]
