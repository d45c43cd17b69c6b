"""The portal's router, mounted by the gateway's ``create_app`` beside the API's routers.

Its paths all start with ``/portal`` (and ``/`` leads there); none are in the OpenAPI schema,
which documents the API only. Static assets are served here under their content hash.
"""

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from flowcdr.web.pages import dashboard, findings, flows, health, scanners, settings, signin
from flowcdr.web.pages import tokens as tokens_page
from flowcdr.web.pages import webhooks as webhooks_page
from flowcdr.web.render import STATIC_PREFIX, assets

router = APIRouter(include_in_schema=False)
for page in (
    signin,
    dashboard,
    findings,
    flows,
    scanners,
    tokens_page,
    webhooks_page,
    health,
    settings,
):
    router.include_router(page.router)


@router.get(STATIC_PREFIX + "{name:path}")
async def static(name: str) -> FileResponse:
    """A file of ``static/``, cached for a year: its URL changes with its content."""
    asset = assets().get(name)
    if asset is None:
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(
        asset.path,
        media_type=asset.media_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
