"""The inventory in the control database: current resources, every sync, and the changes.

Per tenant and subscription, each resource the last sync saw is one row (its model value as
JSON, with when it was first and last seen); a resource a later sync does not see is deleted
and recorded as removed. A kind whose listing failed (``Snapshot.failed_kinds``) is left as it
was: a missing permission is not a deletion. The first sync of a subscription is the baseline
and records no changes; later syncs record what they changed (``flowcdr.inventory.changes``).
The rows hold what ARM says about network resources, never a credential.
"""

import dataclasses
import datetime as dt
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from flowcdr.inventory import model
from flowcdr.inventory.changes import Change, as_json, diff
from flowcdr.inventory.model import KINDS, Snapshot, rid
from flowcdr.inventory.names import NameIndex
from flowcdr.store.control import ControlStore
from flowcdr.store.schema import inventory_changes, inventory_resources, inventory_syncs

# Tenants whose inventory a gateway keeps at hand (``InventoryStore.held``), the least recently
# asked for dropped first.
HELD_TENANTS = 64

_TYPES: dict[str, type] = {
    "virtual_machines": model.VirtualMachine,
    "network_interfaces": model.NetworkInterface,
    "public_ips": model.PublicIpAddress,
    "virtual_networks": model.VirtualNetwork,
    "subnets": model.Subnet,
    "security_groups": model.NetworkSecurityGroup,
    "storage_accounts": model.StorageAccount,
    "flow_logs": model.FlowLog,
}


