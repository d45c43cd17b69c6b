"""What the Azure Function does, without the Functions runtime: settings, one pass, one blob.

``functionapp/function_app.py`` only declares the triggers and calls these, so everything here is
tested against Azurite by calling it directly. Settings are app settings (environment variables):

- ``FLOWCDR_GATEWAY_URL``; ``FLOWCDR_SUBSCRIPTION_TOKEN`` (a Key Vault reference in Azure);
- ``FLOWLOG_STORAGE``: the flow-log account's connection string, or, with a managed identity,
  ``FLOWLOG_STORAGE__blobServiceUri`` (the Functions convention for identity-based connections);
- ``AzureWebJobsStorage`` (or ``AzureWebJobsStorage__accountName``): the Function's own account,
  holding the checkpoint table and the dead-letter container;
- ``FLOWCDR_PASS_MB`` (optional, default 32): bytes read per invocation, well inside the
  Function timeout;
- ``FLOWCDR_CONNECTOR_ID`` (optional): the registered application's client id, sent with every
  batch so the gateway's data health and connector list attribute the flows to it.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from flowcdr.collect.azure_blob import (
    AzureBlobSource,
    ContainerDeadLetters,
    service_from_account_url,
    service_from_connection_string,
)
from flowcdr.collect.collector import PASS_BYTES, Collector, PassResult
from flowcdr.collect.errors import CollectError
from flowcdr.collect.ship import GatewayClient
from flowcdr.collect.table_checkpoints import TableCheckpoints

log = logging.getLogger(__name__)


class SettingError(CollectError):
    """An app setting is missing or unusable; the message names it, never its value."""


@dataclass(frozen=True)
class FunctionSettings:
    gateway_url: str
    token: str = field(repr=False)
    flowlog_connection: str | None = field(repr=False)
    flowlog_blob_url: str | None
    state_connection: str | None = field(repr=False)
    state_account: str | None
    pass_bytes: int = PASS_BYTES
    connector_id: str | None = None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "FunctionSettings":
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingError(f"app setting {name} is not set")
            return value

        flowlog = env.get("FLOWLOG_STORAGE") or None
        flowlog_url = env.get("FLOWLOG_STORAGE__blobServiceUri") or None
        if not (flowlog or flowlog_url):
            raise SettingError("set app setting FLOWLOG_STORAGE or FLOWLOG_STORAGE__blobServiceUri")
        state = env.get("AzureWebJobsStorage") or None
        state_account = env.get("AzureWebJobsStorage__accountName") or None
        if not (state or state_account):
            raise SettingError("set AzureWebJobsStorage or AzureWebJobsStorage__accountName")
        try:
            pass_bytes = int(env.get("FLOWCDR_PASS_MB", PASS_BYTES >> 20)) << 20
        except ValueError:
            raise SettingError("app setting FLOWCDR_PASS_MB must be a whole number") from None
        return cls(
            required("FLOWCDR_GATEWAY_URL"),
            required("FLOWCDR_SUBSCRIPTION_TOKEN"),
            flowlog,
            flowlog_url,
            state,
            state_account,
            pass_bytes,
            env.get("FLOWCDR_CONNECTOR_ID", "").strip() or None,
        )


def build_collector(settings: FunctionSettings) -> tuple[Collector, GatewayClient]:
    """The collector of one invocation, and its gateway client (to be closed afterwards)."""
    if settings.flowlog_connection:
        flowlog = service_from_connection_string(settings.flowlog_connection)
    else:
        flowlog = service_from_account_url(settings.flowlog_blob_url or "")
    if settings.state_connection:
        tables = TableServiceClient.from_connection_string(settings.state_connection)
        blobs = BlobServiceClient.from_connection_string(settings.state_connection)
    else:
        from azure.identity import DefaultAzureCredential

        account = settings.state_account
        credential = DefaultAzureCredential()
        tables = TableServiceClient(
            f"https://{account}.table.core.windows.net", credential=credential
        )
        blobs = BlobServiceClient(f"https://{account}.blob.core.windows.net", credential=credential)
    try:
        gateway = GatewayClient(
            settings.gateway_url, settings.token, connector_id=settings.connector_id
        )
    except ValueError as error:
        raise SettingError(f"app setting FLOWCDR_GATEWAY_URL: {error}") from None
    collector = Collector(
        AzureBlobSource(flowlog),
        TableCheckpoints.open(tables),
        gateway,
        ContainerDeadLetters(blobs),
        pass_bytes=settings.pass_bytes,
    )
    return collector, gateway


def timer_pass(settings: FunctionSettings) -> PassResult:
    """One bounded pass over the current and previous hour of both containers."""
    collector, gateway = build_collector(settings)
    try:
        result = collector.run_pass()
        log.info("%s", collector.metrics.line())
        return result
    finally:
        collector.close()
        gateway.close()


def blob_event(settings: FunctionSettings, path: str) -> int:
    """Collect the blob an Event Grid event named (``container/blob name``); bytes read."""
    container, _, name = path.partition("/")
    if not name:
        raise CollectError(f"blob event path {path!r} is not container/name")
    collector, gateway = build_collector(settings)
    try:
        return collector.collect_blob(container, name, settings.pass_bytes)
    finally:
        collector.close()
        gateway.close()
