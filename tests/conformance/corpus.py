"""Where the third-party conformance corpus lives, and plain-JSON readers for its flow logs.

The corpus (``shared/conformance/``, see its SOURCES.md) sits beside the repository, not in
it: the Elastic files are ELv2 and the Microsoft ones CC BY 4.0, so they are not copied in.

The readers below use only the json module. Expected counts and values are taken from the
files through them, so a test never checks the parser against its own output.
"""

import datetime as dt
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from flowcdr.formats import ParseResult

CORPUS_DIR: Final = Path(__file__).resolve().parents[3] / "shared" / "conformance"
"""``/work/main/tests/conformance`` -> ``/work/shared/conformance``; CI keeps the same layout."""

FUNCTIONAL_ENV: Final = "FLOWCDR_FUNCTIONAL_TESTS"
"""Set to ``1`` (CI does) to turn a missing corpus into a failure instead of a skip."""

MISSING: Final = "<corpus missing>"
"""Parameter used when the corpus cannot be listed, so the ``corpus_dir`` fixture still runs
and decides between skip and fail (an empty parameter list would always skip)."""

STATE_LETTERS: Final = {"B": "begin", "C": "continue", "E": "end", "D": "deny"}
"""Flow-state letters (NSG v2 field 8, VNet field 7) in our vocabulary."""

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Row = dict[str, Any]
"""One row of ``ParseResult.table.to_pylist()``."""


def corpus_files(suffixes: tuple[str, ...], keep: Callable[[str], bool]) -> list[str]:
    """Corpus-relative POSIX paths of the files with one of ``suffixes`` that ``keep`` accepts.

    For parametrize, so it runs at collection: without the corpus it returns ``[MISSING]``.
    """
    if not CORPUS_DIR.is_dir():
        return [MISSING]
    names = (
        p.relative_to(CORPUS_DIR).as_posix()
        for p in CORPUS_DIR.rglob("*")
        if p.is_file() and p.suffix in suffixes
    )
    return sorted(name for name in names if keep(name))


def load_json(path: Path) -> Any:
    """The decoded JSON of a corpus file."""
    return decode_json(path.read_bytes())


def decode_json(data: bytes) -> Any:
    """Decoded JSON text (a whole file, or one line of an Elastic pipeline-test input)."""
    return json.loads(data)


def rows(result: ParseResult) -> list[Row]:
    """Our rows as Python values; dictionary columns come back as plain strings."""
    table: list[Row] = result.table.to_pylist()
    return table


def envelope_records(document: Any) -> list[Any]:
    """The records of a blob, or the document itself when it is a single record."""
    if isinstance(document, dict) and "records" in document:
        return list(document["records"])
    return [document]


def is_vnet(record: dict[str, Any]) -> bool:
    """VNet records nest tuples under ``flowRecords``; NSG ones under ``properties``."""
    return "flowRecords" in record


@dataclass(frozen=True)
class RawTuple:
    """One tuple string as written in the file, with the names that enclose it."""

    rule: str
    acl_id: str | None
    mac: str
    fields: list[str]
    vnet: bool

    @property
    def state_letter(self) -> str | None:
        """B/C/E/D, or None for an NSG v1 tuple (8 fields, no state)."""
        index = 7 if self.vnet else 8
        return self.fields[index] if len(self.fields) > index else None

    @property
    def counters(self) -> list[int | None]:
        """Packets/bytes src->dst then dst->src; an empty field is None (not measured)."""
        return [int(f) if f else None for f in self.fields[9:13]] if len(self.fields) > 8 else []

    @property
    def time(self) -> dt.datetime:
        """NSG tuples count seconds, VNet tuples milliseconds."""
        unit = dt.timedelta(milliseconds=1) if self.vnet else dt.timedelta(seconds=1)
        return EPOCH + int(self.fields[0]) * unit

    def identity(self) -> tuple[object, ...]:
        """The values every row must carry verbatim or canonicalised, in our column order."""
        return (
            self.time,
            self.acl_id,
            self.rule,
            self.mac.upper(),
            str(ipaddress.ip_address(self.fields[1])),
            str(ipaddress.ip_address(self.fields[2])),
            int(self.fields[3]),
            int(self.fields[4]),
        )


IDENTITY_COLUMNS: Final = (
    "time",
    "acl_id",
    "rule",
    "mac",
    "src_ip",
    "dst_ip",
    "src_port",
    "dst_port",
)
"""Our columns matching ``RawTuple.identity``."""


def raw_tuples(record: dict[str, Any]) -> list[RawTuple]:
    """Every tuple of one record in file order (rule/ACL, then MAC/group, then tuple)."""
    if is_vnet(record):
        return [
            RawTuple(group["rule"], acl["aclID"], record["macAddress"], text.split(","), True)
            for acl in record["flowRecords"]["flows"]
            for group in acl["flowGroups"]
            for text in group["flowTuples"]
        ]
    return [
        RawTuple(rule["rule"], None, nic["mac"], text.split(","), False)
        for rule in record["properties"]["flows"]
        for nic in rule["flows"]
        for text in nic["flowTuples"]
    ]


def identities(table_rows: list[Row]) -> list[tuple[object, ...]]:
    """Our rows projected on ``IDENTITY_COLUMNS``, to compare with ``RawTuple.identity``."""
    return [tuple(row[c] for c in IDENTITY_COLUMNS) for row in table_rows]
