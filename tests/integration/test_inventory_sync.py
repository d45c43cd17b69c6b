"""The inventory sync with the real Azure SDK clients against a local ARM replaying recorded
responses: every resource type, paging, a 429 retried, a denied subscription kept apart, the
change history between two syncs, and the connector's secret used but never stored in clear."""

import copy
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from azure.core.credentials import AccessToken

from flowcdr.config import Settings
from flowcdr.inventory.arm import ArmSettings
from flowcdr.inventory.model import KINDS, Snapshot
from flowcdr.inventory.store import InventoryStore
from flowcdr.inventory.sync import InventorySync
from flowcdr.store.control import ConnectorFields, ControlStore

from .fake_arm import DENIED, SUBSCRIPTION, TOKEN, FakeArm, serve

pytestmark = pytest.mark.integration

AZURE_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
OTHER_CLIENT = "1c2f7582-2cf1-4eeb-bfd4-dc8383a1a6a1"
SECRET = "Qx7~inventory.SECRET_value-1"


class StaticCredential:
    """Azure AD cannot run here: a credential that hands out the fake ARM's token, and
    remembers which client secrets it was built with."""

    built: ClassVar[list[tuple[str, str, str]]] = []

    def __init__(self, tenant: str, client: str, secret: str) -> None:
        StaticCredential.built.append((tenant, client, secret))

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture
def arm(tmp_path: Path) -> Iterator[FakeArm]:
    with serve(tmp_path) as server:
        yield server


@pytest.fixture
def control(tmp_path: Path, database_url: str | None) -> Iterator[ControlStore]:
    """The control store on each backend: SQLite in the data dir, and PostgreSQL."""
    store = ControlStore.open(Settings(data_dir=tmp_path / "data", database_url=database_url))
    yield store
    store.close()


def stored(control: ControlStore, data_dir: Path) -> bytes:
    """Everything the control database keeps: SQLite's files, or every row on PostgreSQL."""
    if control.engine.dialect.name == "sqlite":
        files = sorted(data_dir.glob("control.db*"))
        assert files
        return b"".join(path.read_bytes() for path in files)
    tables = sa.MetaData()
    tables.reflect(control.engine)
    with control.engine.connect() as c:
        rows = [repr(tuple(row)) for t in tables.sorted_tables for row in c.execute(t.select())]
    return "\n".join(rows).encode()


def tenant(control: ControlStore, name: str = "contoso") -> str:
    return control.add_user(f"admin-{name}", name, "admin", "x").tenant_id


def register(control: ControlStore, tenant_id: str, client: str, subscription: str) -> None:
    fields = ConnectorFields(client, AZURE_TENANT, subscription, None, ("eastus",), SECRET)
    control.upsert_connector(tenant_id, "token-1", fields)


def syncer(control: ControlStore, arm: FakeArm, hooks: list[Any] | None = None) -> InventorySync:
    StaticCredential.built.clear()
    settings = ArmSettings(arm.base_url, str(arm.ca_file), retries=2, max_retry_after=2)
    return InventorySync(control, InventoryStore(control), settings, StaticCredential, hooks or [])


