"""A VM with a public IP address and no NSG on its NIC or on the NIC's subnet.

Nothing filters what reaches such a VM from the internet but its own firewall. (A Standard SKU
public IP denies inbound without an NSG, so the VM is at least unreachable; a Basic SKU one is
wide open; the inventory does not keep the SKU, so the finding stands either way: without an
NSG there is no place to say what is allowed, and no NSG-decided flows to log.)
"""

from collections.abc import Iterator

from flowcdr.detect.rule import RuleMeta
from flowcdr.inventory.model import rid
from flowcdr.inventory.posture.check import Audited, Check, Issue


def _unfiltered(audited: Audited) -> Iterator[Issue]:
    public = audited.public_ips
    for vm in audited.snapshot.virtual_machines:
        for nic_id in vm.nic_ids:
            nic = audited.nics.get(rid(nic_id))
            if nic is None or rid(nic_id) not in public or audited.nsgs_of(nic):
                continue
            addresses = ", ".join(public[rid(nic_id)])
            subnets = [
                audited.subnets[rid(s)].name for s in nic.subnet_ids if rid(s) in audited.subnets
            ]
            yield Issue(
                vm.id,
                nic.name,
                f"VM {vm.name} (resource group {vm.resource_group}) has public IP {addresses} "
                f"on NIC {nic.name} and no NSG on the NIC or its subnet "
                f"{', '.join(subnets) or '(unknown)'}",
                f"Create an NSG allowing only the inbound traffic {vm.name} serves (from the "
                f"sources that need it) and associate it with subnet "
                f"{', '.join(subnets) or 'of NIC ' + nic.name}; or remove the public IP and "
                f"reach the VM through Azure Bastion or a load balancer.",
                "high",
                details={"public_ips": public[rid(nic_id)], "nic": nic.id},
            )


PUBLIC_VM = Check(
    RuleMeta(
        id="posture.public_vm_without_nsg",
        title="VM with a public IP and no NSG",
        level="high",
        description=(
            "Nothing but the VM's own firewall stands between it and the internet, and no "
            "rule says what may reach it."
        ),
        tactics=("TA0001",),
        techniques=("T1133", "T1190"),
        mitigations=("M1030", "M1037"),
        false_positives=("A network virtual appliance that filters its own traffic.",),
        runbook="Put an NSG on the VM's subnet (or NIC), or remove the public IP.",
    ),
    _unfiltered,
    reads=("virtual_machines", "network_interfaces", "public_ips", "subnets"),
)
