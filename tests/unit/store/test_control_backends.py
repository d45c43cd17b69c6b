"""What differs between SQLite and PostgreSQL, made to behave the same in the control store."""

import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import SecretStr

from flowcdr.config import Settings
from flowcdr.store.control import Bucket, ConflictError, ControlStore, StoreError, connect
from flowcdr.store.schema import sign_in_failures
from flowcdr.store.signins import SharedThrottle


def test_audit_fields_longer_than_their_columns_are_clipped(
    tmp_path: Path, database_url: str | None
) -> None:
    """A failed sign-in audits the username as typed: PostgreSQL would refuse 1000 characters
    in a 128-character column (and the sign-in would answer 500); both keep the first 128."""
    store = ControlStore.open(Settings(data_dir=tmp_path, database_url=database_url))
    tenant_id = store.add_user("alice", "contoso", "admin", "x").tenant_id
    store.audit(tenant_id, "m" * 1000, "sign_in", target="t" * 1000, outcome="denied")
    (entry,) = store.audit_entries(tenant_id, 10)
    store.close()
    assert (entry.actor, entry.target) == ("m" * 128, "t" * 128)


def both_at_once(*calls: Callable[[], object]) -> list[BaseException | None]:
    """Run the calls on threads released together; what each raised (None: it succeeded)."""
    barrier = threading.Barrier(len(calls))
    raised: list[BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            calls[index]()
        except BaseException as error:
            raised[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return raised


def test_two_gateways_adding_the_same_user_at_once(
    tmp_path: Path, database_url: str | None
) -> None:
    """Two stores (two gateways) add the same new user of a new tenant together: one succeeds,
    the other gets a conflict (not a database error), and there is one user and one tenant."""
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    first, second = ControlStore.open(settings), ControlStore.open(settings)
    for round_ in range(5):
        name, tenant = f"user{round_}", f"tenant{round_}"
        raised = both_at_once(
            *(partial(store.add_user, name, tenant, "admin", "x") for store in (first, second))
        )
        assert sorted(map(type, raised), key=str) == sorted([type(None), ConflictError], key=str)
    users = first.users()
    first.close()
    second.close()
    assert sorted(u.username for u in users) == [f"user{i}" for i in range(5)]
    assert len({u.tenant_id for u in users}) == 5


def test_an_unreachable_database_is_named_with_its_password_masked(tmp_path: Path) -> None:
    url = "postgresql://flowcdr:hunter22@127.0.0.1:9/flowcdr"  # discard port: refused
    with pytest.raises(StoreError) as raised:
        ControlStore.open(Settings(data_dir=tmp_path, database_url=url))
    message = str(raised.value)
    assert message.startswith("database_url: cannot open the control database at")
    assert "postgresql://flowcdr:****@127.0.0.1:9/flowcdr" in message
    assert "hunter22" not in message


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("mysql://u:p@localhost/flowcdr", "'mysql' is not supported"),
        ("postgresql+asyncpg://u@localhost/flowcdr", r"'postgresql\+asyncpg' is not supported"),
        ("not a url", "not a database URL"),
    ],
)
def test_other_databases_and_drivers_are_refused_by_name(url: str, error: str) -> None:
    with pytest.raises(StoreError, match=error):
        connect(url)


def test_a_bare_postgresql_url_means_psycopg_3() -> None:
    for url in ("postgresql://u@localhost/db", "postgres://u@localhost/db"):
        engine = connect(url)
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        engine.dispose()


def test_a_gateway_with_another_encryption_key_refuses_to_start(
    tmp_path: Path, database_url: str | None
) -> None:
    """A second gateway on the same database with a key of its own (its data dir's) would
    start and then fail on every stored secret: it is stopped at once, naming the setting."""
    first = ControlStore.open(Settings(data_dir=tmp_path / "a", database_url=database_url))
    shared_url = database_url or str(first.engine.url)
    tenant_id = first.add_user("alice", "contoso", "admin", "x").tenant_id
    first.create_config(tenant_id, "azure-one", "sub", [Bucket("acct", "eastus", "secret")])
    first.close()
    other_key = SecretStr(Fernet.generate_key().decode())
    with pytest.raises(StoreError, match=r"^encryption_key: this key cannot decrypt"):
        ControlStore.open(
            Settings(data_dir=tmp_path / "b", database_url=shared_url, encryption_key=other_key)
        )
    again = ControlStore.open(Settings(data_dir=tmp_path / "a", database_url=shared_url))
    assert again.configs(tenant_id)[0].buckets[0].connection_string == "secret"
    again.close()


def test_the_shared_sign_in_count_has_a_window_and_bounded_keys(
    tmp_path: Path, database_url: str | None
) -> None:
    store = ControlStore.open(Settings(data_dir=tmp_path, database_url=database_url))
    throttle = SharedThrottle(store, limit=2, window_seconds=1)
    long_name = "user:" + "x" * 5000  # as typed into a sign-in form
    throttle.fail(long_name, "client:10.0.0.1")
    assert throttle.retry_after(long_name) == 0  # one failure of two
    throttle.fail(long_name)
    assert throttle.retry_after("client:10.0.0.1", long_name) == 1
    assert throttle.retry_after("client:10.0.0.1") == 0
    time.sleep(1.1)  # the window passes
    assert throttle.retry_after(long_name) == 0
    throttle.fail(long_name)  # and prunes what the window left behind
    with store.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(sign_in_failures)).scalar() == 2
    store.close()