def test_a_sync_reads_every_kind_following_pages_and_retrying_a_throttle(
    control: ControlStore, arm: FakeArm
) -> None:
    tenant_id = tenant(control)
    register(control, tenant_id, CLIENT, SUBSCRIPTION)
    arm.throttle_once.add("/providers/microsoft.network/publicipaddresses")
    seen: list[tuple[str, Snapshot]] = []
    (result,) = syncer(control, arm, [lambda t, s: seen.append((t, s))]).sync_tenant(tenant_id)
    snapshot = result.snapshot
    assert StaticCredential.built == [(AZURE_TENANT, CLIENT, SECRET)]
    assert snapshot.errors == ()
    counts = {kind: len(getattr(snapshot, kind)) for kind in KINDS}
    assert counts == {
        "virtual_machines": 2, "network_interfaces": 2, "public_ips": 2, "virtual_networks": 1,
        "subnets": 2, "security_groups": 2, "storage_accounts": 2, "flow_logs": 2,
    }  # fmt: skip
    assert arm.answered("publicipaddresses") == [429, 200]  # Retry-After honoured, then served
    assert len(arm.answered("networksecuritygroups")) == 2  # the second page, by nextLink
    assert len(arm.answered("storageaccounts")) == 2  # the generic list pages the same way
    assert all(r.query.get("api-version") for r in arm.requests)
    assert {r.authorization for r in arm.requests} == {f"Bearer {TOKEN}"}
    nsgs = {nsg.name: nsg for nsg in snapshot.security_groups}
    rules = {rule.name: rule for rule in nsgs["nsg-data"].rules}
    assert len(rules) == 2 + 6  # custom and default rules
    assert rules["AllowAnyRDP"].source_prefixes == ("*",)
    assert rules["AllowSqlFromWeb"].source_prefixes == ("asg:asg-web",)
    assert rules["AllowSqlFromWeb"].destination_ports == ("1433", "1434")
    assert rules["DenyAllInBound"].default
    ssh = next(r for r in nsgs["nsg-web"].rules if r.name == "AllowSshFromCorp")
    assert ssh.source_prefixes == ("203.0.113.0/24", "198.51.100.7")
    nic = next(n for n in snapshot.network_interfaces if n.name == "prod-sql-01-nic")
    assert (nic.mac, nic.private_ips) == ("000D3AF87856", ("10.1.2.4",))
    assert nic.nsg_id is not None
    assert nic.nsg_id.endswith("/nsg-data")
    assert nic.vm_id is not None
    assert nic.vm_id.endswith("/prod-sql-01")
    assert {p.name: p.ip_address for p in snapshot.public_ips} == {
        "pip-sql": "20.51.0.10", "pip-unused": None
    }  # fmt: skip
    assert {s.name: s.nsg_id is not None for s in snapshot.subnets} == {
        "snet-web": True, "snet-data": True
    }  # fmt: skip
    logs = {f.name: f for f in snapshot.flow_logs}
    assert (logs["fl-nsg-web"].target_kind, logs["fl-nsg-web"].retention_days) == ("nsg", 0)
    assert (logs["fl-vnet-prod"].target_kind, logs["fl-vnet-prod"].traffic_analytics) == (
        "vnet", True
    )  # fmt: skip
    assert {a.name: a.location for a in snapshot.storage_accounts} == {
        "stflowlogseast": "eastus", "stflowlogsweu": "westeurope"
    }  # fmt: skip
    # Stored, read back whole, and handed to the post-sync hooks.
    inventory = InventoryStore(control)
    held = inventory.latest_snapshot(tenant_id, SUBSCRIPTION)
    assert held is not None
    for kind in KINDS:
        assert sorted(map(repr, getattr(held, kind))) == sorted(map(repr, getattr(snapshot, kind)))
    assert seen == [(tenant_id, held)]
    assert inventory.changes(tenant_id) == []  # the first sync is the baseline


