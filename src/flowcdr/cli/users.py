"""``flowcdr users``: accounts of the gateway (tenants are created with their first user)."""

import sys

import click

from flowcdr.auth.passwords import hash_password
from flowcdr.cli.options import with_settings
from flowcdr.config import Settings
from flowcdr.store.control import ControlStore, StoreError

ROLES = ("admin", "analyst")
MIN_PASSWORD = 12


@click.group("users")
def users() -> None:
    """Add, list and disable users."""


@users.command("add")
@click.argument("username")
@click.option("--tenant", required=True, help="Tenant name (created if new).")
@click.option("--role", type=click.Choice(ROLES), default="analyst", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_settings
def add(username: str, tenant: str, role: str, password_stdin: bool, settings: Settings) -> None:
    """Add USERNAME to a tenant; the password comes from a prompt or --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"the password needs at least {MIN_PASSWORD} characters")
    store = _open(settings)
    try:
        user = store.add_user(username, tenant, role, hash_password(password))
        store.audit(user.tenant_id, "cli", "user.add", target=username)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    finally:
        store.close()
    click.echo(f"added {role} {username!r} to tenant {tenant!r}")


@users.command("list")
@with_settings
def list_users(settings: Settings) -> None:
    """Users with their tenant, role and state."""
    store = _open(settings)
    try:
        for user in store.users():
            state = "disabled" if user.disabled else "active"
            click.echo(f"{user.tenant}\t{user.username}\t{user.role}\t{state}")
    finally:
        store.close()


@users.command("disable")
@click.argument("username")
@with_settings
def disable(username: str, settings: Settings) -> None:
    """Disable USERNAME: its sign-in tokens stop working at once."""
    store = _open(settings)
    try:
        store.set_disabled(username, True)
        user = store.user(username)
        store.audit(user.tenant_id if user else None, "cli", "user.disable", target=username)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    finally:
        store.close()
    click.echo(f"disabled {username!r}")


def _open(settings: Settings) -> ControlStore:
    try:
        return ControlStore.open(settings)
    except StoreError as error:  # e.g. a database_url that cannot be reached
        raise click.ClickException(str(error)) from None
