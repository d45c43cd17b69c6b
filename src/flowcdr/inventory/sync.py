"""One inventory sync: a connector's credential, its subscription read, the result stored.

A subscription is read resource type by resource type; a type that fails (403 because a role is
missing, a throttle that outlasts the retries, a network error, a response that does not parse)
is recorded in ``Snapshot.errors`` and ``Snapshot.failed_kinds`` and the other types are kept,
so one missing permission costs one kind of resource, not the whole inventory. After a sync is
stored, the post-sync hooks (the posture audit, for one) get the tenant and the snapshot; a hook
that fails is logged and does not undo the sync.
"""

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.identity import ClientSecretCredential

from flowcdr.inventory import resources
from flowcdr.inventory.arm import ArmSettings, Json, SubscriptionReader
from flowcdr.inventory.changes import Change
from flowcdr.inventory.model import KINDS, Snapshot
from flowcdr.inventory.store import InventoryStore
from flowcdr.store.control import Connector, ControlStore

log = logging.getLogger("flowcdr.inventory")

# (Azure AD tenant id, client id, client secret) -> the credential the SDK clients sign in with.
CredentialFactory = Callable[[str, str, str], TokenCredential]
PostSyncHook = Callable[[str, Snapshot], None]
MAX_ERROR = 300


def client_secret_credential(authority: str) -> CredentialFactory:
    """Production sign-in: the application's client secret, against Azure AD at ``authority``."""

    def make(azure_tenant_id: str, client_id: str, secret: str) -> TokenCredential:
        return ClientSecretCredential(azure_tenant_id, client_id, secret, authority=authority)

    return make


def describe(error: Exception) -> str:
    """An error as one line for ``Snapshot.errors``: HTTP status and ARM error code first."""
    if isinstance(error, HttpResponseError):
        code = getattr(error.error, "code", None) if error.error is not None else None
        message = getattr(error.error, "message", None) or error.reason or ""
        text = f"HTTP {error.status_code} {code or ''}: {message}"
    elif isinstance(error, AzureError):
        text = f"{type(error).__name__}: {error.message}"
    else:
        text = f"unexpected response ({type(error).__name__}: {error})"
    return " ".join(text.split())[:MAX_ERROR]


def read_subscription(reader: SubscriptionReader, taken_at: dt.datetime) -> Snapshot:
    """Everything the reader can list, kind by kind; failures recorded, the rest kept."""
    found: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    errors: list[str] = []
    failed: list[str] = []

    def attempt(
        kind: str, items: Callable[[], Iterator[Json]], parse: Callable[[Json], Any]
    ) -> None:
        try:
            found[kind] = [parse(item) for item in items()]
        except (AzureError, KeyError, TypeError, ValueError) as error:
            errors.append(f"{kind}: {describe(error)}")
            failed.append(kind)

    attempt("virtual_machines", reader.virtual_machines, resources.virtual_machine)
    attempt("network_interfaces", reader.network_interfaces, resources.network_interface)
    attempt("public_ips", reader.public_ips, resources.public_ip)
    attempt("virtual_networks", reader.virtual_networks, resources.virtual_network)
    found["subnets"] = [s for _, subnets in found["virtual_networks"] for s in subnets]
    found["virtual_networks"] = [vnet for vnet, _ in found["virtual_networks"]]
    if "virtual_networks" in failed:
        failed.append("subnets")
    attempt("security_groups", reader.security_groups, resources.security_group)
    attempt("storage_accounts", reader.storage_accounts, resources.storage_account)
    attempt("flow_logs", reader.flow_logs, resources.flow_log)
    return Snapshot(
        subscription_id=reader.subscription_id,
        taken_at=taken_at,
        **{kind: tuple(values) for kind, values in found.items()},
        errors=tuple(errors),
        failed_kinds=tuple(failed),
    )


@dataclass(frozen=True)
class SyncResult:
    tenant_id: str
    snapshot: Snapshot
    changes: tuple[Change, ...]


class InventorySync:
    """Syncs connectors' subscriptions one at a time (scheduled and on-demand syncs queue)."""

    def __init__(
        self,
        control: ControlStore,
        inventory: InventoryStore,
        arm: ArmSettings,
        credential_for: CredentialFactory,
        hooks: Sequence[PostSyncHook] = (),
    ) -> None:
        self.control = control
        self.inventory = inventory
        self.arm = arm
        self.credential_for = credential_for
        self.hooks = list(hooks)
        self._one_at_a_time = threading.Lock()

    def sync_connector(self, connector: Connector) -> SyncResult | None:
        """Read and store the connector's subscription; None when it has no secret on file."""
        secret = self.control.connector_secret(connector.tenant_id, connector.client_id)
        if secret is None:
            return None
        credential = self.credential_for(connector.azure_tenant_id, connector.client_id, secret)
        with self._one_at_a_time:
            reader = SubscriptionReader(credential, connector.subscription_id, self.arm)
            try:
                snapshot = read_subscription(reader, dt.datetime.now(dt.UTC))
            finally:
                reader.close()
                close = getattr(credential, "close", None)
                if callable(close):
                    close()
            changes = self.inventory.record(connector.tenant_id, snapshot)
        log.info(
            "inventory: tenant %s subscription %s: %d resources, %d changes, %d errors",
            connector.tenant_id,
            snapshot.subscription_id,
            sum(len(getattr(snapshot, kind)) for kind in KINDS),
            len(changes),
            len(snapshot.errors),
        )
        if len(snapshot.failed_kinds) == len(KINDS):
            return SyncResult(connector.tenant_id, snapshot, tuple(changes))
        # The hooks see the subscription as stored: kinds that failed now as last listed.
        held = self.inventory.latest_snapshot(connector.tenant_id, snapshot.subscription_id)
        for hook in self.hooks:
            try:
                hook(connector.tenant_id, held or snapshot)
            except Exception:  # a hook's failure is its own; the sync is stored
                log.exception("inventory: post-sync hook %r failed", hook)
        return SyncResult(connector.tenant_id, snapshot, tuple(changes))

    def sync_all(self, connectors: Iterable[Connector]) -> list[SyncResult]:
        """Each subscription once per tenant, with its most recently registered credential;
        an error is logged and the next subscription is synced."""
        results = []
        for connector in per_subscription(connectors):
            try:
                result = self.sync_connector(connector)
            except Exception:
                log.exception(
                    "inventory: sync of subscription %s (tenant %s) failed",
                    connector.subscription_id,
                    connector.tenant_id,
                )
                continue
            if result is not None:
                results.append(result)
        return results

    def sync_tenant(self, tenant_id: str) -> list[SyncResult]:
        return self.sync_all(c for c in self.control.connectors(tenant_id) if c.has_credential)

    def sync_everything(self) -> list[SyncResult]:
        return self.sync_all(self.control.connectors_with_credentials())


def per_subscription(connectors: Iterable[Connector]) -> list[Connector]:
    """One connector per (tenant, subscription): the last updated, whose secret is freshest."""
    chosen: dict[tuple[str, str], Connector] = {}
    for connector in connectors:
        key = (connector.tenant_id, connector.subscription_id)
        if key not in chosen or connector.updated_at > chosen[key].updated_at:
            chosen[key] = connector
    return sorted(chosen.values(), key=lambda c: (c.tenant_id, c.subscription_id))
