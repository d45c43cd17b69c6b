"""Which blobs to look at in a pass: the current and previous hour, never a whole container.

Flow-log blob names put the resource path first and the hour last
(``resourceId=/SUBSCRIPTIONS/.../y=2024/m=05/d=01/h=13/m=00/macAddress=.../PT1H.json``), and
VNet path shapes differ between Azure surfaces. So the resource "folders" are found by walking
the delimiter listing down to the first ``y=`` level (a few calls per resource, cached), and
then only the wanted hours below each are listed. Only ``y/m/d/h`` and ``macAddress`` are read
from a path; identity comes from the records.
"""

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flowcdr.collect.source import BlobInfo, BlobSource

_PATH = re.compile(
    r"y=(?P<y>\d{4})/m=(?P<mo>\d{2})/d=(?P<d>\d{2})/h=(?P<h>\d{2})/m=\d{2}/"
    r"macAddress=(?P<mac>[0-9A-Fa-f]{12})/PT1H\.json$"
)
MAX_DEPTH = 24  # resource paths are about 10 levels deep; a guard against odd layouts


@dataclass(frozen=True)
class BlobPath:
    hour: datetime
    mac: str


def parse_path(name: str) -> BlobPath | None:
    """The hour and MAC address of a flow-log blob name, or None for any other blob."""
    match = _PATH.search(name)
    if match is None:
        return None
    try:
        hour = datetime(
            int(match["y"]), int(match["mo"]), int(match["d"]), int(match["h"]), tzinfo=UTC
        )
    except ValueError:
        return None
    return BlobPath(hour, match["mac"].upper())


def hour_prefix(hour: datetime) -> str:
    return f"y={hour:%Y}/m={hour:%m}/d={hour:%d}/h={hour:%H}/"


def hours_to_read(now: datetime, backfill_hours: int) -> list[datetime]:
    """Oldest first: the backfill hours, the previous hour (late commits) and the current one."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [current - timedelta(hours=back) for back in range(backfill_hours + 1, -1, -1)]


class Discovery:
    """Finds flow-log blobs of given hours; resource folders are re-walked every ``refresh``."""

    def __init__(self, source: BlobSource, refresh_seconds: float = 600.0) -> None:
        self._source = source
        self._refresh = refresh_seconds
        self._roots: dict[str, tuple[float, list[str]]] = {}

    def blobs(self, container: str, hours: list[datetime]) -> Iterator[BlobInfo]:
        roots = self._resource_roots(container)
        for hour in hours:
            for root in roots:
                for blob in self._source.list_blobs(container, root + hour_prefix(hour)):
                    if parse_path(blob.name) is not None:
                        yield blob

    def _resource_roots(self, container: str) -> list[str]:
        found = self._roots.get(container)
        if found is not None and time.monotonic() - found[0] < self._refresh:
            return found[1]
        roots: list[str] = []
        level = [""]
        for _ in range(MAX_DEPTH):
            deeper: list[str] = []
            for prefix in level:
                children = self._source.list_prefixes(container, prefix)
                if any(child[len(prefix) :].startswith("y=") for child in children):
                    roots.append(prefix)
                deeper.extend(c for c in children if not c[len(prefix) :].startswith("y="))
            if not deeper:
                break
            level = deeper
        self._roots[container] = (time.monotonic(), roots)
        return roots
