"""The time range every portal view is about: last hour, day or week, or custom.

Presets are relative to now and travel as ``range=24h``, so a link opens the same window it
was made from, moved to the present; a custom range travels as ``start`` and ``end`` and is
fixed. Browsers' ``datetime-local`` inputs carry no zone: those times are UTC, as shown.
"""

import datetime as dt
from dataclasses import dataclass

PRESETS = {
    "1h": ("Last hour", dt.timedelta(hours=1)),
    "24h": ("Last 24 hours", dt.timedelta(days=1)),
    "7d": ("Last 7 days", dt.timedelta(days=7)),
}
CUSTOM = "custom"
DEFAULT = "24h"
_LOCAL = "%Y-%m-%dT%H:%M"


class RangeError(ValueError):
    """A custom range that cannot be read or is empty."""


@dataclass(frozen=True)
class TimeRange:
    key: str
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        if self.key in PRESETS:
            return PRESETS[self.key][0]
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"

    def params(self) -> dict[str, str]:
        """The query parameters that reopen this range."""
        if self.key in PRESETS:
            return {"range": self.key}
        return {"range": CUSTOM, "start": self.local(self.start), "end": self.local(self.end)}

    @staticmethod
    def local(moment: dt.datetime) -> str:
        """The value of a ``datetime-local`` input (UTC)."""
        return moment.astimezone(dt.UTC).strftime(_LOCAL)


def _parse(text: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise RangeError(f"{name} {text[:40]!r} is not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def time_range(
    key: str | None, start: str | None, end: str | None, now: dt.datetime | None = None
) -> TimeRange:
    """The range a request asks for; an unknown preset falls back to the default one."""
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    if key == CUSTOM or (key is None and start):
        if not start:
            raise RangeError("a custom range needs a start")
        first = _parse(start, "start")
        last = _parse(end, "end") if end else moment
        if first >= last:
            raise RangeError("the range must end after it starts")
        return TimeRange(CUSTOM, first, last)
    preset = key if key in PRESETS else DEFAULT
    return TimeRange(preset, moment - PRESETS[preset][1], moment)
