"""VMs with a public IP and no NSG on the NIC nor its subnet."""

import dataclasses

from flowcdr.inventory.model import NetworkInterface, PublicIpAddress, Snapshot, Subnet
from flowcdr.inventory.posture.public_vm import PUBLIC_VM

from .estate import NSG_WEB, SQL_NIC, WEB_NIC, WEB_PIP, WEB_SUBNET, WEB_VM, arm, estate
from .posture_helpers import issues


def without_subnet_nsg(snapshot: Snapshot) -> Snapshot:
    subnets = tuple(
        dataclasses.replace(s, nsg_id=None) if s.id == WEB_SUBNET else s for s in snapshot.subnets
    )
    return dataclasses.replace(snapshot, subnets=subnets)


def nics(snapshot: Snapshot, nic_id: str, **changes: object) -> Snapshot:
    replaced = tuple(
        dataclasses.replace(n, **changes) if n.id == nic_id else n  # type: ignore[arg-type]
        for n in snapshot.network_interfaces
    )
    return dataclasses.replace(snapshot, network_interfaces=replaced)


def test_public_vm_without_any_nsg_names_vm_nic_address_and_subnet() -> None:
    [issue] = issues(PUBLIC_VM, without_subnet_nsg(estate()))
    assert issue.resource_id == WEB_VM
    assert issue.rule == "web-01-nic"
    assert issue.severity == "high"
    assert "VM web-01 (resource group rg-prod) has public IP 20.1.2.3 on NIC web-01-nic" in (
        issue.summary
    )
    assert "associate it with subnet web" in issue.fix


def test_an_nsg_on_the_subnet_or_on_the_nic_is_enough() -> None:
    assert issues(PUBLIC_VM, estate()) == []
    on_nic = nics(without_subnet_nsg(estate()), WEB_NIC, nsg_id=NSG_WEB)
    assert issues(PUBLIC_VM, on_nic) == []


def test_a_private_vm_without_nsg_is_not_this_check() -> None:
    snapshot = without_subnet_nsg(nics(estate(), WEB_NIC, public_ip_ids=()))
    snapshot = dataclasses.replace(snapshot, public_ips=())
    assert issues(PUBLIC_VM, snapshot) == []


def test_the_public_ip_may_be_known_only_from_its_own_side() -> None:
    snapshot = nics(without_subnet_nsg(estate()), WEB_NIC, public_ip_ids=())
    [issue] = issues(PUBLIC_VM, snapshot)
    assert issue.details["public_ips"] == ["20.1.2.3"]


def test_an_unallocated_address_is_named_by_its_resource() -> None:
    pip = PublicIpAddress(WEB_PIP, "web-01-pip", "rg-prod", "westeurope", None)
    [issue] = issues(PUBLIC_VM, without_subnet_nsg(estate(public_ips=(pip,))))
    assert issue.details["public_ips"] == ["web-01-pip"]


def test_a_second_nic_of_another_vm_in_an_nsg_less_subnet() -> None:
    bare = arm("Microsoft.Network/virtualNetworks", "vnet-prod") + "/subnets/bare"
    pip = arm("Microsoft.Network/publicIPAddresses", "sql-01-pip")
    base = estate()
    snapshot = dataclasses.replace(
        nics(base, SQL_NIC, subnet_ids=(bare,), public_ip_ids=(pip,)),
        subnets=(
            *base.subnets,
            Subnet(bare, "bare", base.virtual_networks[0].id, ("10.1.9.0/24",)),
        ),
        public_ips=(
            *base.public_ips,
            PublicIpAddress(pip, "sql-01-pip", "rg-prod", "westeurope", "20.9.9.9"),
        ),
    )
    [issue] = issues(PUBLIC_VM, snapshot)
    assert issue.rule == "sql-01-nic"
    assert isinstance(snapshot.network_interfaces[1], NetworkInterface)
