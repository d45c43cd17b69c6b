"""The simulated Azure estate: subscriptions, VNets, subnets with their NSGs, and VMs by tier.

Everything the blobs name comes from here (resource ids, NSG GUIDs, MACs, private addresses), and
the traffic model picks its endpoints here, so one seed always describes the same estate. The
shape follows a common landing zone: one hub VNet (jump hosts and the customer's vulnerability
scanner) and spoke VNets of three-tier applications (web behind a public load balancer, app,
database). The first spoke and about a third of the others are dual-stack, so every estate has
IPv6 "where a VNet has it".
"""

import functools
import ipaddress
import uuid
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from flowcdr.azure import REGIONS, Cloud

# Azure NIC MACs are drawn from Microsoft's OUIs; these four are the ones seen on real NICs.
_AZURE_OUIS = ("000D3A", "002248", "6045BD", "7C1E52")
# One spoke per this many VMs (at least one), and the hub's share of the VMs.
_VMS_PER_SPOKE = 24
_DUAL_STACK_SHARE = 0.3
# Azure keeps the first four addresses of every subnet (network, gateway, two for DNS).
_FIRST_HOST = 4


class Tier(StrEnum):
    """What a VM does; it decides the traffic it makes and the NSG rules in front of it."""

    WEB = "web"
    APP = "app"
    DB = "db"
    JUMP = "jump"
    SCANNER = "scanner"


@dataclass(frozen=True)
class Subnet:
    """A subnet and the NSG on it: the NSG flow log's resource and the VNet flow log's ACL."""

    name: str
    vnet: "Vnet"
    position: int
    tier: Tier
    nsg_name: str
    nsg_guid: str
    acl_id: str

    @functools.cached_property
    def nsg_resource_id(self) -> str:
        """Upper case, as the platform writes it in NSG records and blob names."""
        return (
            f"/SUBSCRIPTIONS/{self.vnet.subscription}/RESOURCEGROUPS/{self.vnet.resource_group}"
            f"/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/{self.nsg_name}"
        ).upper()


@dataclass(frozen=True)
class Vnet:
    """A VNet and the VNet flow log that covers it (one flow log per VNet)."""

    index: int
    name: str
    subscription: str
    resource_group: str
    region: str
    flow_log_guid: str
    dual_stack: bool

    @functools.cached_property
    def target_resource_id(self) -> str:
        """Normal ARM casing, as VNet records give ``targetResourceID``."""
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Network/virtualNetworks/{self.name}"
        )

    @functools.cached_property
    def flow_log_resource_id(self) -> str:
        return (
            f"/SUBSCRIPTIONS/{self.subscription}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS"
            f"/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_{self.region}/FLOWLOGS"
            f"/{self.name}-{self.resource_group}-FLOWLOG"
        ).upper()


@dataclass(frozen=True)
class Vm:
    """One VM with one NIC; ``index`` is the NIC's position in ``Topology.vms``."""

    index: int
    name: str
    tier: Tier
    subnet: Subnet
    mac: str
    ipv4: str
    ipv6: str | None


@dataclass(frozen=True)
class Topology:
    region: str
    subscriptions: tuple[str, ...]
    vnets: tuple[Vnet, ...]
    subnets: tuple[Subnet, ...]
    vms: tuple[Vm, ...]

    def tier(self, tier: Tier) -> np.ndarray:
        """Indexes of the VMs of ``tier``, in order."""
        return np.array([vm.index for vm in self.vms if vm.tier is tier], dtype=np.int64)

    def exposed(self) -> np.ndarray:
        """VMs that the internet can reach (web behind the load balancer, jump hosts)."""
        return np.array(
            [vm.index for vm in self.vms if vm.tier in (Tier.WEB, Tier.JUMP)], dtype=np.int64
        )


def _guid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _tier_counts(vms: int) -> dict[Tier, int]:
    """How many VMs of each tier: one scanner, a few jump hosts, the rest 3:3:2 web/app/db."""
    jump = max(1, vms // 50)
    rest = max(3, vms - jump - 1)
    web = max(1, rest * 3 // 8)
    app = max(1, rest * 3 // 8)
    return {
        Tier.SCANNER: 1,
        Tier.JUMP: jump,
        Tier.WEB: web,
        Tier.APP: app,
        Tier.DB: rest - web - app,
    }


def build_topology(rng: np.random.Generator, vms: int) -> Topology:
    """An estate of about ``vms`` VMs (at least five: every tier present) in one region."""
    public = [region.name for region in REGIONS if region.cloud is Cloud.PUBLIC]
    region = public[int(rng.integers(len(public)))]
    subscriptions = tuple(_guid(rng) for _ in range(1 + vms // 200))
    counts = _tier_counts(vms)
    spokes = max(1, -(-(counts[Tier.WEB] + counts[Tier.APP] + counts[Tier.DB]) // _VMS_PER_SPOKE))
    vnets = [
        Vnet(
            index=i,
            name="vnet-hub" if i == 0 else f"vnet-spoke{i:02d}",
            subscription=subscriptions[i % len(subscriptions)],
            resource_group="rg-network-hub" if i == 0 else f"rg-app{i:02d}",
            region=region,
            flow_log_guid=_guid(rng),
            dual_stack=i == 1 or (i > 1 and bool(rng.random() < _DUAL_STACK_SHARE)),
        )
        for i in range(spokes + 1)
    ]
    subnets: list[Subnet] = []
    for vnet in vnets:
        tiers = (Tier.JUMP, Tier.SCANNER) if vnet.index == 0 else (Tier.WEB, Tier.APP, Tier.DB)
        for position, tier in enumerate(tiers):
            name = f"snet-{tier.value}"
            nsg = f"nsg-{vnet.name}-{name}"
            subnets.append(Subnet(name, vnet, position, tier, nsg, _guid(rng), _guid(rng)))
    macs = _unique_macs(rng, sum(counts.values()))
    machines: list[Vm] = []
    for tier, count in counts.items():
        homes = [subnet for subnet in subnets if subnet.tier is tier]
        for n in range(count):
            subnet = homes[n % len(homes)]
            index = len(machines)
            machines.append(_vm(index, tier, subnet, macs[index], n // len(homes)))
    return Topology(region, subscriptions, tuple(vnets), tuple(subnets), tuple(machines))


def _vm(index: int, tier: Tier, subnet: Subnet, mac: str, host: int) -> Vm:
    """The ``host``-th VM of its subnet: 10.<vnet>.<subnet*64 + host/250>.<host%250 + 4>."""
    vnet = subnet.vnet.index
    third, last = subnet.position * 64 + host // 250, host % 250 + _FIRST_HOST
    return Vm(
        index=index,
        name=f"vm-{tier.value}-{index:04d}",
        tier=tier,
        subnet=subnet,
        mac=mac,
        ipv4=f"10.{vnet}.{third}.{last}",
        ipv6=_ipv6(vnet, third, last) if subnet.vnet.dual_stack else None,
    )


def _ipv6(vnet: int, subnet: int, host: int) -> str:
    """A unique-local address fd00:db8:<vnet>:<subnet>::<host>, in RFC 5952 form as logged."""
    return str(ipaddress.IPv6Address(f"fd00:db8:{vnet:x}:{subnet:x}::{host:x}"))


def _unique_macs(rng: np.random.Generator, count: int) -> list[str]:
    macs: dict[str, None] = {}
    while len(macs) < count:
        oui = _AZURE_OUIS[int(rng.integers(len(_AZURE_OUIS)))]
        macs[f"{oui}{int(rng.integers(1 << 24)):06X}"] = None
    return list(macs)
