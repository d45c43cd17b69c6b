"""Reading one subscription from Azure Resource Manager with the Azure SDK's own clients.

``azure-mgmt-network`` and ``azure-mgmt-compute`` list the resources and follow ``nextLink``
pages; their pipeline retries throttling (429) and server errors, waiting what ``Retry-After``
asks, within bounds: a few attempts, and never longer than ``ArmSettings.max_retry_after`` per
wait, so one throttled subscription cannot hold the sync for an hour. Storage accounts (only
their locations are needed) come from the generic ARM list through the same pipeline, rather
than from one more SDK package. The base URL is a setting: Azure Resource Manager by default, a
sovereign cloud's, or a local server replaying recorded responses in tests.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.network import NetworkManagementClient

from flowcdr.inventory.model import name_of, resource_group_of

Json = Mapping[str, Any]
DEFAULT_ARM_URL = "https://management.azure.com"
STORAGE_API_VERSION = "2023-05-01"


@dataclass(frozen=True)
class ArmSettings:
    """Where Azure Resource Manager is and how patiently it is read."""

    base_url: str = DEFAULT_ARM_URL
    connection_verify: bool | str = True  # a CA bundle path for a private endpoint or a test
    retries: int = 3
    max_retry_after: float = 60.0
    # Seconds to connect and to wait for a response: azure-core's 300 would let a hung endpoint
    # hold the sync (and every subscription after it) for five minutes per request.
    connect_timeout: float = 20.0
    read_timeout: float = 120.0

    @property
    def scope(self) -> str:
        """The token scope of this ARM endpoint (``https://management.azure.com/.default``)."""
        return self.base_url.rstrip("/") + "/.default"


class _BoundedRetry(RetryPolicy[Any, Any]):
    """Honours Retry-After, but at most ``ceiling`` seconds per wait."""

    def __init__(self, ceiling: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ceiling = ceiling

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        asked = super().get_retry_after(response)
        return None if asked is None else min(asked, self._ceiling)


class SubscriptionReader:
    """The SDK clients for one subscription; each method yields one resource type as ARM JSON."""

    def __init__(self, credential: TokenCredential, subscription_id: str, arm: ArmSettings):
        options: dict[str, Any] = {
            "base_url": arm.base_url,
            "credential_scopes": [arm.scope],
            "connection_verify": arm.connection_verify,
            "connection_timeout": arm.connect_timeout,
            "read_timeout": arm.read_timeout,
            "retry_policy": _BoundedRetry(
                arm.max_retry_after, retry_total=arm.retries, retry_backoff_factor=1.0
            ),
        }
        self.subscription_id = subscription_id
        self.network = NetworkManagementClient(credential, subscription_id, **options)
        self.compute = ComputeManagementClient(credential, subscription_id, **options)

    def close(self) -> None:
        self.network.close()
        self.compute.close()

    def virtual_machines(self) -> Iterator[Json]:
        for vm in self.compute.virtual_machines.list_all():
            yield vm.as_dict()

    def network_interfaces(self) -> Iterator[Json]:
        for nic in self.network.network_interfaces.list_all():
            yield nic.as_dict()

    def public_ips(self) -> Iterator[Json]:
        for address in self.network.public_ip_addresses.list_all():
            yield address.as_dict()

    def virtual_networks(self) -> Iterator[Json]:
        for vnet in self.network.virtual_networks.list_all():
            yield vnet.as_dict()

    def security_groups(self) -> Iterator[Json]:
        for nsg in self.network.network_security_groups.list_all():
            yield nsg.as_dict()

    def flow_logs(self) -> Iterator[Json]:
        """Flow logs live under network watchers (one per region): every watcher's list."""
        for watcher in self.network.network_watchers.list_all():
            group = resource_group_of(str(watcher.id))
            for flow_log in self.network.flow_logs.list(group, name_of(str(watcher.id))):
                yield flow_log.as_dict()

    def storage_accounts(self) -> Iterator[Json]:
        """The generic ARM list of Microsoft.Storage/storageAccounts, page by page."""
        url: str | None = (
            f"/subscriptions/{self.subscription_id}/providers/Microsoft.Storage/storageAccounts"
            f"?api-version={STORAGE_API_VERSION}"
        )
        while url:
            response = self.network.send_request(HttpRequest("GET", url))
            if response.status_code != 200:
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            page = response.json()
            yield from page.get("value") or ()
            url = page.get("nextLink")
