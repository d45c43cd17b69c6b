"""``flowcdr keys rotate``: a new encryption key for the secrets at rest, none of them lost."""

import os
from pathlib import Path

import click
from cryptography.fernet import Fernet

from flowcdr.cli.options import with_settings
from flowcdr.config import Settings
from flowcdr.store import keys as key_files
from flowcdr.store.control import ControlStore, StoreError
from flowcdr.store.rotate import rotate_secrets


@click.group("keys")
def keys() -> None:
    """Manage the keys of the data dir."""


@keys.command("rotate")
@with_settings
def rotate(settings: Settings) -> None:
    """Re-encrypt every stored secret (connection strings, client secrets...) with a new key.

    Stop the gateways first, and start them again after. With the key file of the data dir
    (the default), the new key replaces it. With FLOWCDR_ENCRYPTION_KEY set, the new key is
    printed alone on stdout: set it on every gateway sharing the database before restarting.
    """
    try:
        store = ControlStore.open(settings)  # refuses a key that cannot read what is stored
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    path = settings.data_dir / "encryption.key"
    try:
        old = key_files.load_or_create(path, settings.encryption_key, key_files.new_fernet_key())
        new = key_files.new_fernet_key()
        pending = (
            None
            if settings.encryption_key
            else _write_private(path.with_name(".encryption.key.new"), new)
        )
        count = rotate_secrets(store.engine, Fernet(old), Fernet(new))
    finally:
        store.close()
    if pending is None:
        click.echo(
            f"re-encrypted {count} secrets; set FLOWCDR_ENCRYPTION_KEY to the key below", err=True
        )
        click.echo(new.decode())
        return
    os.replace(pending, path)
    click.echo(f"re-encrypted {count} secrets; the new key is in {path}; restart the gateways")


def _write_private(path: Path, key: bytes) -> Path:
    """The new key on disk (mode 0600) before any secret depends on it."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key)
        file.flush()
        os.fsync(file.fileno())
    return path
