"""Leases on SQLite and PostgreSQL: one holder at a time, renewal, expiry, takeover, release."""

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowcdr.config import Settings
from flowcdr.store.control import ControlStore
from flowcdr.store.lease import Lease, holder_name
from flowcdr.store.schema import leases

T0 = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
SECONDS = 60.0


@pytest.fixture
def stores(tmp_path: Path, database_url: str | None) -> Iterator[list[ControlStore]]:
    """Two gateways' control stores on one database (each its own engine, pool and lock)."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    opened = [ControlStore.open(settings), ControlStore.open(settings)]
    yield opened
    for store in opened:
        store.close()


def acquired_at(store: ControlStore, name: str) -> str:
    with store.engine.connect() as c:
        return str(c.execute(sa.select(leases.c.acquired_at).where(leases.c.name == name)).scalar())


def test_one_holder_until_it_expires_then_a_takeover(stores: list[ControlStore]) -> None:
    a = Lease(stores[0], "detection", "gateway-a", SECONDS)
    b = Lease(stores[1], "detection", "gateway-b", SECONDS)
    assert a.acquire(T0)
    assert not b.acquire(T0)
    assert b.current(T0) == "gateway-a"
    # Renewal keeps the lease (and when it was taken) for another full length.
    later = T0 + dt.timedelta(seconds=50)
    assert a.acquire(later)
    assert acquired_at(stores[0], "detection") == T0.isoformat(timespec="microseconds")
    assert not b.acquire(later + dt.timedelta(seconds=SECONDS - 1))
    # The holder went quiet: once the renewed lease ran out, the other takes it over.
    expired = later + dt.timedelta(seconds=SECONDS + 1)
    assert a.current(expired) is None
    assert b.acquire(expired)
    assert acquired_at(stores[0], "detection") == expired.isoformat(timespec="microseconds")
    assert not a.acquire(expired)  # the old holder coming back finds it taken
    assert a.current(expired) == "gateway-b"


def test_release_hands_over_at_once_and_only_by_the_holder(stores: list[ControlStore]) -> None:
    a = Lease(stores[0], "detection", "gateway-a", SECONDS)
    b = Lease(stores[1], "detection", "gateway-b", SECONDS)
    other = Lease(stores[1], "inventory", "gateway-b", SECONDS)
    assert a.acquire(T0)
    assert other.acquire(T0)  # leases of other names are independent
    b.release()  # not b's to give back
    assert not b.acquire(T0)
    a.release()
    assert b.acquire(T0)
    assert other.current(T0) == "gateway-b"


def race(holders: list[Lease], when: dt.datetime) -> list[str]:
    """Every holder tries to acquire at the same moment, each on its own thread: who won."""
    barrier = threading.Barrier(len(holders))
    won: list[str] = []
    failures: list[BaseException] = []

    def attempt(lease: Lease) -> None:
        barrier.wait()
        try:
            if lease.acquire(when):
                won.append(lease.holder)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=attempt, args=(lease,)) for lease in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return won


def test_racing_gateways_get_one_lease(stores: list[ControlStore]) -> None:
    """Eight holders on two stores (two engines) race for a new lease, then for an expired one:
    each round exactly one wins, whichever way the database orders them."""
    for when in (T0, T0 + dt.timedelta(seconds=2 * SECONDS)):
        holders = [Lease(stores[i % 2], "race", f"{when:%H%M}-{i}", SECONDS) for i in range(8)]
        won = race(holders, when)
        assert len(won) == 1, won
        assert holders[0].current(when) == won[0]


def test_holder_names_differ_and_lengths_must_be_positive(stores: list[ControlStore]) -> None:
    assert holder_name() != holder_name()
    with pytest.raises(ValueError, match="'detection'"):
        Lease(stores[0], "detection", "x", 0)
