"""What an NSG rule covers, shadowed rules and unused allows."""

import dataclasses

import pytest

from flowcdr.inventory.model import SecurityRule, rid
from flowcdr.inventory.posture.evidence import NsgTraffic, RuleTraffic
from flowcdr.inventory.posture.nsg_rules import (
    port_ranges,
    ports_cover,
    prefixes_cover,
    rule_covers,
)
from flowcdr.inventory.posture.rule_hygiene import SHADOWED, UNUSED

from .estate import NOW, NSG_DB, NSG_WEB, estate, rule, with_rules
from .posture_helpers import issues, traffic


def test_port_ranges_merge_and_bad_ones_are_named() -> None:
    assert port_ranges(("80", "81-90", "*")) == [(0, 65535)]
    assert port_ranges(("443", "22", "23", "100-200", "150-250")) == [
        (22, 23), (100, 250), (443, 443),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="'ssh'"):
        port_ranges(("ssh",))
    with pytest.raises(ValueError, match="'70000'"):
        port_ranges(("70000",))


@pytest.mark.parametrize(
    ("outer", "inner", "covered"),
    [
        (("*",), ("22",), True),
        (("20-25",), ("22", "23"), True),
        (("20-22", "23-30"), ("21-29",), True),  # a union of ranges covers
        (("22",), ("*",), False),
        (("22",), ("22-23",), False),
    ],
)
def test_ports_cover(outer: tuple[str, ...], inner: tuple[str, ...], covered: bool) -> None:
    assert ports_cover(outer, inner) is covered


@pytest.mark.parametrize(
    ("outer", "inner", "covered"),
    [
        (("*",), ("Internet",), True),
        (("*",), ("asg:web",), True),
        (("10.0.0.0/8",), ("10.1.2.0/24", "10.9.9.9"), True),
        (("0.0.0.0/0",), ("203.0.113.7",), True),
        (("Internet",), ("Internet",), True),
        (("Storage.WestEurope",), ("storage.westeurope",), True),
        (("0.0.0.0/0",), ("Internet",), False),  # Internet holds IPv6 too
        (("Internet",), ("203.0.113.7",), False),  # a VNet may use public space
        (("VirtualNetwork",), ("10.1.0.0/16",), False),  # the VNet's space is not in the rule
        (("AzureCloud",), ("Storage",), False),  # opaque tags cover only themselves
        (("asg:web",), ("asg:db",), False),
        (("10.0.0.0/8",), ("*",), False),
        (("10.0.0.0/8",), ("fd00::/8",), False),
    ],
)
def test_prefixes_cover_only_what_is_certain(
    outer: tuple[str, ...], inner: tuple[str, ...], covered: bool
) -> None:
    assert prefixes_cover(outer, inner) is covered


def test_rule_cover_needs_direction_protocol_addresses_and_ports() -> None:
    broad = rule("Broad", 100, protocol="*", src=("10.0.0.0/8",), ports=("1-1024",))
    narrow = rule("Narrow", 200, src=("10.1.0.0/16",), ports=("22",))
    assert rule_covers(broad, narrow)
    assert not rule_covers(narrow, broad)
    assert not rule_covers(
        rule("Out", 100, direction="Outbound", protocol="*", ports=("*",)), narrow
    )
    assert not rule_covers(rule("Udp", 100, protocol="Udp", ports=("*",)), narrow)
    assert not rule_covers(rule("SrcPort", 100, ports=("*",), src_ports=("1024-65535",)), narrow)


def test_a_deny_shadowed_by_an_earlier_allow_is_medium_and_names_both() -> None:
    snapshot = with_rules(
        estate(),
        NSG_WEB,
        rule("AllowWebAll", 90, protocol="*", src=("*",), ports=("*",)),
        rule("DenyTelnet", 120, access="Deny", src=("Internet",), ports=("23",)),
    )
    found = {issue.rule: issue for issue in issues(SHADOWED, snapshot)}
    deny = found["DenyTelnet"]
    assert deny.severity == "medium"
    assert "never blocks anything" in deny.summary
    assert "AllowWebAll (priority 90)" in deny.summary
    assert "priority number below 90" in deny.fix
    # The estate's own allows come after it too; the default rules are never reported.
    assert set(found) == {"DenyTelnet", "AllowHttpsInBound", "AllowSshFromCorp"}
    assert found["AllowSshFromCorp"].severity == "low"


