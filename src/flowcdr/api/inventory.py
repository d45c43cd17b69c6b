"""The gateway's inventory loop: every ``inventory_sync_seconds``, a sync of every connector.

Subscriptions are synced one at a time (``InventorySync`` holds one lock for scheduled and
on-demand syncs). Nothing a sync meets stops the loop: a subscription's error is logged and
the next one is synced, and the loop itself logs and carries on. 0 turns the schedule off;
``POST /cdr/v1/inventory/sync`` still works.
"""

import asyncio
import logging

from fastapi.concurrency import run_in_threadpool

from flowcdr.api.services import Services

# The first pass waits this long after start (or the interval, if shorter): the gateway is up
# and answering before the first sync competes with it for a core.
FIRST_PASS_SECONDS = 60.0
log = logging.getLogger("flowcdr.inventory")


async def keep_syncing_inventory(services: Services) -> None:
    every = services.settings.inventory_sync_seconds
    if every <= 0:
        return
    await asyncio.sleep(min(FIRST_PASS_SECONDS, every))
    while True:
        try:
            await run_in_threadpool(services.inventory_sync.sync_everything)
        except Exception:
            log.exception("inventory: scheduled sync failed")
        await asyncio.sleep(every)
