"""The estate: every tier in every spoke, unique NICs, and the scanner where the README says."""

import ipaddress

import numpy as np
import pytest

from flowcdr.simulate.topology import Tier, build_topology


@pytest.mark.parametrize("vms", [5, 50, 500, 5000])
def test_estate_of_any_size_is_complete_and_unique(vms: int) -> None:
    topology = build_topology(np.random.default_rng(vms), vms)
    assert abs(len(topology.vms) - vms) <= 2
    assert len({vm.mac for vm in topology.vms}) == len(topology.vms)
    assert len({vm.ipv4 for vm in topology.vms}) == len(topology.vms)
    assert all(ipaddress.ip_address(vm.ipv4).is_private for vm in topology.vms)
    for vnet in topology.vnets[1:]:
        tiers = {vm.tier for vm in topology.vms if vm.subnet.vnet is vnet}
        assert tiers == {Tier.WEB, Tier.APP, Tier.DB}
    assert topology.vnets[1].dual_stack
    v6 = [vm.ipv6 for vm in topology.vms if vm.ipv6]
    assert v6
    assert all(str(ipaddress.IPv6Address(a)) == a for a in v6)


def test_the_customers_scanner_is_always_the_same_address() -> None:
    for seed in range(5):
        topology = build_topology(np.random.default_rng(seed), 100)
        scanners = [vm.ipv4 for vm in topology.vms if vm.tier is Tier.SCANNER]
        assert scanners == ["10.0.64.4"]
