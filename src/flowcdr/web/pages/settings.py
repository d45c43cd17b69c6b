"""Settings: suppressions (list, add, delete), the detection catalogue, threat-intel lists.

Suppressions go through the findings API's route functions. Detections and their tunables are
shown as they run: every tenant runs the catalogue's defaults until per-tenant detection
settings are kept, so the page shows them read-only rather than offer switches that do nothing.
"""

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from flowcdr.api.deps import ServicesDep
from flowcdr.api.errors import ApiError
from flowcdr.api.routes import findings as findings_api
from flowcdr.detect.settings import DetectSettings
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalAdmin, PortalViewer, checked_form

router = APIRouter(prefix="/portal/settings", route_class=PortalRoute)


async def _page(
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    suppressions = await findings_api.list_suppressions(viewer.user, found)
    enabled = DetectSettings().enabled(found.rules)
    rules = sorted(found.rules.values(), key=lambda r: (r.meta.tactics[:1], r.id))
    intel = await run_in_threadpool(found.intel.current)
    return page(request, "settings.html", viewer, status=422 if error else 200, nav="settings",
                suppressions=suppressions, rules=rules, enabled=enabled, error=error,
                values=values or {}, intel=intel, intel_dir=found.settings.intel_folder,
                now=dt.datetime.now(dt.UTC))  # fmt: skip


@router.get("")
async def settings(request: Request, viewer: PortalViewer, found: ServicesDep) -> Response:
    return await _page(request, viewer, found)


@router.post("/suppressions")
async def add_suppression(request: Request, viewer: PortalAdmin, found: ServicesDep) -> Response:
    form = await checked_form(request, viewer)
    values = {name: str(form.get(name, "")).strip() for name in
              ("cidr", "port", "rule", "resource", "days", "reason")}  # fmt: skip
    fields: dict[str, Any] = {k: values[k] or None for k in ("cidr", "rule", "resource")}
    try:
        if values["port"] and not values["port"].isdigit():
            raise ValueError("the port must be a number")
        if values["days"] and not values["days"].isdigit():
            raise ValueError("the expiry must be a number of days")
        fields["port"] = int(values["port"]) if values["port"] else None
        days = int(values["days"]) if values["days"] else None
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
        given = findings_api.SuppressionIn(**fields, expires=expires, reason=values["reason"])
        await findings_api.add_suppression(given, viewer.user, found, request)
    except ApiError as error:
        return await _page(request, viewer, found, error=error.message, values=values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg')}"
        return await _page(request, viewer, found, error=message, values=values)
    except ValueError as error:
        return await _page(request, viewer, found, error=str(error), values=values)
    return RedirectResponse("/portal/settings", status_code=303)


@router.post("/suppressions/{suppression_id}/delete")
async def delete_suppression(
    suppression_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    await checked_form(request, viewer)
    await findings_api.delete_suppression(suppression_id, viewer.user, found, request)
    return RedirectResponse("/portal/settings", status_code=303)