def test_internet_does_not_provably_cover_a_public_range() -> None:
    snapshot = with_rules(
        estate(), NSG_WEB, rule("AllowWebAll", 90, protocol="*", src=("Internet",), ports=("*",))
    )
    assert [issue.rule for issue in issues(SHADOWED, snapshot)] == ["AllowHttpsInBound"]


def test_a_redundant_allow_is_low_and_its_fix_is_deletion() -> None:
    snapshot = with_rules(
        estate(), NSG_DB, rule("AllowSqlFromWebHost", 200, src=("10.1.1.4",), ports=("1433",))
    )
    [issue] = issues(SHADOWED, snapshot)
    assert issue.rule == "AllowSqlFromWebHost"
    assert issue.severity == "low"
    assert issue.fix == (
        "In NSG nsg-db, delete rule AllowSqlFromWebHost: rule AllowSqlFromWeb already does "
        "its work."
    )


@pytest.mark.parametrize(
    "added",
    [
        rule("Wider", 200, src=("10.0.0.0/8",), ports=("1433",)),  # wider than the earlier one
        rule("OtherPort", 200, src=("10.1.1.4",), ports=("1433-1434",)),
        rule("Tagged", 200, src=("AzureCloud",), ports=("1433",)),  # opaque: not provable
        rule("Earlier", 50, src=("10.1.1.4",), ports=("1433",)),  # evaluated first
    ],
)
def test_rules_not_certainly_covered_are_not_shadowed(added: SecurityRule) -> None:
    assert issues(SHADOWED, with_rules(estate(), NSG_DB, added)) == []


def test_the_clean_estate_shadows_nothing_default_rules_included() -> None:
    assert issues(SHADOWED, estate()) == []


def test_an_allow_no_flow_matched_while_logged_is_unused() -> None:
    logged = traffic(NSG_WEB, days=40, AllowHttpsInBound=(1200, 40, 30))
    [issue] = issues(UNUSED, estate(), logged)
    assert issue.rule == "AllowSshFromCorp"
    assert issue.severity == "low"
    assert "matched no flow in 30 days" in issue.summary
    assert issue.fix.startswith("In NSG nsg-web, delete rule AllowSshFromCorp")


def test_unused_needs_flows_logged_over_the_whole_window() -> None:
    assert issues(UNUSED, estate()) == []  # no evidence at all
    assert issues(UNUSED, estate(), traffic(NSG_WEB, days=10)) == []  # logged for 10 days only
    both_used = traffic(NSG_WEB, AllowHttpsInBound=(5, 0, 0), AllowSshFromCorp=(1, 0, 0))
    assert issues(UNUSED, estate(), both_used) == []


def test_deny_and_default_rules_are_never_unused() -> None:
    snapshot = with_rules(estate(), NSG_WEB, rule("DenyTelnet", 90, access="Deny", ports=("23",)))
    used = traffic(NSG_WEB, AllowHttpsInBound=(5, 0, 0), AllowSshFromCorp=(1, 0, 0))
    assert issues(UNUSED, snapshot, used) == []


def test_a_long_rule_name_the_flow_log_cut_short_still_counts_as_used() -> None:
    name = "AllowPartnerSftpFromTheDataExchangeNetworkOfContosoForTheNightlyBatch01"
    long_rule = rule(name, 120, src=("198.51.100.0/24",), ports=("22",))
    snapshot = with_rules(estate(), NSG_WEB, long_rule)

    def logged_as(logged_name: str) -> dict[str, NsgTraffic]:
        found = traffic(NSG_WEB, AllowHttpsInBound=(5, 0, 0), AllowSshFromCorp=(1, 0, 0))
        nsg = found[rid(NSG_WEB)]
        used = RuleTraffic(7, 0, 0, NOW)
        return {rid(NSG_WEB): dataclasses.replace(nsg, rules={**nsg.rules, logged_name: used})}

    assert issues(UNUSED, snapshot, logged_as(name[:65].lower())) == []
    # A short logged name is another rule, not a cut one.
    assert [issue.rule for issue in issues(UNUSED, snapshot, logged_as("allow"))] == [name]
