"""Flow-log configurations (Configure > Threat Scanners > Azure): CRUD, admins change, all read.

A configuration is a deployment name, a subscription and 1 to 50 storage "buckets". Connection
strings are validated by parsing, stored encrypted and shown masked (``AccountKey=****``); an
update that sends back the masked value keeps the stored secret.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from flowcdr.api.deps import Admin, CurrentUser, ServicesDep, client_address
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.azure import (
    FieldError,
    is_region,
    mask,
    normalize_subscription_id,
    parse_connection_string,
    validate_deployment_name,
    validate_storage_account,
)
from flowcdr.store.control import Bucket, ConflictError, FlowLogConfig

router = APIRouter(prefix="/cdr/v1/azure/flowlogs", tags=["flow-log configurations"])
MAX_BUCKETS = 50


class BucketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    storageAccount: str  # noqa: N815
    region: str
    connectionString: str  # noqa: N815


class ConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deploymentName: str  # noqa: N815
    subscriptionId: str  # noqa: N815
    buckets: Annotated[list[BucketIn], Field(min_length=1, max_length=MAX_BUCKETS)]


class ConfigPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deploymentName: str | None = None  # noqa: N815
    subscriptionId: str | None = None  # noqa: N815
    buckets: Annotated[list[BucketIn] | None, Field(min_length=1, max_length=MAX_BUCKETS)] = None


class BucketOut(BaseModel):
    storageAccount: str  # noqa: N815
    region: str
    connectionString: str  # noqa: N815 - always masked


class ConfigOut(BaseModel):
    id: str
    deploymentName: str  # noqa: N815
    subscriptionId: str  # noqa: N815
    buckets: list[BucketOut]
    createdAt: str  # noqa: N815
    updatedAt: str  # noqa: N815


def shown(config: FlowLogConfig) -> ConfigOut:
    return ConfigOut(
        id=config.id,
        deploymentName=config.deployment_name,
        subscriptionId=config.subscription_id,
        buckets=[
            BucketOut(
                storageAccount=b.storage_account,
                region=b.region,
                connectionString=mask(b.connection_string),
            )
            for b in config.buckets
        ],
        createdAt=config.created_at,
        updatedAt=config.updated_at,
    )


def _checked(field: str, check: Callable[[str], str], value: str) -> str:
    """``check(value)``, with a failure reported as a 422 naming the API field."""
    try:
        return check(value)
    except FieldError as error:
        raise ApiError(422, error.message, field=field) from None


def _buckets(items: list[BucketIn], previous: FlowLogConfig | None) -> list[Bucket]:
    kept = {b.storage_account: b.connection_string for b in previous.buckets} if previous else {}
    buckets: list[Bucket] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"buckets[{index}]"
        account = _checked(f"{where}.storageAccount", validate_storage_account, item.storageAccount)
        if account in seen:
            raise ApiError(422, f"storage account {account!r} appears twice",
                           field=f"{where}.storageAccount")  # fmt: skip
        seen.add(account)
        region = item.region.strip().lower()
        if not is_region(region):
            raise ApiError(422, f"unknown Azure region {item.region!r}", field=f"{where}.region")
        text = item.connectionString
        if account in kept and text == mask(kept[account]):
            text = kept[account]  # the masked value sent back: keep the secret
        try:
            parsed = parse_connection_string(text, account=account)
        except FieldError as error:  # never echoes the secret (see flowcdr.azure.connection)
            part = "" if error.field == "connection_string" else f"{error.field}: "
            raise ApiError(422, part + error.message, field=f"{where}.connectionString") from None
        buckets.append(Bucket(account, region, parsed.text))
    return buckets


@router.get("", responses=ERROR_RESPONSES)
async def list_configs(user: CurrentUser, found: ServicesDep) -> list[ConfigOut]:
    configs = await run_in_threadpool(found.store.configs, user.tenant_id)
    return [shown(c) for c in configs]


@router.get("/{config_id}", responses=ERROR_RESPONSES)
async def get_config(config_id: str, user: CurrentUser, found: ServicesDep) -> ConfigOut:
    """The "View Details" data of one configuration."""
    config = await run_in_threadpool(found.store.config, user.tenant_id, config_id)
    if config is None:
        raise ApiError(404, f"no flow-log configuration {config_id!r}", field="config_id")
    return shown(config)


@router.post("", status_code=201, responses=ERROR_RESPONSES)
async def create_config(
    body: ConfigIn, user: Admin, found: ServicesDep, request: Request
) -> ConfigOut:
    name = _checked("deploymentName", validate_deployment_name, body.deploymentName)
    subscription = _checked("subscriptionId", normalize_subscription_id, body.subscriptionId)
    buckets = _buckets(body.buckets, None)
    try:
        config = await run_in_threadpool(
            found.store.create_config, user.tenant_id, name, subscription, buckets
        )
    except ConflictError as error:
        raise ApiError(409, str(error), field="deploymentName") from None
    await _audit(found, user, "flowlog_config.create", config.id, request)
    return shown(config)


@router.patch("/{config_id}", responses=ERROR_RESPONSES)
async def update_config(
    config_id: str, body: ConfigPatch, user: Admin, found: ServicesDep, request: Request
) -> ConfigOut:
    current = await run_in_threadpool(found.store.config, user.tenant_id, config_id)
    if current is None:
        raise ApiError(404, f"no flow-log configuration {config_id!r}", field="config_id")
    name = current.deployment_name
    if body.deploymentName is not None:
        name = _checked("deploymentName", validate_deployment_name, body.deploymentName)
    subscription = current.subscription_id
    if body.subscriptionId is not None:
        subscription = _checked("subscriptionId", normalize_subscription_id, body.subscriptionId)
    buckets = list(current.buckets) if body.buckets is None else _buckets(body.buckets, current)
    try:
        config = await run_in_threadpool(
            found.store.update_config, user.tenant_id, config_id, name, subscription, buckets
        )
    except ConflictError as error:
        raise ApiError(409, str(error), field="deploymentName") from None
    if config is None:
        raise ApiError(404, f"no flow-log configuration {config_id!r}", field="config_id")
    await _audit(found, user, "flowlog_config.update", config_id, request)
    return shown(config)


@router.delete("/{config_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_config(
    config_id: str, user: Admin, found: ServicesDep, request: Request
) -> Response:
    done = await run_in_threadpool(found.store.delete_config, user.tenant_id, config_id)
    if not done:
        raise ApiError(404, f"no flow-log configuration {config_id!r}", field="config_id")
    await _audit(found, user, "flowlog_config.delete", config_id, request)
    return Response(status_code=204)


async def _audit(
    found: ServicesDep, user: Admin, action: str, target: str, request: Request
) -> None:
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username, action,
                            target=target, client=client_address(request))  # fmt: skip
