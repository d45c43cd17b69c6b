"""Flow-logging checks: unlogged VNets and NSGs, disabled logs, retention 0, storage region and
the NSG flow-log retirement."""

import dataclasses
import datetime as dt

import pytest

from flowcdr.inventory.model import FlowLog, NetworkSecurityGroup, StorageAccount
from flowcdr.inventory.posture.check import Audited
from flowcdr.inventory.posture.flow_logging import (
    DISABLED,
    KEPT_FOREVER,
    RETIRING,
    STORAGE_ELSEWHERE,
    UNLOGGED_NSG,
    UNLOGGED_VNET,
)

from .estate import (
    DB_SUBNET,
    NOW,
    NSG_DB,
    NSG_WEB,
    REGION,
    SQL_NIC,
    STORAGE,
    VNET,
    VNET_FLOW_LOG,
    WATCHER,
    WEB_SUBNET,
    arm,
    estate,
)
from .posture_helpers import issues

VNET_LOG = estate().flow_logs[0]


def nsg_log(target: str, name: str = "nsg-web-flowlog", **changes: object) -> FlowLog:
    log = FlowLog(f"{WATCHER}/flowLogs/{name}", name, REGION, target, STORAGE, True, True, 30)
    return dataclasses.replace(log, **changes)  # type: ignore[arg-type]


def test_the_clean_estate_is_logged() -> None:
    for check in (UNLOGGED_VNET, UNLOGGED_NSG, DISABLED, KEPT_FOREVER, STORAGE_ELSEWHERE, RETIRING):
        assert issues(check, estate()) == []


def test_a_vnet_without_any_flow_log_is_reported_once_not_per_nsg() -> None:
    snapshot = estate(flow_logs=())
    [issue] = issues(UNLOGGED_VNET, snapshot)
    assert issue.resource_id == VNET
    assert "VNet vnet-prod" in issue.summary
    assert "Create a VNet flow log targeting VNet vnet-prod" in issue.fix
    assert issues(UNLOGGED_NSG, snapshot) == []


@pytest.mark.parametrize(
    "logs",
    [
        (dataclasses.replace(VNET_LOG, target_id=DB_SUBNET),),  # a subnet flow log
        (dataclasses.replace(VNET_LOG, target_id=SQL_NIC),),  # a NIC flow log
        (nsg_log(NSG_WEB),),  # an NSG flow log on an NSG of its subnets
        (dataclasses.replace(VNET_LOG, target_id=VNET.upper()),),  # ARM ids ignore case
    ],
)
def test_any_flow_log_inside_the_vnet_counts_as_logging_it(logs: tuple[FlowLog, ...]) -> None:
    assert issues(UNLOGGED_VNET, estate(flow_logs=logs)) == []


def test_an_nsg_whose_subnets_no_log_covers_in_a_logged_vnet() -> None:
    snapshot = estate(flow_logs=(dataclasses.replace(VNET_LOG, target_id=DB_SUBNET),))
    [issue] = issues(UNLOGGED_NSG, snapshot)
    assert issue.resource_id == NSG_WEB
    assert "NSG nsg-web" in issue.summary
    assert "1 subnets and 0 NICs" in issue.summary


def test_an_nsg_on_a_nic_is_logged_by_its_subnet_log() -> None:
    nic_nsg = NetworkSecurityGroup(
        arm("Microsoft.Network/networkSecurityGroups", "nsg-sql-nic"), "nsg-sql-nic", "rg-prod",
        REGION, (), nic_ids=(SQL_NIC,),
    )  # fmt: skip
    base = estate()
    snapshot = dataclasses.replace(
        base,
        security_groups=(*base.security_groups, nic_nsg),
        flow_logs=(dataclasses.replace(VNET_LOG, target_id=DB_SUBNET),),
    )
    assert [i.resource_id for i in issues(UNLOGGED_NSG, snapshot)] == [NSG_WEB]


def test_an_unattached_nsg_needs_no_log() -> None:
    lonely = NetworkSecurityGroup(
        arm("Microsoft.Network/networkSecurityGroups", "nsg-spare"), "nsg-spare", "rg-prod",
        REGION, (),
    )  # fmt: skip
    base = estate()
    snapshot = dataclasses.replace(base, security_groups=(*base.security_groups, lonely))
    assert issues(UNLOGGED_NSG, snapshot) == []


