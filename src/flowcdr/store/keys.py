"""Secret keys: from settings, or generated once into files readable only by their owner."""

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr


def load_or_create(path: Path, configured: SecretStr | None, generate: bytes) -> bytes:
    """The configured key, else the key file's content, else ``generate`` written with mode 0600.

    O_EXCL makes two processes starting at once agree: the loser reads the winner's file.
    """
    if configured is not None:
        return configured.get_secret_value().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as file:
        file.write(generate)
    return generate


def new_jwt_key() -> bytes:
    return base64.urlsafe_b64encode(secrets.token_bytes(32))


def new_fernet_key() -> bytes:
    return Fernet.generate_key()
