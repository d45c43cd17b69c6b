"""``create_app(settings)``: the gateway as a FastAPI app; nothing is built at import time."""

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from flowcdr.api import errors
from flowcdr.api.detection import keep_detecting
from flowcdr.api.inventory import keep_syncing_inventory
from flowcdr.api.routes import (
    audit,
    auth,
    connectors,
    findings,
    flowlogs,
    flows,
    health,
    ingest,
    insights,
    inventory,
    rule_settings,
    scripts,
    tokens,
    webhooks,
)
from flowcdr.api.services import Services
from flowcdr.config import Settings
from flowcdr.web import portal
from flowcdr.web.headers import PortalHeaders

log = logging.getLogger("flowcdr.api")


# How often flows past the retention period are deleted (and once at start).
RETENTION_EVERY_SECONDS = 3600


async def keep_retention(services: Services) -> None:
    """Delete flows older than ``retention_days``, now and then every hour."""
    while True:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=services.settings.retention_days)
        deleted = await run_in_threadpool(services.flows.delete_older_than, cutoff)
        if deleted:
            log.info("retention: deleted %d flows older than %s", deleted, cutoff.isoformat())
        await asyncio.sleep(RETENTION_EVERY_SECONDS)


def create_app(settings: Settings) -> FastAPI:
    """The app for these settings; its control database is opened (and migrated) here."""
    services = Services.start(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(keep_retention(services)),
            asyncio.create_task(keep_detecting(services)),
            asyncio.create_task(keep_syncing_inventory(services)),
        ]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        services.stop()

    app = FastAPI(title="flowcdr gateway", version="0.1.0", lifespan=lifespan)
    app.state.services = services
    errors.install(app)
    routers = (health, auth, tokens, flowlogs, audit, ingest, flows, insights, findings,
               rule_settings, webhooks)  # fmt: skip
    for router in (module.router for module in (*routers, scripts, connectors, inventory)):
        app.include_router(router)
    app.include_router(portal.router)
    app.add_middleware(PortalHeaders)
    return app