def _tupled(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def from_json(kind: str, data: dict[str, Any]) -> Any:
    """A model value back from ``as_json`` (lists become tuples, rules become rules)."""
    cls = _TYPES[kind]
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue  # a field added to the model since: its default
        value = data[f.name]
        if f.name == "rules":
            value = tuple(
                model.SecurityRule(**{k: _tupled(v) for k, v in rule.items()}) for rule in value
            )
        values[f.name] = _tupled(value)
    return cls(**values)


def _iso(when: dt.datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _body(value: Any) -> str:
    return json.dumps(as_json(value), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class SubscriptionInventory:
    subscription_id: str
    last_sync_at: str | None
    counts: dict[str, int]
    errors: tuple[str, ...]
    failed_kinds: tuple[str, ...]


@dataclass(frozen=True)
class StoredResource:
    kind: str
    subscription_id: str
    resource_id: str
    name: str
    resource_group: str
    location: str
    body: dict[str, Any]
    first_seen: str
    last_seen: str


@dataclass(frozen=True)
class StoredChange:
    id: int
    at: str
    subscription_id: str
    change: Change


class InventoryStore:
    """Reads and writes the inventory tables of one control store; every call takes a tenant."""

    def __init__(self, control: ControlStore) -> None:
        self.control = control
        self._held: OrderedDict[str, tuple[tuple[tuple[str, int], ...], HeldInventory]] = (
            OrderedDict()
        )
        self._held_lock = threading.Lock()

    def record(self, tenant_id: str, snapshot: Snapshot) -> list[Change]:
        """Store a sync's snapshot; the changes it made to the inventory (none for a baseline)."""
        stamp = _iso(snapshot.taken_at)
        table = inventory_resources
        mine = (table.c.tenant_id == tenant_id, table.c.subscription_id == snapshot.subscription_id)
        changes: list[Change] = []
        with self.control.write() as c:
            baseline = not c.execute(
                sa.select(inventory_syncs.c.id).where(
                    inventory_syncs.c.tenant_id == tenant_id,
                    inventory_syncs.c.subscription_id == snapshot.subscription_id,
                ).limit(1)
            ).first()  # fmt: skip
            stored: dict[tuple[str, str], sa.RowMapping] = {
                (row["kind"], row["resource_key"]): row
                for row in c.execute(sa.select(table).where(*mine)).mappings()
            }
            for kind in KINDS:
                if kind in snapshot.failed_kinds:
                    continue
                seen = {rid(value.id): value for value in getattr(snapshot, kind)}
                for key, value in seen.items():
                    row = stored.get((kind, key))
                    body = _body(value)
                    columns = {
                        "resource_id": value.id,
                        "name": value.name[:260],
                        "resource_group": getattr(value, "resource_group", "")
                        or model.resource_group_of(value.id),
                        "location": getattr(value, "location", ""),
                        "body": body,
                        "last_seen": stamp,
                    }
                    if row is None:
                        c.execute(table.insert().values(
                            tenant_id=tenant_id, kind=kind, resource_key=key,
                            subscription_id=snapshot.subscription_id, first_seen=stamp, **columns,
                        ))  # fmt: skip
                        changes += diff(kind, None, value)
                    else:
                        if row["body"] != body:
                            changes += diff(kind, from_json(kind, json.loads(row["body"])), value)
                        c.execute(
                            table.update()
                            .where(*mine, table.c.kind == kind, table.c.resource_key == key)
                            .values(**columns)
                        )
                for (stored_kind, key), row in stored.items():
                    if stored_kind == kind and key not in seen:
                        c.execute(
                            table.delete().where(
                                *mine, table.c.kind == kind, table.c.resource_key == key
                            )
                        )
                        changes += diff(kind, from_json(kind, json.loads(row["body"])), None)
            if baseline:
                changes = []
            if changes:
                c.execute(
                    inventory_changes.insert(),
                    [
                        {
                            "tenant_id": tenant_id,
                            "subscription_id": snapshot.subscription_id,
                            "at": stamp,
                            "kind": change.kind,
                            "resource_id": change.resource_id,
                            "name": change.name[:260],
                            "change": change.change,
                            "summary": change.summary,
                            "before": None if change.before is None else json.dumps(change.before),
                            "after": None if change.after is None else json.dumps(change.after),
                        }
                        for change in changes
                    ],
                )
            c.execute(
                inventory_syncs.insert().values(
                    tenant_id=tenant_id,
                    subscription_id=snapshot.subscription_id,
                    taken_at=stamp,
                    counts=json.dumps({kind: len(getattr(snapshot, kind)) for kind in KINDS}),
                    errors=json.dumps(list(snapshot.errors)),
                    failed_kinds=json.dumps(list(snapshot.failed_kinds)),
                )
            )
        return changes

    def subscriptions(self, tenant_id: str) -> list[SubscriptionInventory]:
        """Per subscription synced: resources held per kind, and the last sync's outcome."""
        syncs = inventory_syncs
        latest = (
            sa.select(sa.func.max(syncs.c.id))
            .where(syncs.c.tenant_id == tenant_id)
            .group_by(syncs.c.subscription_id)
        )
        counted = (
            sa.select(
                inventory_resources.c.subscription_id,
                inventory_resources.c.kind,
                sa.func.count().label("n"),
            )
            .where(inventory_resources.c.tenant_id == tenant_id)
            .group_by(inventory_resources.c.subscription_id, inventory_resources.c.kind)
        )
        with self.control.engine.connect() as c:
            last = list(
                c.execute(
                    sa.select(syncs)
                    .where(syncs.c.tenant_id == tenant_id, syncs.c.id.in_(latest))
                    .order_by(syncs.c.subscription_id)
                ).mappings()
            )
            counts: dict[str, dict[str, int]] = {}
            for subscription, kind, n in c.execute(counted):
                counts.setdefault(subscription, {})[kind] = int(n)
        return [
            SubscriptionInventory(
                row["subscription_id"],
                row["taken_at"],
                {kind: counts.get(row["subscription_id"], {}).get(kind, 0) for kind in KINDS},
                tuple(json.loads(row["errors"])),
                tuple(json.loads(row["failed_kinds"])),
            )
            for row in last
        ]

    def resources(
        self,
        tenant_id: str,
        kind: str | None = None,
        subscription_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[StoredResource], int]:
        """A page of the tenant's resources (ordered by kind and id) and how many match."""
        table = inventory_resources
        conditions = [table.c.tenant_id == tenant_id]
        if kind is not None:
            conditions.append(table.c.kind == kind)
        if subscription_id is not None:
            conditions.append(table.c.subscription_id == subscription_id)
        query = (
            sa.select(table)
            .where(*conditions)
            .order_by(table.c.kind, table.c.resource_key)
            .limit(limit)
            .offset(offset)
        )
        with self.control.engine.connect() as c:
            total = c.execute(sa.select(sa.func.count()).where(*conditions)).scalar_one()
            rows = list(c.execute(query).mappings())
        return [
            StoredResource(
                row["kind"],
                row["subscription_id"],
                row["resource_id"],
                row["name"],
                row["resource_group"],
                row["location"],
                json.loads(row["body"]),
                row["first_seen"],
                row["last_seen"],
            )
            for row in rows
        ], int(total)

    def changes(
        self, tenant_id: str, limit: int = 100, before: int | None = None
    ) -> list[StoredChange]:
        """The tenant's changes, newest first; ``before`` pages on by id."""
        table = inventory_changes
        query = sa.select(table).where(table.c.tenant_id == tenant_id)
        if before is not None:
            query = query.where(table.c.id < before)
        query = query.order_by(table.c.id.desc()).limit(limit)
        with self.control.engine.connect() as c:
            rows = list(c.execute(query).mappings())
        return [
            StoredChange(
                row["id"],
                row["at"],
                row["subscription_id"],
                Change(
                    row["kind"],
                    row["resource_id"],
                    row["name"],
                    row["change"],
                    row["summary"],
                    None if row["before"] is None else json.loads(row["before"]),
                    None if row["after"] is None else json.loads(row["after"]),
                ),
            )
            for row in rows
        ]

    def held(self, tenant_id: str) -> "HeldInventory":
        """Every subscription of the tenant as held now, with its name index (flow names, the
        ``vm`` filter, findings' assets). Pages and API calls ask on every request, so the
        snapshots and the index are kept per tenant and rebuilt only when a sync has landed
        since: checking that is one small query, where loading is every resource's JSON."""
        syncs = inventory_syncs
        with self.control.engine.connect() as c:
            version = tuple(
                (row[0], row[1])
                for row in c.execute(
                    sa.select(syncs.c.subscription_id, sa.func.max(syncs.c.id))
                    .where(syncs.c.tenant_id == tenant_id)
                    .group_by(syncs.c.subscription_id)
                    .order_by(syncs.c.subscription_id)
                )
            )
        with self._held_lock:
            cached = self._held.get(tenant_id)
            if cached is not None and cached[0] == version:
                self._held.move_to_end(tenant_id)
                return cached[1]
        snapshots = (self.latest_snapshot(tenant_id, subscription) for subscription, _ in version)
        held = HeldInventory(tuple(snapshot for snapshot in snapshots if snapshot is not None))
        with self._held_lock:
            self._held[tenant_id] = (version, held)
            while len(self._held) > HELD_TENANTS:
                self._held.popitem(last=False)
        return held

    def latest_snapshot(self, tenant_id: str, subscription_id: str) -> Snapshot | None:
        """The subscription as the inventory holds it now (the posture audit and flow
        enrichment read this), or None before its first sync."""
        syncs = inventory_syncs
        table = inventory_resources
        with self.control.engine.connect() as c:
            last = c.execute(
                sa.select(syncs)
                .where(syncs.c.tenant_id == tenant_id, syncs.c.subscription_id == subscription_id)
                .order_by(syncs.c.id.desc())
                .limit(1)
            ).mappings().first()  # fmt: skip
            if last is None:
                return None
            rows = list(
                c.execute(
                    sa.select(table.c.kind, table.c.body)
                    .where(table.c.tenant_id == tenant_id)
                    .where(table.c.subscription_id == subscription_id)
                    .order_by(table.c.kind, table.c.resource_key)
                )
            )
        found: dict[str, list[Any]] = {kind: [] for kind in KINDS}
        for kind, body in rows:
            if kind in found:
                found[kind].append(from_json(kind, json.loads(body)))
        return Snapshot(
            subscription_id=subscription_id,
            taken_at=dt.datetime.fromisoformat(last["taken_at"]),
            **{kind: tuple(values) for kind, values in found.items()},
            errors=tuple(json.loads(last["errors"])),
            failed_kinds=tuple(json.loads(last["failed_kinds"])),
        )


class HeldInventory:
    """A tenant's subscriptions as one version of the inventory holds them; the name index is
    built on first use, once per version."""

    def __init__(self, snapshots: tuple[Snapshot, ...]) -> None:
        self.snapshots = snapshots
        self._names: NameIndex | None = None
        self._lock = threading.Lock()

    @property
    def names(self) -> NameIndex:
        with self._lock:
            if self._names is None:
                self._names = NameIndex(self.snapshots)
            return self._names
