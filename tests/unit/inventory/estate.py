"""Hand-built snapshots for the posture and enrichment tests: one small, clean estate to vary.

The estate: VNet ``vnet-prod`` (10.1.0.0/16, westeurope) with subnets ``web`` (NSG ``nsg-web``)
and ``db`` (NSG ``nsg-db``), VMs ``web-01`` (public IP 20.1.2.3) and ``sql-01``, a VNet flow
log on the VNet into a storage account in the same region. Nothing in it is a posture issue,
so each test adds exactly the problem it is about.
"""

import dataclasses
import datetime as dt
from typing import Any

from flowcdr.inventory.model import (
    Access,
    Direction,
    FlowLog,
    NetworkInterface,
    NetworkSecurityGroup,
    PublicIpAddress,
    SecurityRule,
    Snapshot,
    StorageAccount,
    Subnet,
    VirtualMachine,
    VirtualNetwork,
)

SUB = "0b0b0b0b-1111-2222-3333-444444444444"
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
REGION = "westeurope"


def arm(provider: str, name: str, group: str = "rg-prod") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/{provider}/{name}"


VNET = arm("Microsoft.Network/virtualNetworks", "vnet-prod")
WEB_SUBNET, DB_SUBNET = f"{VNET}/subnets/web", f"{VNET}/subnets/db"
NSG_WEB = arm("Microsoft.Network/networkSecurityGroups", "nsg-web")
NSG_DB = arm("Microsoft.Network/networkSecurityGroups", "nsg-db")
WEB_NIC = arm("Microsoft.Network/networkInterfaces", "web-01-nic")
SQL_NIC = arm("Microsoft.Network/networkInterfaces", "sql-01-nic")
WEB_VM = arm("Microsoft.Compute/virtualMachines", "web-01")
SQL_VM = arm("Microsoft.Compute/virtualMachines", "sql-01")
WEB_PIP = arm("Microsoft.Network/publicIPAddresses", "web-01-pip")
STORAGE = arm("Microsoft.Storage/storageAccounts", "stflowlogs", "rg-logs")
WATCHER = arm("Microsoft.Network/networkWatchers", f"NetworkWatcher_{REGION}", "NetworkWatcherRG")
VNET_FLOW_LOG = f"{WATCHER}/flowLogs/vnet-prod-flowlog"
WEB_MAC, SQL_MAC = "000D3A0A0001", "000D3A0A0002"


def rule(
    name: str,
    priority: int,
    *,
    direction: Direction = "Inbound",
    access: Access = "Allow",
    protocol: str = "Tcp",
    src: tuple[str, ...] = ("*",),
    dst: tuple[str, ...] = ("*",),
    ports: tuple[str, ...] = ("443",),
    src_ports: tuple[str, ...] = ("*",),
) -> SecurityRule:
    return SecurityRule(
        name,
        priority,
        direction,
        access,
        protocol,
        src,
        src_ports,
        dst,
        ports,
    )


DEFAULT_RULES = tuple(
    dataclasses.replace(r, default=True)
    for r in (
        rule("AllowVnetInBound", 65000, protocol="*", src=("VirtualNetwork",),
             dst=("VirtualNetwork",), ports=("*",)),
        rule("AllowAzureLoadBalancerInBound", 65001, protocol="*",
             src=("AzureLoadBalancer",), ports=("*",)),
        rule("DenyAllInBound", 65500, access="Deny", protocol="*", ports=("*",)),
        rule("AllowVnetOutBound", 65000, direction="Outbound", protocol="*",
             src=("VirtualNetwork",), dst=("VirtualNetwork",), ports=("*",)),
        rule("AllowInternetOutBound", 65001, direction="Outbound", protocol="*",
             dst=("Internet",), ports=("*",)),
        rule("DenyAllOutBound", 65500, direction="Outbound", access="Deny", protocol="*",
             ports=("*",)),
    )
)  # fmt: skip

WEB_RULES = (
    rule("AllowHttpsInBound", 100, src=("Internet",), ports=("443",)),
    rule("AllowSshFromCorp", 110, src=("203.0.113.0/24",), ports=("22",)),
)
DB_RULES = (rule("AllowSqlFromWeb", 100, src=("10.1.1.0/24",), ports=("1433",)),)


def nsg(key: str, name: str, rules: tuple[SecurityRule, ...], subnet: str) -> NetworkSecurityGroup:
    return NetworkSecurityGroup(
        key, name, "rg-prod", REGION, (*rules, *DEFAULT_RULES), subnet_ids=(subnet,)
    )


def estate(**changes: Any) -> Snapshot:
    """The clean estate, with ``changes`` replacing whole fields of the snapshot."""
    snapshot = Snapshot(
        subscription_id=SUB,
        taken_at=NOW,
        virtual_machines=(
            VirtualMachine(WEB_VM, "web-01", "rg-prod", REGION, (WEB_NIC,)),
            VirtualMachine(SQL_VM, "sql-01", "rg-prod", REGION, (SQL_NIC,)),
        ),
        network_interfaces=(
            NetworkInterface(
                WEB_NIC,
                "web-01-nic",
                "rg-prod",
                REGION,
                WEB_MAC,
                ("10.1.1.4",),
                (WEB_SUBNET,),
                (WEB_PIP,),
                vm_id=WEB_VM,
            ),
            NetworkInterface(
                SQL_NIC,
                "sql-01-nic",
                "rg-prod",
                REGION,
                SQL_MAC,
                ("10.1.2.4",),
                (DB_SUBNET,),
                vm_id=SQL_VM,
            ),
        ),
        public_ips=(
            PublicIpAddress(
                WEB_PIP,
                "web-01-pip",
                "rg-prod",
                REGION,
                "20.1.2.3",
                f"{WEB_NIC}/ipConfigurations/ipconfig1",
            ),
        ),
        virtual_networks=(VirtualNetwork(VNET, "vnet-prod", "rg-prod", REGION, ("10.1.0.0/16",)),),
        subnets=(
            Subnet(WEB_SUBNET, "web", VNET, ("10.1.1.0/24",), NSG_WEB),
            Subnet(DB_SUBNET, "db", VNET, ("10.1.2.0/24",), NSG_DB),
        ),
        security_groups=(
            nsg(NSG_WEB, "nsg-web", WEB_RULES, WEB_SUBNET),
            nsg(NSG_DB, "nsg-db", DB_RULES, DB_SUBNET),
        ),
        storage_accounts=(StorageAccount(STORAGE, "stflowlogs", REGION),),
        flow_logs=(
            FlowLog(VNET_FLOW_LOG, "vnet-prod-flowlog", REGION, VNET, STORAGE, True, True, 90),
        ),
    )
    return dataclasses.replace(snapshot, **changes)


def with_rules(snapshot: Snapshot, nsg_id: str, *added: SecurityRule) -> Snapshot:
    """The snapshot with rules added to one NSG."""
    groups = tuple(
        dataclasses.replace(g, rules=(*added, *g.rules)) if g.id == nsg_id else g
        for g in snapshot.security_groups
    )
    return dataclasses.replace(snapshot, security_groups=groups)