def test_a_denied_subscription_is_recorded_and_the_others_kept(
    control: ControlStore, arm: FakeArm, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant_id = tenant(control)
    register(control, tenant_id, CLIENT, SUBSCRIPTION)
    register(control, tenant_id, OTHER_CLIENT, DENIED)
    hooked: list[str] = []
    results = syncer(control, arm, [lambda t, s: hooked.append(s.subscription_id)]).sync_tenant(
        tenant_id
    )
    assert [r.snapshot.subscription_id for r in results] == sorted([SUBSCRIPTION, DENIED])
    assert hooked == [SUBSCRIPTION]  # nothing was listed in the denied one
    by_subscription = {
        s.subscription_id: s for s in InventoryStore(control).subscriptions(tenant_id)
    }
    denied = by_subscription[DENIED]
    assert set(denied.failed_kinds) == set(KINDS)
    assert denied.counts == dict.fromkeys(KINDS, 0)
    assert len(denied.errors) == len(KINDS) - 1  # subnets fail with their VNets, said once
    for error in denied.errors:
        assert "HTTP 403 AuthorizationFailed: The client " in error
    assert denied.errors[-2].startswith("storage_accounts: HTTP 403 AuthorizationFailed")
    assert by_subscription[SUBSCRIPTION].errors == ()
    assert by_subscription[SUBSCRIPTION].counts["security_groups"] == 2
    assert SECRET not in caplog.text


def test_a_kind_that_fails_later_is_kept_not_removed(control: ControlStore, arm: FakeArm) -> None:
    tenant_id = tenant(control)
    register(control, tenant_id, CLIENT, SUBSCRIPTION)
    sync = syncer(control, arm)
    sync.sync_tenant(tenant_id)
    arm.replace("networkInterfaces.json", {"value": [{"name": "no id"}]})  # unparseable
    (result,) = sync.sync_tenant(tenant_id)
    assert result.snapshot.failed_kinds == ("network_interfaces",)
    assert result.snapshot.errors[0].startswith("network_interfaces: unexpected response")
    inventory = InventoryStore(control)
    assert inventory.changes(tenant_id) == []
    assert inventory.subscriptions(tenant_id)[0].counts["network_interfaces"] == 2
    held = inventory.latest_snapshot(tenant_id, SUBSCRIPTION)
    assert held is not None
    assert len(held.network_interfaces) == 2


def test_throttling_that_outlasts_the_retries_costs_that_kind_only(
    control: ControlStore, arm: FakeArm
) -> None:
    tenant_id = tenant(control)
    register(control, tenant_id, CLIENT, SUBSCRIPTION)
    arm.throttle_always.add("/providers/microsoft.compute/virtualmachines")
    started = time.monotonic()
    (result,) = syncer(control, arm).sync_tenant(tenant_id)  # 2 retries, waits of 1 s
    assert time.monotonic() - started < 20
    assert arm.answered("virtualmachines") == [429, 429, 429]
    assert result.snapshot.failed_kinds == ("virtual_machines",)
    assert result.snapshot.errors[0].startswith("virtual_machines: HTTP 429 TooManyRequests: ")
    assert len(result.snapshot.security_groups) == 2


def widened(body: dict[str, Any]) -> dict[str, Any]:
    """nsg-web with SSH open to any source, HTTPS gone, and a new rule."""
    changed = copy.deepcopy(body)
    rules = changed["value"][0]["properties"]["securityRules"]
    ssh = next(r for r in rules if r["name"] == "AllowSshFromCorp")
    ssh["properties"]["sourceAddressPrefixes"] = []
    ssh["properties"]["sourceAddressPrefix"] = "*"
    rules[:] = [r for r in rules if r["name"] != "AllowHttpsInbound"]
    new = copy.deepcopy(ssh)
    new["name"] = "AllowWinRM"
    new["id"] = new["id"].replace("AllowSshFromCorp", "AllowWinRM")
    new["properties"].update(priority=120, destinationPortRange="5985-5986")
    rules.append(new)
    return changed


def test_the_second_sync_records_what_changed(control: ControlStore, arm: FakeArm) -> None:
    tenant_id = tenant(control)
    register(control, tenant_id, CLIENT, SUBSCRIPTION)
    sync = syncer(control, arm)
    sync.sync_tenant(tenant_id)
    inventory = InventoryStore(control)
    (first,), _ = inventory.resources(tenant_id, "security_groups", limit=1)
    arm.replace("networkSecurityGroups.json", widened(json_of(arm, "networkSecurityGroups.json")))
    machines = json_of(arm, "virtualMachines.json")
    arm.replace("virtualMachines.json", {"value": machines["value"][:1]})
    sync.sync_tenant(tenant_id)
    changes = {(c.change.name, c.change.change): c.change for c in inventory.changes(tenant_id)}
    assert set(changes) == {
        ("nsg-web", "rule_widened"), ("nsg-web", "rule_removed"), ("nsg-web", "rule_added"),
        ("web-01", "removed"),
    }  # fmt: skip
    wider = changes["nsg-web", "rule_widened"]
    assert wider.summary == (
        "nsg-web: rule AllowSshFromCorp widened: source 203.0.113.0/24, 198.51.100.7 -> *"
    )
    assert wider.before is not None
    assert wider.after is not None
    assert wider.before["source_prefixes"] == ["203.0.113.0/24", "198.51.100.7"]
    assert wider.after["source_prefixes"] == ["*"]
    assert "AllowHttpsInbound" in changes["nsg-web", "rule_removed"].summary
    assert "Allow Inbound Tcp from *" in changes["nsg-web", "rule_added"].summary
    assert changes["web-01", "removed"].after is None
    (again,), _ = inventory.resources(tenant_id, "security_groups", limit=1)
    assert again.first_seen == first.first_seen
    assert again.last_seen > first.last_seen
    assert inventory.resources(tenant_id, "virtual_machines")[1] == 1
    page = inventory.changes(tenant_id, limit=3)
    rest = inventory.changes(tenant_id, limit=3, before=page[-1].id)
    assert [c.id for c in page + rest] == sorted((c.id for c in page + rest), reverse=True)
    assert len(page + rest) == len(changes)


def json_of(arm: FakeArm, name: str) -> Any:
    return copy.deepcopy(arm.body(name))


def test_tenants_see_only_their_inventory(control: ControlStore, arm: FakeArm) -> None:
    contoso, fabrikam = tenant(control), tenant(control, "fabrikam")
    register(control, contoso, CLIENT, SUBSCRIPTION)
    syncer(control, arm).sync_tenant(contoso)
    inventory = InventoryStore(control)
    assert inventory.subscriptions(fabrikam) == []
    assert inventory.resources(fabrikam) == ([], 0)
    assert inventory.latest_snapshot(fabrikam, SUBSCRIPTION) is None
    assert inventory.resources(contoso)[1] == 15


def test_the_secret_is_encrypted_at_rest(
    control: ControlStore, arm: FakeArm, tmp_path: Path
) -> None:
    tenant_id = tenant(control)
    register(control, tenant_id, CLIENT, SUBSCRIPTION)
    syncer(control, arm).sync_tenant(tenant_id)
    kept = stored(control, tmp_path / "data")
    assert SECRET.encode() not in kept
    assert b"nsg-web" in kept  # the inventory itself is there
    assert control.connector_secret(tenant_id, CLIENT) == SECRET


def test_no_sync_without_a_secret(control: ControlStore, arm: FakeArm) -> None:
    tenant_id = tenant(control)
    fields = ConnectorFields(CLIENT, AZURE_TENANT, SUBSCRIPTION, None, ("eastus",))
    control.upsert_connector(tenant_id, "token-1", fields)
    assert syncer(control, arm).sync_tenant(tenant_id) == []
    assert arm.requests == []


def test_the_held_inventory_is_reused_until_a_sync_lands(
    control: ControlStore, arm: FakeArm
) -> None:
    contoso, fabrikam = tenant(control), tenant(control, "fabrikam")
    register(control, contoso, CLIENT, SUBSCRIPTION)
    inventory = InventoryStore(control)
    assert inventory.held(contoso).snapshots == ()
    sync = syncer(control, arm)
    sync.sync_tenant(contoso)
    first = inventory.held(contoso)
    machines = [vm.name for vm in first.snapshots[0].virtual_machines]
    assert len(machines) > 1
    assert inventory.held(contoso) is first  # nothing synced since: not loaded again
    assert first.names is first.names  # and the index is built once
    assert inventory.held(fabrikam).snapshots == ()
    listed = json_of(arm, "virtualMachines.json")
    arm.replace("virtualMachines.json", {"value": listed["value"][:1]})
    sync.sync_tenant(contoso)
    second = inventory.held(contoso)
    assert second is not first
    assert [vm.name for vm in second.snapshots[0].virtual_machines] == machines[:1]
