"""Configure > Threat Scanners > Azure: flow-log configurations, as in the product's portal.

List, create and edit (deployment name, subscription, buckets with "Add more buckets"), View
Details with masked secrets, and Download Scripts. Every read and change goes through the
flow-log API's route functions, so validation is the API's: a refusal names its API field
(``buckets[2].connectionString``) and the form shows the message beside that input.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from flowcdr.api.deps import ServicesDep
from flowcdr.api.errors import ApiError
from flowcdr.api.routes import flowlogs, scripts
from flowcdr.azure import REGIONS
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalAdmin, PortalViewer, checked_form

router = APIRouter(prefix="/portal/configure/azure", route_class=PortalRoute)
BASE = "/portal/configure/azure"
DEPLOYMENT_PREFIX = "azure-"


def _rows(form: Any) -> list[dict[str, str]]:
    """The bucket rows of a posted form, in page order; rows left wholly empty are dropped."""
    accounts = form.getlist("storage_account")
    regions = form.getlist("region")
    secrets = form.getlist("connection_string")
    rows = []
    for account, region, secret in zip(accounts, regions, secrets, strict=False):
        row = {"storageAccount": str(account).strip(), "region": str(region),
               "connectionString": str(secret).strip()}  # fmt: skip
        if row["storageAccount"] or row["connectionString"]:
            rows.append(row)
    return rows


def _fields(form: Any) -> dict[str, Any]:
    return {
        "deploymentName": str(form.get("deployment_name", "")).strip(),
        "subscriptionId": str(form.get("subscription_id", "")).strip(),
        "buckets": _rows(form),
    }


def _refusal(error: ApiError | ValidationError) -> tuple[str | None, str]:
    """(API field, message) of a refused form."""
    if isinstance(error, ApiError):
        return error.field, error.message
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    field = location[0] + "".join(
        f"[{part}]" if part.isdigit() else f".{part}" for part in location[1:]
    )
    message = str(first.get("msg"))
    if field == "buckets":
        message = "add at least one bucket"
    return field or None, message


def _form(
    request: Request,
    viewer: PortalViewer,
    values: dict[str, Any],
    *,
    config_id: str | None,
    refused: tuple[str | None, str] | None = None,
) -> Response:
    field, message = refused or (None, None)
    return page(request, "scanner_form.html", viewer, status=422 if refused else 200,
                nav="scanners", values=values, config_id=config_id, regions=REGIONS,
                error_field=field, error_message=message,
                prefix=DEPLOYMENT_PREFIX)  # fmt: skip


@router.get("")
async def list_configs(request: Request, viewer: PortalViewer, found: ServicesDep) -> Response:
    configs = await flowlogs.list_configs(viewer.user, found)
    return page(request, "scanners.html", viewer, nav="scanners", configs=configs)


@router.get("/new")
async def new_form(request: Request, viewer: PortalAdmin) -> Response:
    empty = {"storageAccount": "", "region": "", "connectionString": ""}
    values = {"deploymentName": DEPLOYMENT_PREFIX, "subscriptionId": "", "buckets": [empty]}
    return _form(request, viewer, values, config_id=None)


@router.post("/new")
async def create(request: Request, viewer: PortalAdmin, found: ServicesDep) -> Response:
    values = _fields(await checked_form(request, viewer))
    try:
        body = flowlogs.ConfigIn.model_validate(values)
        made = await flowlogs.create_config(body, viewer.user, found, request)
    except (ApiError, ValidationError) as error:
        return _form(request, viewer, values, config_id=None, refused=_refusal(error))
    return RedirectResponse(f"{BASE}/{made.id}", status_code=303)


@router.get("/{config_id}")
async def details(
    config_id: str, request: Request, viewer: PortalViewer, found: ServicesDep
) -> Response:
    """View Details: the configuration with its connection strings masked."""
    config = await flowlogs.get_config(config_id, viewer.user, found)
    return page(request, "scanner.html", viewer, nav="scanners", config=config)


@router.get("/{config_id}/edit")
async def edit_form(
    config_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    """The form filled in; connection strings stay masked, and sent back masked they keep
    the stored secret (the API's rule)."""
    config = await flowlogs.get_config(config_id, viewer.user, found)
    values = config.model_dump(include={"deploymentName", "subscriptionId", "buckets"})
    return _form(request, viewer, values, config_id=config_id)


@router.post("/{config_id}/edit")
async def update(
    config_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    values = _fields(await checked_form(request, viewer))
    try:
        body = flowlogs.ConfigPatch.model_validate(values)
        await flowlogs.update_config(config_id, body, viewer.user, found, request)
    except (ApiError, ValidationError) as error:
        return _form(request, viewer, values, config_id=config_id, refused=_refusal(error))
    return RedirectResponse(f"{BASE}/{config_id}", status_code=303)


@router.post("/{config_id}/delete")
async def delete(
    config_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    await checked_form(request, viewer)
    await flowlogs.delete_config(config_id, viewer.user, found, request)
    return RedirectResponse(BASE, status_code=303)


@router.get("/{config_id}/scripts")
async def download_scripts(
    config_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    """Download Scripts: the API's Terraform zip (admins only, audited, never cached)."""
    return await scripts.download_scripts(config_id, viewer.user, found, request)
