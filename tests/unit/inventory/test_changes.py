"""Change history between syncs: when an NSG rule counts as widened, and how ARM's singular and
plural rule properties become one field."""

import dataclasses

import pytest

from flowcdr.inventory import resources
from flowcdr.inventory.changes import diff
from flowcdr.inventory.model import NetworkSecurityGroup, SecurityRule
from flowcdr.inventory.store import from_json

NSG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg"
BASE = SecurityRule(
    name="AllowSsh", priority=100, direction="Inbound", access="Allow", protocol="Tcp",
    source_prefixes=("10.0.0.0/16",), source_ports=("*",),
    destination_prefixes=("10.1.0.0/24",), destination_ports=("22",),
)  # fmt: skip


def nsg(*rules: SecurityRule) -> NetworkSecurityGroup:
    return NetworkSecurityGroup(NSG, "nsg", "rg", "eastus", rules)


def changed(rule: SecurityRule) -> list[tuple[str, str]]:
    return [(c.change, c.summary) for c in diff("security_groups", nsg(BASE), nsg(rule))]


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ({"source_prefixes": ("*",)}, "source 10.0.0.0/16 -> *"),
        ({"source_prefixes": ("Internet",)}, "source 10.0.0.0/16 -> Internet"),
        ({"source_prefixes": ("10.0.0.0/8",)}, "source 10.0.0.0/16 -> 10.0.0.0/8"),
        ({"source_prefixes": ("10.0.0.0/16", "VirtualNetwork")}, "source 10.0.0.0/16 -> "),
        ({"destination_ports": ("20-23",)}, "destination ports 22 -> 20-23"),
        ({"destination_ports": ("22", "3389")}, "destination ports 22 -> 22, 3389"),
        ({"protocol": "*"}, "protocol Tcp -> *"),
    ],
)
def test_an_allow_rule_letting_more_through_is_widened(edit: dict[str, object], words: str) -> None:
    ((change, summary),) = changed(dataclasses.replace(BASE, **edit))  # type: ignore[arg-type]
    assert change == "rule_widened"
    assert words in summary


@pytest.mark.parametrize(
    "edit",
    [
        {"source_prefixes": ("10.0.1.0/24",)},  # narrower
        {"destination_ports": ("22",), "priority": 90},
        {"description": "now documented"},
        {"access": "Deny", "source_prefixes": ("*",)},  # a wider deny blocks more, not less
    ],
)
def test_other_rule_edits_are_changes_not_widening(edit: dict[str, object]) -> None:
    ((change, _),) = changed(dataclasses.replace(BASE, **edit))  # type: ignore[arg-type]
    assert change == "rule_changed"


def test_deny_becoming_allow_is_widened() -> None:
    deny = dataclasses.replace(BASE, access="Deny")
    (change,) = diff("security_groups", nsg(deny), nsg(BASE))
    assert (change.change, change.summary) == (
        "rule_widened", "nsg: rule AllowSsh widened: access Deny -> Allow"
    )  # fmt: skip


def test_rules_added_and_removed_and_the_nsg_itself() -> None:
    other = dataclasses.replace(BASE, name="AllowRdp", destination_ports=("3389",))
    found = diff("security_groups", nsg(BASE), nsg(other))
    assert sorted(c.change for c in found) == ["rule_added", "rule_removed"]
    moved = dataclasses.replace(nsg(BASE), subnet_ids=("/x/subnets/a",))
    (change,) = diff("security_groups", nsg(BASE), moved)
    assert (change.change, change.before, change.after) == (
        "changed", {"subnet_ids": []}, {"subnet_ids": ["/x/subnets/a"]}
    )  # fmt: skip
    assert diff("security_groups", nsg(BASE), nsg(BASE)) == []
    assert [c.change for c in diff("security_groups", None, nsg(BASE))] == ["added"]
    assert [c.change for c in diff("security_groups", nsg(BASE), None)] == ["removed"]


def test_a_rule_merges_singular_plural_and_application_security_groups() -> None:
    asg = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups"
    rule = resources.security_rule(
        {
            "name": "Mixed",
            "properties": {
                "priority": 300, "direction": "Outbound", "access": "Allow", "protocol": "Udp",
                "sourceAddressPrefix": "10.0.0.4", "sourceAddressPrefixes": ["10.0.0.5"],
                "sourcePortRange": "*", "sourcePortRanges": [],
                "destinationApplicationSecurityGroups": [{"id": f"{asg}/asg-db"}],
                "destinationPortRanges": ["53", "5000-5010"],
            },
        },
        default=False,
    )  # fmt: skip
    assert rule.source_prefixes == ("10.0.0.4", "10.0.0.5")
    assert rule.destination_prefixes == ("asg:asg-db",)
    assert rule.destination_ports == ("53", "5000-5010")
    assert rule.source_ports == ("*",)
    # What the store keeps reads back equal, rules included.
    group = nsg(rule, BASE)
    assert from_json("security_groups", dataclasses.asdict(group)) == group
