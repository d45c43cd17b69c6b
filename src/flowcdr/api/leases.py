"""The gateway's background loops under leases (``flowcdr.store.lease``): helpers for asyncio.

Gateways sharing one control database run the same loops; a loop whose work must run in one
gateway at a time (a detection pass over a shared flow store, the inventory sync) takes a lease
before each turn, keeps it renewed while the work runs, and gives it back when the gateway stops.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi.concurrency import run_in_threadpool

from flowcdr.store.lease import Lease

log = logging.getLogger("flowcdr.lease")


async def take(lease: Lease) -> bool:
    """Acquire or renew the lease (off the event loop: it is a database round trip)."""
    return await run_in_threadpool(lease.acquire)


@contextlib.asynccontextmanager
async def renewed(lease: Lease) -> AsyncIterator[None]:
    """Renew the lease every third of its length while the body runs, so that work outlasting
    one lease does not let another gateway start the same work."""
    renewing = asyncio.create_task(_keep_renewed(lease))
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing


async def release(lease: Lease) -> None:
    """Hand the lease over at once (a clean stop), even while the calling task is cancelled."""
    try:
        await asyncio.shield(run_in_threadpool(lease.release))
    except Exception:  # the database may be gone as the gateway stops: the lease expires then
        log.warning("lease %r not released; it expires in %.0f s", lease.name, lease.seconds)


async def _keep_renewed(lease: Lease) -> None:
    while True:
        await asyncio.sleep(lease.seconds / 3)
        if not await take(lease):
            holder = await run_in_threadpool(lease.current)
            log.warning("lease %r lost while working (now held by %s)", lease.name, holder)
