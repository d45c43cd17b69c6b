"""The threat-intel lists a gateway matches flows against: every file in one folder.

``flowcdr intel update URL -o DATA_DIR/intel/NAME`` (or any tool) puts lists there; the gateway
notices a changed folder (names, sizes, modification times) when it next asks, and reloads
it whole, so a list replaced in place takes effect without a restart. A file that cannot be
read as a feed is left out with an error in the log naming it; the other lists still load.
"""

import datetime as dt
import logging
import threading
from pathlib import Path

from flowcdr.detect.feeds import IntelError, read_feed
from flowcdr.detect.intel import Intel

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


class IntelFolder:
    """The lists in ``path`` (created if missing), loaded again whenever the folder changes."""

    def __init__(self, path: Path, max_age: dt.timedelta | None) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._max_age = max_age
        self._lock = threading.Lock()
        self._signature: Signature | None = None
        self._intel = Intel()

    def current(self) -> Intel:
        """The loaded lists, reloaded first if the folder changed since the last call."""
        signature = self._scan()
        with self._lock:
            if signature != self._signature:
                self._intel = self._load(signature)
                self._signature = signature
            return self._intel

    def _scan(self) -> Signature:
        found = []
        for file in sorted(self._path.iterdir()):
            if file.is_file() and not file.name.startswith("."):
                status = file.stat()
                found.append((file.name, status.st_size, status.st_mtime_ns))
        return tuple(found)

    def _load(self, signature: Signature) -> Intel:
        lists = []
        for name, _, _ in signature:
            try:
                lists.append(read_feed(self._path / name, max_age=self._max_age))
            except IntelError as error:
                log.error("threat intel left out: %s", error)
        loaded = Intel(tuple(lists))
        log.info("threat intel: %d lists, %d ranges from %s", len(lists), len(loaded), self._path)
        return loaded
