"""What the routes need, built once per app from the settings."""

import datetime as dt
from dataclasses import dataclass

import flowcdr.detections
from flowcdr.auth.throttle import Throttle
from flowcdr.auth.tokens import TokenSigner
from flowcdr.config import Settings
from flowcdr.detect.catalogue import load_rules
from flowcdr.detect.continuous import ContinuousDetector
from flowcdr.detect.intel_folder import IntelFolder
from flowcdr.detect.ledger import FindingLedger
from flowcdr.detect.notify import Notifier
from flowcdr.detect.rule import Rule
from flowcdr.detect.settings import DetectSettings
from flowcdr.detect.tenant_rules import TenantRules
from flowcdr.detect.webhook_guard import TargetGuard
from flowcdr.detect.webhooks import WebhookStore
from flowcdr.enrich.servicetags import ServiceTagsFile
from flowcdr.inventory.arm import ArmSettings
from flowcdr.inventory.model import Snapshot
from flowcdr.inventory.posture import DuckFlowEvidence, FlowEvidence, audit
from flowcdr.inventory.store import InventoryStore
from flowcdr.inventory.sync import InventorySync, PostSyncHook, client_secret_credential
from flowcdr.store import keys
from flowcdr.store.backend import AnyFlowStore, open_flow_store
from flowcdr.store.control import ControlStore
from flowcdr.store.flows import DuckFlowStore
from flowcdr.store.signins import SharedThrottle


def posture_audit(
    evidence: FlowEvidence | None, ledger: FindingLedger, notifier: Notifier
) -> PostSyncHook:
    """After every inventory sync, the posture audit of the subscription, weighed by its flows;
    the findings it opens go to the webhooks as the detector's do."""

    def hook(tenant_id: str, snapshot: Snapshot) -> None:
        now = dt.datetime.now(dt.UTC)
        result = audit(tenant_id, snapshot, evidence, ledger, now)
        notifier.findings_changed(tenant_id, result.changed, now)

    return hook


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: ControlStore
    flows: AnyFlowStore
    signer: TokenSigner
    throttle: Throttle | SharedThrottle
    rules: dict[str, Rule]
    ledger: FindingLedger
    detector: ContinuousDetector
    intel: IntelFolder
    tenant_rules: TenantRules
    webhooks: WebhookStore
    notifier: Notifier
    inventory: InventoryStore
    inventory_sync: InventorySync
    service_tags: ServiceTagsFile

    @classmethod
    def start(cls, settings: Settings) -> "Services":
        store = ControlStore.open(settings)
        key = keys.load_or_create(
            settings.data_dir / "jwt.key", settings.jwt_key, keys.new_jwt_key()
        )
        rules = load_rules(flowcdr.detections)
        defaults = DetectSettings()
        tenant_rules = TenantRules(store, rules)
        ledger = FindingLedger(store)
        webhooks = WebhookStore(store, TargetGuard.from_settings(settings))
        notifier = Notifier(webhooks, ledger)
        detector = ContinuousDetector(
            rules,
            ledger,
            tenant_rules.enabled,
            min_rerun_seconds=settings.detect_interval_seconds,
            on_change=notifier.findings_changed,
        )
        flows = open_flow_store(settings, on_merge=detector.touched)
        inventory = InventoryStore(store)
        arm = ArmSettings(
            settings.azure_arm_url.rstrip("/"),
            str(settings.azure_ca_bundle) if settings.azure_ca_bundle else True,
        )
        syncer = InventorySync(
            store, inventory, arm, client_secret_credential(settings.azure_authority)
        )
        # The flow evidence is a DuckDB query: on ClickHouse the audit weighs configuration alone.
        evidence = DuckFlowEvidence(flows.reader) if isinstance(flows, DuckFlowStore) else None
        syncer.hooks.append(posture_audit(evidence, ledger, notifier))
        notifier.start()
        return cls(
            settings,
            store,
            flows,
            TokenSigner(key),
            _throttle(settings, store),
            rules,
            ledger,
            detector,
            IntelFolder(settings.intel_folder, defaults.intel_max_age),
            tenant_rules,
            webhooks,
            notifier,
            inventory=inventory,
            inventory_sync=syncer,
            service_tags=ServiceTagsFile(settings.service_tags_path),
        )

    def stop(self) -> None:
        self.notifier.close()
        self.flows.close()
        self.store.close()


def _throttle(settings: Settings, store: ControlStore) -> Throttle | SharedThrottle:
    """Failed sign-ins counted in memory, or in the control database when it is PostgreSQL:
    gateways sharing it then share the count (docs/postgresql.md)."""
    limit, window = settings.login_failures, settings.login_window_seconds
    if store.engine.dialect.name == "postgresql":
        return SharedThrottle(store, limit, window)
    return Throttle(limit, window)
