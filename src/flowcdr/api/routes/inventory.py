"""The Azure inventory: what the connectors' subscriptions hold, what changed, and a sync now.

Read by any signed-in user of the tenant; a sync on demand is an admin's action. The sync reads
Azure Resource Manager with the client secret the Terraform module registered, in the
background: the request is accepted (202) and ``GET /cdr/v1/inventory`` shows when it is done.
"""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from flowcdr.api.deps import Admin, CurrentUser, ServicesDep, client_address
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.inventory.model import KINDS
from flowcdr.inventory.store import StoredChange, StoredResource, SubscriptionInventory
from flowcdr.inventory.sync import per_subscription

router = APIRouter(prefix="/cdr/v1/inventory", tags=["inventory"])


class SubscriptionOut(BaseModel):
    subscriptionId: str  # noqa: N815
    lastSyncAt: str | None  # noqa: N815
    counts: dict[str, int]  # resources held per kind
    errors: list[str]  # what the last sync could not list, and why
    failedKinds: list[str]  # noqa: N815 - kinds kept from an earlier sync


class InventoryOut(BaseModel):
    subscriptions: list[SubscriptionOut]


class ResourceOut(BaseModel):
    kind: str
    subscriptionId: str  # noqa: N815
    id: str
    name: str
    resourceGroup: str  # noqa: N815
    location: str
    firstSeen: str  # noqa: N815
    lastSeen: str  # noqa: N815
    properties: dict[str, Any]  # the inventory's view of the resource (rules, addresses...)


class ResourcesOut(BaseModel):
    total: int
    items: list[ResourceOut]


class ChangeOut(BaseModel):
    id: int
    at: str
    subscriptionId: str  # noqa: N815
    kind: str
    resourceId: str  # noqa: N815
    name: str
    change: str  # added, removed, changed, rule_added, rule_removed, rule_widened, rule_changed
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ChangesOut(BaseModel):
    items: list[ChangeOut]
    next: int | None  # pass as ``before`` for older changes


class SyncOut(BaseModel):
    subscriptions: list[str]  # being synced, one after another


def _subscription(found: SubscriptionInventory) -> SubscriptionOut:
    return SubscriptionOut(
        subscriptionId=found.subscription_id,
        lastSyncAt=found.last_sync_at,
        counts=found.counts,
        errors=list(found.errors),
        failedKinds=list(found.failed_kinds),
    )


def _resource(found: StoredResource) -> ResourceOut:
    return ResourceOut(
        kind=found.kind,
        subscriptionId=found.subscription_id,
        id=found.resource_id,
        name=found.name,
        resourceGroup=found.resource_group,
        location=found.location,
        firstSeen=found.first_seen,
        lastSeen=found.last_seen,
        properties=found.body,
    )


def _change(found: StoredChange) -> ChangeOut:
    change = found.change
    return ChangeOut(
        id=found.id,
        at=found.at,
        subscriptionId=found.subscription_id,
        kind=change.kind,
        resourceId=change.resource_id,
        name=change.name,
        change=change.change,
        summary=change.summary,
        before=change.before,
        after=change.after,
    )


@router.get("", responses=ERROR_RESPONSES)
async def inventory(user: CurrentUser, found: ServicesDep) -> InventoryOut:
    """Per subscription synced: resources held per kind, the last sync's time and errors."""
    held = await run_in_threadpool(found.inventory.subscriptions, user.tenant_id)
    return InventoryOut(subscriptions=[_subscription(s) for s in held])


@router.get("/resources", responses=ERROR_RESPONSES)
async def resources(
    user: CurrentUser,
    found: ServicesDep,
    *,
    kind: Annotated[str | None, Query(description=f"One of {', '.join(KINDS)}")] = None,
    subscriptionId: Annotated[str | None, Query(max_length=36)] = None,  # noqa: N803
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # a SQLite integer
) -> ResourcesOut:
    """The tenant's resources, a page at a time, ordered by kind and id."""
    if kind is not None and kind not in KINDS:
        raise ApiError(422, f"unknown kind {kind[:40]!r}; one of {', '.join(KINDS)}", field="kind")
    subscription = subscriptionId.lower() if subscriptionId else None
    items, total = await run_in_threadpool(
        found.inventory.resources, user.tenant_id, kind, subscription, limit, offset
    )
    return ResourcesOut(total=total, items=[_resource(r) for r in items])


@router.get("/changes", responses=ERROR_RESPONSES)
async def changes(
    user: CurrentUser,
    found: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Changes with a smaller id")
    ] = None,
) -> ChangesOut:
    """What syncs changed (a rule added, removed or widened, a resource added...), newest first."""
    items = await run_in_threadpool(found.inventory.changes, user.tenant_id, limit, before)
    following = items[-1].id if len(items) == limit else None
    return ChangesOut(items=[_change(c) for c in items], next=following)


@router.post("/sync", status_code=202, responses=ERROR_RESPONSES)
async def sync(
    user: Admin, found: ServicesDep, request: Request, background: BackgroundTasks
) -> SyncOut:
    """Sync the tenant's subscriptions now, in the background (202)."""
    registered = await run_in_threadpool(found.store.connectors, user.tenant_id)
    chosen = per_subscription(c for c in registered if c.has_credential)
    if not chosen:
        raise ApiError(
            409,
            "no connector has a client secret on file: apply the Terraform module (again) to "
            "register one",
        )
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username, "inventory.sync",
                            client=client_address(request))  # fmt: skip
    background.add_task(run_in_threadpool, found.inventory_sync.sync_all, chosen)
    return SyncOut(subscriptions=[c.subscription_id for c in chosen])
