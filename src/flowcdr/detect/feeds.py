"""Reading threat-intel feed files in the formats public feeds publish, told apart by content.

- Plain lists: one IP or CIDR per line, ``#`` or ``;`` comments, anything after the first
  token ignored (FireHOL ``.netset``, Feodo ``ipblocklist.txt``, Tor ``torbulkexitlist``,
  Emerging Threats, blocklist.de, Spamhaus legacy ``drop.txt`` with its ``; SBLnnn``).
- Tor ``exit-addresses``: ``ExitAddress IP DATE`` lines; the date is when it was last seen.
- CSV with a header naming an address column (``ip``, ``ip_address``, ``dst_ip``, ``cidr``...),
  the header possibly commented out (abuse.ch Feodo ``ipblocklist.csv``); ``last_online`` or
  ``last_seen`` give the age.
- NDJSON with a ``cidr`` per line (Spamhaus ``drop_v4.json``, ``drop_v6.json``); the metadata
  line's ``timestamp`` dates every entry, so a DROP file not refreshed in time expires whole.

A list's name is the file's stem (``feodo.csv`` -> ``feodo``), and that is what a matching
flow's ``intel_match`` says.
"""

import csv
import datetime as dt
import io
import json
from pathlib import Path

from flowcdr.detect.intel import IntelList, build_list
from flowcdr.errors import FlowcdrError

_ADDRESS_COLUMNS = ("ip", "ip_address", "ipaddress", "dst_ip", "address", "cidr", "network")
_SEEN_COLUMNS = ("last_online", "last_seen", "last_seen_utc", "lastseen")
_COMMENTS = ("#", ";", "//")


class IntelError(FlowcdrError):
    """A feed file that cannot be read or is in no format we know."""


Entries = tuple[list[str], list[dt.datetime | None]]


def read_feed(
    path: Path, *, as_of: dt.datetime | None = None, max_age: dt.timedelta | None = None
) -> IntelList:
    """Load one feed file; raises ``IntelError`` naming the file when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise IntelError(f"{path}: cannot read threat intel: {error}") from error
    entries, seen = parse_feed(text, str(path))
    feed = build_list(path.stem, entries, seen, as_of=as_of, max_age=max_age)
    if entries and feed.stats.invalid == len(entries):
        raise IntelError(
            f"{path}: no valid address in {len(entries)} entries, e.g. {feed.stats.samples[0]}"
        )
    return feed


def parse_feed(text: str, source: str) -> Entries:
    """Entries and their last-seen times from a feed's text, whatever its format."""
    lines = text.splitlines()
    data = [
        line.strip() for line in lines if line.strip() and not line.lstrip().startswith(_COMMENTS)
    ]
    if not data:
        return [], []
    if data[0].startswith("{"):
        return _ndjson(data, source)
    header = _csv_header(lines)
    if header is not None:
        return _csv(lines, header, source)
    if any(line.startswith("ExitAddress ") for line in data[:50]):
        return _exit_addresses(data)
    entries = [line.replace(";", " ").replace(",", " ").split()[0] for line in data]
    return entries, [None] * len(entries)


def _ndjson(lines: list[str], source: str) -> Entries:
    entries: list[str] = []
    stamp: dt.datetime | None = None
    for number, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise IntelError(f"{source}: line {number} is not JSON: {error.msg}") from None
        if not isinstance(item, dict):
            raise IntelError(f"{source}: line {number} is not a JSON object")
        if item.get("type") == "metadata" and isinstance(item.get("timestamp"), int | float):
            stamp = dt.datetime.fromtimestamp(item["timestamp"], dt.UTC)
        elif isinstance(item.get("cidr"), str):
            entries.append(item["cidr"])
    return entries, [stamp] * len(entries)


def _csv_header(lines: list[str]) -> list[str] | None:
    """The header of a CSV feed: the first line that names an address column, commented or
    not, when it comes before the first data line."""
    for line in lines:
        stripped = line.strip().lstrip("#").strip()
        if "," not in stripped:
            if line.strip() and not line.lstrip().startswith(_COMMENTS):
                return None
            continue
        names = [name.strip().strip('"').lower() for name in next(csv.reader([stripped]))]
        if any(name in _ADDRESS_COLUMNS for name in names):
            return names
        if not line.lstrip().startswith(_COMMENTS):
            return None
    return None


def _csv(lines: list[str], header: list[str], source: str) -> Entries:
    address = next(header.index(name) for name in _ADDRESS_COLUMNS if name in header)
    seen = next((header.index(name) for name in _SEEN_COLUMNS if name in header), None)
    body = [
        line for line in lines
        if line.strip() and not line.lstrip().startswith(_COMMENTS)
        and [c.strip().strip('"').lower() for c in line.split(",")] != header
    ]  # fmt: skip
    entries: list[str] = []
    dates: list[dt.datetime | None] = []
    for number, row in enumerate(csv.reader(io.StringIO("\n".join(body))), 1):
        if len(row) <= address:
            raise IntelError(f"{source}: data row {number} has {len(row)} fields, no address")
        entries.append(row[address])
        dates.append(_date(row[seen]) if seen is not None and seen < len(row) else None)
    return entries, dates


def _exit_addresses(lines: list[str]) -> Entries:
    entries: list[str] = []
    dates: list[dt.datetime | None] = []
    for line in lines:
        words = line.split(maxsplit=2)
        if words[0] == "ExitAddress" and len(words) >= 2:
            entries.append(words[1])
            dates.append(_date(words[2]) if len(words) == 3 else None)
    return entries, dates


def _date(text: str) -> dt.datetime | None:
    """A feed's date or time, as UTC; None when empty or unreadable (never expires)."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
