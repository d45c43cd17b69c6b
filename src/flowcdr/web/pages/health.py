"""Connectors and data health: registered applications, and per source what arrived and when.

The numbers are the API's (``GET /cdr/v1/azure/connectors`` and ``/cdr/v1/health/sources``,
called as functions). A source is quiet when nothing of it was admitted for as long as the
connectors API calls a connector silent; the page opens with a banner naming such sources,
since data that stopped arriving is the failure users otherwise notice last.
"""

import asyncio
import datetime as dt

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from flowcdr.api.deps import ServicesDep
from flowcdr.api.routes import connectors as connectors_api
from flowcdr.api.routes import health as health_api
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalViewer

router = APIRouter(prefix="/portal", route_class=PortalRoute)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@router.get("/health")
async def data_health(request: Request, viewer: PortalViewer, found: ServicesDep) -> Response:
    # Both reads scan the tenant's flows; the connectors' one is skipped when none is
    # registered (a cheap control-store read tells), and otherwise runs beside the other.
    tenant = viewer.user.tenant_id
    if await run_in_threadpool(found.store.connectors, tenant):
        registered, sources = await asyncio.gather(
            connectors_api.list_connectors(viewer.user, found),
            health_api.sources(viewer.user, found),
        )
    else:
        registered, sources = [], await health_api.sources(viewer.user, found)
    cutoff = dt.datetime.now(dt.UTC) - connectors_api.SILENT_AFTER
    quiet = [r for r in sources.resources if _utc(r.last_ingested_at) < cutoff]
    silent = [c for c in registered if c.status == "silent"]
    return page(request, "health.html", viewer, nav="health", connectors=registered,
                sources=sources, quiet=quiet, silent=silent,
                silent_after=connectors_api.SILENT_AFTER)  # fmt: skip
