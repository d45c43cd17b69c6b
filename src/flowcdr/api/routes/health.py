"""Liveness, and the data health of a tenant's sources (what arrived, from where, how late)."""

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from flowcdr.api.deps import CurrentUser, ServicesDep
from flowcdr.api.errors import ERROR_RESPONSES
from flowcdr.store.flows import ConnectorHealth, ResourceHealth, source_health

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


class SourceHealth(BaseModel):
    connectors: list[ConnectorHealth]
    resources: list[ResourceHealth]


@router.get("/cdr/v1/health/sources", responses=ERROR_RESPONSES)
async def sources(user: CurrentUser, found: ServicesDep) -> SourceHealth:
    """Per connector: batches, flows, rejects, replays dropped; per resource: freshness and lag."""

    def read() -> SourceHealth:
        reader = found.flows.reader()
        try:
            connectors, resources = source_health(reader, user.tenant_id)
        finally:
            reader.close()
        return SourceHealth(connectors=connectors, resources=resources)

    return await run_in_threadpool(read)
