"""Failed sign-ins counted in the control database, for gateways sharing a PostgreSQL one.

The in-memory ``flowcdr.auth.throttle.Throttle`` counts per process: N gateways would allow N
times ``login_failures`` per window. This one answers the same three calls from rows that every
gateway writes and reads: a failure is a row (key, time), a success deletes its username's rows,
and rows older than the window are pruned as failures come. Keys (``user:<name>``,
``client:<address>``) are stored as SHA-256 digests: fixed length, whatever a caller typed.
Times are the gateways' clocks (UTC), like the leases'.
"""

import datetime as dt
import hashlib
import math

import sqlalchemy as sa

from flowcdr.store.control import ControlStore
from flowcdr.store.schema import sign_in_failures as failures


class SharedThrottle:
    """The ``Throttle`` interface over the control database."""

    def __init__(self, store: ControlStore, limit: int, window_seconds: float) -> None:
        self._store = store
        self._limit = limit
        self._window = dt.timedelta(seconds=window_seconds)

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before any of ``keys`` may try again; 0 when none is throttled."""
        now = _now()
        query = (
            sa.select(failures.c.key, sa.func.count(), sa.func.min(failures.c.at))
            .where(failures.c.key.in_([_digest(k) for k in keys]))
            .where(failures.c.at > _iso(now - self._window))
            .group_by(failures.c.key)
        )
        with self._store.engine.connect() as c:
            counted = c.execute(query).all()
        wait = 0.0
        for _, number, oldest in counted:
            if number >= self._limit:
                ends = dt.datetime.fromisoformat(oldest) + self._window
                wait = max(wait, (ends - now).total_seconds())
        return math.ceil(wait)

    def fail(self, *keys: str) -> None:
        now = _now()
        digests = [_digest(k) for k in keys]
        with self._store.write() as c:
            c.execute(
                failures.delete().where(
                    failures.c.key.in_(digests), failures.c.at <= _iso(now - self._window)
                )
            )
            c.execute(failures.insert(), [{"key": d, "at": _iso(now)} for d in digests])

    def succeed(self, key: str) -> None:
        with self._store.write() as c:
            c.execute(failures.delete().where(failures.c.key == _digest(key)))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="microseconds")
