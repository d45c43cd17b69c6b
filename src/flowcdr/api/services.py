"""What the routes need, built once per app from the settings."""

from dataclasses import dataclass

from flowcdr.auth.throttle import Throttle
from flowcdr.auth.tokens import TokenSigner
from flowcdr.config import Settings
from flowcdr.store import keys
from flowcdr.store.control import ControlStore
from flowcdr.store.flows import DuckFlowStore


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: ControlStore
    flows: DuckFlowStore
    signer: TokenSigner
    throttle: Throttle

    @classmethod
    def start(cls, settings: Settings) -> "Services":
        store = ControlStore.open(settings)
        key = keys.load_or_create(
            settings.data_dir / "jwt.key", settings.jwt_key, keys.new_jwt_key()
        )
        return cls(
            settings,
            store,
            DuckFlowStore.open(
                settings.data_dir / "flows.duckdb", merge_seconds=settings.ingest_merge_seconds
            ),
            TokenSigner(key),
            Throttle(settings.login_failures, settings.login_window_seconds),
        )

    def stop(self) -> None:
        self.flows.close()
        self.store.close()
