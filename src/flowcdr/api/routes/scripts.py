"""Download Scripts: the Terraform module of one flow-log configuration, for admins only.

The zip carries the configuration's flow-log connection strings in ``terraform.tfvars.json``
(the module stores them in Key Vault for the Functions), so it is the one response that holds
secrets: admin only, never cached, and every download is audited.
"""

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from flowcdr.api.deps import Admin, ServicesDep, client_address
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.deploy.module import ZIP_NAME, terraform_zip

router = APIRouter(prefix="/cdr/v1/azure/flowlogs", tags=["flow-log configurations"])


@router.get(
    "/{config_id}/scripts",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, **ERROR_RESPONSES},
)
async def download_scripts(
    config_id: str, user: Admin, found: ServicesDep, request: Request
) -> Response:
    """``flowcdr_azure_cdr_terraform.zip``: fill in the subscription token, then apply."""
    config = await run_in_threadpool(found.store.config, user.tenant_id, config_id)
    if config is None:
        raise ApiError(404, f"no flow-log configuration {config_id!r}", field="config_id")
    apigw_url = found.settings.public_url or str(request.base_url)
    content = await run_in_threadpool(
        terraform_zip, config.id, config.deployment_name, config.buckets, apigw_url
    )
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username,
                            "flowlog_config.download_scripts", target=config_id,
                            client=client_address(request))  # fmt: skip
    return Response(
        content,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{ZIP_NAME}"',
            "Cache-Control": "no-store",
        },
    )
