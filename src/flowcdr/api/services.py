"""What the routes need, built once per app from the settings."""

from dataclasses import dataclass

from flowcdr.auth.throttle import Throttle
from flowcdr.auth.tokens import TokenSigner
from flowcdr.config import Settings
from flowcdr.store import keys
from flowcdr.store.control import ControlStore


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: ControlStore
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
            TokenSigner(key),
            Throttle(settings.login_failures, settings.login_window_seconds),
        )

    def stop(self) -> None:
        self.store.close()
