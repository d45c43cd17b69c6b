"""Sign-in throttling: too many failures for one username or one client address -> wait.

Counted in memory per process over a sliding window; a success clears the username's count.
Gateways sharing a PostgreSQL control database count together instead
(``flowcdr.store.signins.SharedThrottle``, the same three calls).
"""

import math
import threading
import time
from collections import defaultdict, deque


class Throttle:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before any of ``keys`` may try again; 0 when none is throttled."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._prune(key, now)
                if len(failures) >= self._limit:
                    wait = max(wait, failures[0] + self._window - now)
        return math.ceil(wait)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._prune(key, now).append(now)

    def succeed(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        return failures
