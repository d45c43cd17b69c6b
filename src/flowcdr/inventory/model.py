"""What the inventory knows about one Azure subscription at one sync, as plain frozen values.

The sync (``flowcdr.inventory.sync``) builds a ``Snapshot`` from Azure Resource Manager; the
store keeps snapshots per tenant with first/last seen and change history; the posture audit
(``flowcdr.inventory.posture``) and flow enrichment read them. Nothing here does I/O, so the
audit's checks are pure functions over these values and are tested without any Azure API.

Conventions, chosen once so every reader agrees:
- ARM resource ids are compared case-insensitively (ARM treats them so and returns mixed case
  across APIs): ``rid(id)`` is the key form; the original spelling is kept for display.
- MAC addresses are 12 upper-case hex digits without separators, the form flow logs use
  (ARM answers ``00-0D-3A-F8-78-56``, flow records ``000D3AF87856``): ``normalize_mac``.
- An NSG rule's address and port fields keep Azure's words: ``*``, ``Internet``,
  ``VirtualNetwork``, ``AzureLoadBalancer`` and other service tags stay as written; application
  security groups appear as ``asg:<name>``; singular and plural ARM properties are merged.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["Inbound", "Outbound"]
Access = Literal["Allow", "Deny"]

_MAC_SEPARATORS = re.compile(r"[-:.]")
_MAC = re.compile(r"[0-9A-F]{12}")


def rid(resource_id: str) -> str:
    """The comparison key of an ARM resource id (ids are case-insensitive in ARM)."""
    return resource_id.strip().rstrip("/").lower()


def normalize_mac(mac: str) -> str | None:
    """``00-0d-3a-f8-78-56`` -> ``000D3AF87856``; None when it is not a MAC address."""
    compact = _MAC_SEPARATORS.sub("", mac.strip()).upper()
    return compact if _MAC.fullmatch(compact) else None


def resource_group_of(resource_id: str) -> str:
    """The resource group named in an ARM id, or "" when the id has none."""
    parts = resource_id.strip("/").split("/")
    lowered = [part.lower() for part in parts]
    if "resourcegroups" in lowered:
        index = lowered.index("resourcegroups") + 1
        if index < len(parts):
            return parts[index]
    return ""


def name_of(resource_id: str) -> str:
    """The last segment of an ARM id: the resource's own name."""
    return resource_id.strip().rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class SecurityRule:
    """One NSG security rule, default rules included (``default=True``; priorities 65000+)."""

    name: str
    priority: int
    direction: Direction
    access: Access
    protocol: str  # Tcp, Udp, Icmp, Esp, Ah or * as Azure writes it
    source_prefixes: tuple[str, ...]  # CIDRs, addresses, service tags, "*", "asg:<name>"
    source_ports: tuple[str, ...]  # "*", "22", "1024-65535"
    destination_prefixes: tuple[str, ...]
    destination_ports: tuple[str, ...]
    default: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class NetworkSecurityGroup:
    id: str
    name: str
    resource_group: str
    location: str
    rules: tuple[SecurityRule, ...]  # custom and default rules, in no particular order
    subnet_ids: tuple[str, ...] = ()
    nic_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VirtualNetwork:
    id: str
    name: str
    resource_group: str
    location: str
    address_prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Subnet:
    id: str
    name: str
    vnet_id: str
    address_prefixes: tuple[str, ...]
    nsg_id: str | None = None


@dataclass(frozen=True, slots=True)
class NetworkInterface:
    id: str
    name: str
    resource_group: str
    location: str
    mac: str | None  # normalize_mac form; None until the NIC is attached to a running VM
    private_ips: tuple[str, ...]
    subnet_ids: tuple[str, ...]  # one per IP configuration, usually one subnet
    public_ip_ids: tuple[str, ...] = ()
    nsg_id: str | None = None
    vm_id: str | None = None


@dataclass(frozen=True, slots=True)
class PublicIpAddress:
    id: str
    name: str
    resource_group: str
    location: str
    ip_address: str | None  # None while a dynamic address is unallocated
    ip_configuration_id: str | None = None  # the NIC (or load balancer) configuration using it


@dataclass(frozen=True, slots=True)
class VirtualMachine:
    id: str
    name: str
    resource_group: str
    location: str
    nic_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StorageAccount:
    id: str
    name: str
    location: str


@dataclass(frozen=True, slots=True)
class FlowLog:
    """A flow-log resource (Microsoft.Network/networkWatchers/flowLogs) and what it targets."""

    id: str
    name: str
    location: str
    target_id: str  # the NSG, VNet, subnet or NIC whose traffic it logs
    storage_id: str
    enabled: bool
    retention_enabled: bool
    retention_days: int  # 0 with retention enabled means kept forever
    format_version: int = 2
    traffic_analytics: bool = False

    @property
    def target_kind(self) -> Literal["nsg", "vnet", "subnet", "nic", "other"]:
        key = rid(self.target_id)
        if "/networksecuritygroups/" in key:
            return "nsg"
        if "/subnets/" in key:
            return "subnet"
        if "/virtualnetworks/" in key:
            return "vnet"
        if "/networkinterfaces/" in key:
            return "nic"
        return "other"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one sync read from one subscription."""

    subscription_id: str
    taken_at: dt.datetime
    virtual_machines: tuple[VirtualMachine, ...] = ()
    network_interfaces: tuple[NetworkInterface, ...] = ()
    public_ips: tuple[PublicIpAddress, ...] = ()
    virtual_networks: tuple[VirtualNetwork, ...] = ()
    subnets: tuple[Subnet, ...] = ()
    security_groups: tuple[NetworkSecurityGroup, ...] = ()
    storage_accounts: tuple[StorageAccount, ...] = ()
    flow_logs: tuple[FlowLog, ...] = ()
    errors: tuple[str, ...] = field(default=())  # what could not be listed, and why
    # The fields above (``virtual_machines``, ``flow_logs``...) whose listing failed, so are
    # empty or partial here: the store keeps what it knew of them instead of calling them removed.
    failed_kinds: tuple[str, ...] = ()


# The Snapshot fields that hold resources, in the order a sync lists them.
KINDS = (
    "virtual_machines",
    "network_interfaces",
    "public_ips",
    "virtual_networks",
    "subnets",
    "security_groups",
    "storage_accounts",
    "flow_logs",
)
