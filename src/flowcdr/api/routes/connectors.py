"""Connectors: the Azure AD applications the Terraform module registered, and their data health.

``terraform apply`` registers its application once (``POST .../register``, subscription token);
``terraform destroy`` deletes it (``DELETE .../{client_id}``, the same token, or an admin in the
portal). The list shows, per application, when data last arrived: from the flow store's data
health, matched by connector id when the collector sends one and otherwise by subscription.
"""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from flowcdr.api.deps import (
    CurrentCollector,
    CurrentUser,
    ServicesDep,
    admin,
    client_address,
    collector,
    current_user,
)
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.auth.tokens import TokenError
from flowcdr.azure import FieldError, is_region, normalize_subscription_id
from flowcdr.store.control import Connector, ConnectorFields
from flowcdr.store.flows import ConnectorHealth, ResourceHealth, source_health

router = APIRouter(prefix="/cdr/v1/azure/connectors", tags=["connectors"])
_either = HTTPBearer(
    auto_error=False,
    scheme_name="SubscriptionTokenOrSignIn",
    description="The subscription token that registered the connector, or an admin's sign-in",
)
# Flow logs are written about once a minute: an hour without data means the collector is stuck.
SILENT_AFTER = dt.timedelta(hours=1)
MAX_REGIONS = 100
MAX_SECRET = 1024
_SUBSCRIPTION = re.compile(r"/subscriptions/([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})/", re.I)


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenantId: str  # noqa: N815 - the Azure AD tenant of the application
    clientId: str  # noqa: N815
    subscriptionId: str  # noqa: N815
    configId: str | None = Field(default=None, max_length=36)  # noqa: N815
    regions: Annotated[list[str], Field(min_length=1, max_length=MAX_REGIONS)]
    # The application's client secret, for the inventory sync; optional for modules before it.
    clientSecret: SecretStr | None = Field(default=None, min_length=1, max_length=MAX_SECRET)  # noqa: N815


class ConnectorOut(BaseModel):
    id: str
    clientId: str  # noqa: N815
    tenantId: str  # noqa: N815
    subscriptionId: str  # noqa: N815
    configId: str | None  # noqa: N815
    regions: list[str]
    registeredAt: str  # noqa: N815
    updatedAt: str  # noqa: N815
    status: str  # waiting (no data yet), receiving, silent (none for an hour)
    lastDataAt: str | None  # noqa: N815
    hasCredential: bool  # noqa: N815 - a client secret is on file (it is never shown)


def _guid(field: str, value: str) -> str:
    try:
        return normalize_subscription_id(value)  # any GUID, in the canonical lower-case form
    except FieldError:
        raise ApiError(422, f"must be a GUID, got {value[:40]!r}", field=field) from None


@router.post(
    "/register",
    status_code=201,
    responses={200: {"description": "An existing registration, updated"}, **ERROR_RESPONSES},
)
async def register(
    body: RegistrationIn,
    caller: CurrentCollector,
    found: ServicesDep,
    request: Request,
    response: Response,
) -> ConnectorOut:
    """Register the application a Terraform apply created; again is an update, not a copy."""
    regions = []
    for index, region in enumerate(body.regions):
        name = region.strip().lower()
        if not is_region(name):
            raise ApiError(422, f"unknown Azure region {region[:40]!r}", field=f"regions[{index}]")
        if name not in regions:
            regions.append(name)
    if body.configId is not None:
        config = await run_in_threadpool(found.store.config, caller.tenant_id, body.configId)
        if config is None:
            raise ApiError(422, f"no flow-log configuration {body.configId!r}", field="configId")
    fields = ConnectorFields(
        client_id=_guid("clientId", body.clientId),
        azure_tenant_id=_guid("tenantId", body.tenantId),
        subscription_id=_guid("subscriptionId", body.subscriptionId),
        config_id=body.configId,
        regions=tuple(sorted(regions)),
        client_secret=None if body.clientSecret is None else body.clientSecret.get_secret_value(),
    )
    connector, created = await run_in_threadpool(
        found.store.upsert_connector, caller.tenant_id, caller.token_id, fields
    )
    await run_in_threadpool(found.store.audit, caller.tenant_id,
                            f"subscription-token:{caller.token_id}", "connector.register",
                            target=fields.client_id, client=client_address(request))  # fmt: skip
    if not created:
        response.status_code = 200
    return _shown(connector, None)


@router.get("", responses=ERROR_RESPONSES)
async def list_connectors(user: CurrentUser, found: ServicesDep) -> list[ConnectorOut]:
    """Registered applications of the tenant, with when their data last arrived."""

    def read() -> tuple[list[Connector], list[ConnectorHealth], list[ResourceHealth]]:
        registered = found.store.connectors(user.tenant_id)
        reader = found.flows.reader()
        try:
            return registered, *source_health(reader, user.tenant_id)
        finally:
            reader.close()

    registered, by_connector, by_resource = await run_in_threadpool(read)
    return [_shown(c, _last_data(c, by_connector, by_resource)) for c in registered]


@dataclass(frozen=True)
class _Caller:
    tenant_id: str
    actor: str


async def deregistrar(
    found: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_either)],
) -> _Caller:
    """The subscription token that terraform destroy sends, or else an admin's sign-in."""
    if credentials is not None:
        try:
            found.signer.verify(credentials.credentials, "subscription")
        except TokenError:
            pass
        else:
            machine = await collector(found, credentials)
            return _Caller(machine.tenant_id, f"subscription-token:{machine.token_id}")
    person = await admin(await current_user(found, credentials))
    return _Caller(person.tenant_id, person.username)


@router.delete("/{client_id}", status_code=204, responses=ERROR_RESPONSES)
async def deregister(
    client_id: str,
    caller: Annotated[_Caller, Depends(deregistrar)],
    found: ServicesDep,
    request: Request,
) -> Response:
    """Forget a registration (terraform destroy, or an admin); flows already stored stay."""
    key = _guid("client_id", client_id)
    done = await run_in_threadpool(found.store.delete_connector, caller.tenant_id, key)
    if not done:
        raise ApiError(404, f"no connector {client_id!r}", field="client_id")
    await run_in_threadpool(found.store.audit, caller.tenant_id, caller.actor,
                            "connector.deregister", target=key,
                            client=client_address(request))  # fmt: skip
    return Response(status_code=204)


def _last_data(
    connector: Connector, by_connector: list[ConnectorHealth], by_resource: list[ResourceHealth]
) -> dt.datetime | None:
    """The newest admission of this application's data: its own batches when the collector
    names the connector, else flows of resources in its subscription."""
    times = [h.last_batch_at for h in by_connector if h.connector_id == connector.client_id]
    for health in by_resource:
        match = _SUBSCRIPTION.search(health.resource_id)
        if match and match.group(1).lower() == connector.subscription_id:
            times.append(health.last_ingested_at)
    return max(times, default=None)


def _shown(connector: Connector, last: dt.datetime | None) -> ConnectorOut:
    if last is None:
        status = "waiting"
    else:
        last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
        status = "silent" if dt.datetime.now(dt.UTC) - last > SILENT_AFTER else "receiving"
    return ConnectorOut(
        id=connector.id,
        clientId=connector.client_id,
        tenantId=connector.azure_tenant_id,
        subscriptionId=connector.subscription_id,
        configId=connector.config_id,
        regions=list(connector.regions),
        registeredAt=connector.registered_at,
        updatedAt=connector.updated_at,
        status=status,
        lastDataAt=None if last is None else last.isoformat(),
        hasCredential=connector.has_credential,
    )