def test_a_disabled_flow_log_is_reported_and_leaves_its_vnet_unlogged() -> None:
    snapshot = estate(flow_logs=(dataclasses.replace(VNET_LOG, enabled=False),))
    [issue] = issues(DISABLED, snapshot)
    assert issue.resource_id == VNET_FLOW_LOG
    assert "Enable flow log vnet-prod-flowlog" in issue.fix
    assert [i.resource_id for i in issues(UNLOGGED_VNET, snapshot)] == [VNET]


@pytest.mark.parametrize(
    ("enabled", "days", "reported"), [(True, 0, True), (True, 90, False), (False, 0, False)]
)
def test_retention_enabled_with_zero_days_is_kept_forever(
    enabled: bool, days: int, reported: bool
) -> None:
    log = dataclasses.replace(VNET_LOG, retention_enabled=enabled, retention_days=days)
    found = issues(KEPT_FOREVER, estate(flow_logs=(log,)))
    assert bool(found) is reported
    if reported:
        assert "kept forever" in found[0].summary
        assert "retentionPolicy.days" in found[0].fix


def test_storage_in_another_region_than_the_target() -> None:
    far = StorageAccount(STORAGE, "stflowlogs", "North Europe")
    [issue] = issues(STORAGE_ELSEWHERE, estate(storage_accounts=(far,)))
    assert issue.resource_id == VNET_FLOW_LOG
    assert issue.details == {"storage_region": "North Europe", "target_region": REGION}
    assert "a storage account in westeurope" in issue.fix


@pytest.mark.parametrize(
    "account",
    [
        StorageAccount(STORAGE, "stflowlogs", "West Europe"),  # the display name of the same
        StorageAccount(arm("Microsoft.Storage/storageAccounts", "other"), "other", "eastus"),
    ],
)
def test_same_region_or_unknown_storage_is_not_reported(account: StorageAccount) -> None:
    assert issues(STORAGE_ELSEWHERE, estate(storage_accounts=(account,))) == []


def test_storage_region_of_an_nsg_flow_log_follows_the_nsg() -> None:
    far = StorageAccount(STORAGE, "stflowlogs", "eastus")
    snapshot = estate(storage_accounts=(far,), flow_logs=(nsg_log(NSG_DB, "nsg-db-flowlog"),))
    [issue] = issues(STORAGE_ELSEWHERE, snapshot)
    assert issue.details["target_region"] == REGION


@pytest.mark.parametrize(
    ("today", "severity", "wording"),
    [
        (dt.date(2026, 11, 20), "low", "in 314 days"),
        (dt.date(2027, 6, 1), "medium", "in 121 days"),
        (dt.date(2027, 10, 1), "high", "retired on 30 September 2027: it no longer writes"),
    ],
)
def test_nsg_flow_logs_retire_on_30_september_2027(
    today: dt.date, severity: str, wording: str
) -> None:
    snapshot = estate(flow_logs=(nsg_log(NSG_WEB),))
    now = dt.datetime.combine(today, dt.time(12), dt.UTC)
    [issue] = RETIRING.find(Audited(snapshot, now))
    assert issue.severity == severity
    assert wording in issue.summary
    assert "since 30 June 2025" in issue.summary
    assert issue.details["retires"] == "2027-09-30"
    assert "Create a VNet flow log on vnet-prod" in issue.fix


def test_an_nsg_flow_log_beside_a_vnet_flow_log_is_double_logging() -> None:
    snapshot = estate(flow_logs=(VNET_LOG, nsg_log(NSG_WEB)))
    [issue] = issues(RETIRING, snapshot)
    assert issue.fix.startswith("Delete NSG flow log nsg-web-flowlog: a VNet flow log already")
    assert NOW.date() < dt.date(2027, 9, 30)


def test_vnet_and_subnet_flow_logs_are_not_retiring() -> None:
    logs = (VNET_LOG, dataclasses.replace(VNET_LOG, target_id=WEB_SUBNET))
    assert issues(RETIRING, estate(flow_logs=logs)) == []
