"""Leases in the control database: work that one gateway at a time may do.

Several gateways can share one control database (PostgreSQL). Scheduled work over shared data,
such as detection passes over one flow store, must then run in one of them only, or two would
write the same findings at once. A lease is a row (name, holder, expires_at):

- ``acquire`` takes the lease when nobody holds it, when its holder let it expire, or renews it
  when the caller already holds it. One conditional UPDATE does it (``WHERE holder = me OR
  expires_at < now``), or an INSERT when there is no row yet. The database decides between
  gateways racing for it: PostgreSQL re-checks the UPDATE's condition on the row it locked, so
  the second of two racers finds the row taken; an INSERT racing another hits the primary key.
  SQLite has one writer at a time. Either way at most one caller gets True.
- ``release`` gives it back at once (a clean shutdown), so another gateway need not wait for
  the expiry.

Times are the holders' clocks (UTC, ISO 8601 text like every time in the control database):
gateways must agree on the time to well within the lease's length (NTP does).
"""

import datetime as dt
import os
import socket
import uuid

import sqlalchemy as sa

from flowcdr.store.control import ConflictError, ControlStore
from flowcdr.store.schema import leases


def holder_name() -> str:
    """Who this process is, in the lease table and in logs: host, process id, and a random
    suffix (a restarted process with a reused id is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """One named lease as seen by one holder."""

    def __init__(self, store: ControlStore, name: str, holder: str, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"lease {name!r}: its length must be positive, not {seconds}")
        self.store = store
        self.name = name
        self.holder = holder
        self.seconds = seconds

    def acquire(self, now: dt.datetime | None = None) -> bool:
        """Take or renew the lease until ``now`` + its length; False while another holds it."""
        now = now or dt.datetime.now(dt.UTC)
        stamp, until = _iso(now), _iso(now + dt.timedelta(seconds=self.seconds))
        mine = leases.c.holder == self.holder
        try:
            with self.store.write() as c:
                taken = c.execute(
                    leases.update()
                    .where(leases.c.name == self.name, sa.or_(mine, leases.c.expires_at < stamp))
                    .values(
                        holder=self.holder,
                        acquired_at=sa.case((mine, leases.c.acquired_at), else_=stamp),
                        expires_at=until,
                    )
                ).rowcount
                if taken:
                    return True
                # Held by another (the usual answer while waiting), or never taken: only then
                # an INSERT, so waiting gateways do not fill the server's log with key errors.
                if c.execute(sa.select(leases.c.name).where(leases.c.name == self.name)).first():
                    return False
                c.execute(
                    leases.insert().values(
                        name=self.name, holder=self.holder, acquired_at=stamp, expires_at=until
                    )
                )
        except ConflictError:  # another gateway inserted it first
            return False
        return True

    def release(self) -> None:
        """Give the lease back if this holder has it (another may have taken it over)."""
        with self.store.write() as c:
            c.execute(
                leases.delete().where(leases.c.name == self.name, leases.c.holder == self.holder)
            )

    def current(self, now: dt.datetime | None = None) -> str | None:
        """Who holds the lease now (None when nobody does, or its holder let it expire)."""
        stamp = _iso(now or dt.datetime.now(dt.UTC))
        query = sa.select(leases.c.holder).where(
            leases.c.name == self.name, leases.c.expires_at >= stamp
        )
        with self.store.engine.connect() as c:
            found = c.execute(query).scalar()
        return None if found is None else str(found)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
