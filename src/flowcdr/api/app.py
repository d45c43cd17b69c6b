"""``create_app(settings)``: the gateway as a FastAPI app; nothing is built at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from flowcdr.api import errors
from flowcdr.api.routes import audit, auth, flowlogs, flows, health, ingest, insights, tokens
from flowcdr.api.services import Services
from flowcdr.config import Settings


def create_app(settings: Settings) -> FastAPI:
    """The app for these settings; its control database is opened (and migrated) here."""
    services = Services.start(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        services.stop()

    app = FastAPI(title="flowcdr gateway", version="0.1.0", lifespan=lifespan)
    app.state.services = services
    errors.install(app)
    routers = (health, auth, tokens, flowlogs, audit, ingest, flows, insights)
    for router in (module.router for module in routers):
        app.include_router(router)
    return app
