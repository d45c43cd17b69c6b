"""The gateway's inventory loop: every ``inventory_sync_seconds``, a sync of every connector.

Subscriptions are synced one at a time (``InventorySync`` holds one lock for scheduled and
on-demand syncs). Nothing a sync meets stops the loop: a subscription's error is logged and
the next one is synced, and the loop itself logs and carries on. 0 turns the schedule off;
``POST /cdr/v1/inventory/sync`` still works.

Gateways sharing a control database (PostgreSQL) share the inventory, so the schedule is
theirs together: the gateway holding the ``inventory-sync`` lease runs it and keeps the lease
between syncs; the others check every ``LEASE_SECONDS / 3`` and one takes over (and syncs at
once) within ``LEASE_SECONDS`` of the holder stopping.
"""

import asyncio
import logging
import time

from fastapi.concurrency import run_in_threadpool

from flowcdr.api.leases import release, renewed, take
from flowcdr.api.services import Services
from flowcdr.store.lease import Lease, holder_name

# The first pass waits this long after start (or the interval, if shorter): the gateway is up
# and answering before the first sync competes with it for a core.
FIRST_PASS_SECONDS = 60.0
LEASE_SECONDS = 300.0
log = logging.getLogger("flowcdr.inventory")


async def keep_syncing_inventory(services: Services) -> None:
    every = services.settings.inventory_sync_seconds
    if every <= 0:
        return
    lease = Lease(services.store, "inventory-sync", holder_name(), LEASE_SECONDS)
    await asyncio.sleep(min(FIRST_PASS_SECONDS, every))
    due = time.monotonic()
    try:
        while True:
            try:
                if await sync_if_due(services, lease, due):
                    due = time.monotonic() + every
            except Exception:  # the control database away for a moment: try again later
                log.exception("inventory: could not take the lease")
            await asyncio.sleep(min(every, LEASE_SECONDS / 3))
    finally:
        await release(lease)


async def sync_if_due(services: Services, lease: Lease, due: float) -> bool:
    """Sync everything if this gateway holds the lease and the sync is due; True if it ran.
    Holding the lease is renewing it, due or not, so the other gateways stay idle."""
    if not await take(lease) or time.monotonic() < due:
        return False
    async with renewed(lease):
        try:
            await run_in_threadpool(services.inventory_sync.sync_everything)
        except Exception:
            log.exception("inventory: scheduled sync failed")
    return True
