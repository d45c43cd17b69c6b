"""What a detection is: metadata, tunables, a query over one window of flows, and test cases.

A rule is data plus one small function. The catalogue (``flowcdr.detections``) holds one rule
per file; this module only defines the shape and checks it at import, so that a malformed rule
fails the moment its module is loaded, not when it first fires in production.

The query contract (see ``runner``): the rule's SQL reads the relation ``f``, the tenant's flows
of the evaluated time range (``STORED_SCHEMA`` columns) plus ``bucket``, the start of the rule's
tumbling window a flow falls in. It returns one row per finding per window, with the columns of
``HIT_COLUMNS`` (NULL where a column does not apply, e.g. ``dst_ip`` of a sweep) and any
further columns, which become the finding's evidence. Grouping by ``bucket`` is what makes a
streaming run over closed windows give exactly the rows an offline run over the whole data set
gives.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from flowcdr.detect.case import Case
    from flowcdr.detect.dialect import Sql

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
Status = Literal["stable", "test", "experimental"]
TunableValue = int | float | tuple[int, ...] | tuple[str, ...]

HIT_COLUMNS = (
    "bucket",
    "src_ip",
    "dst_ip",
    "dst_port",
    "protocol",
    "resource_id",
    "subscription_id",
    "first_seen",
    "last_seen",
    "flow_count",
    "bytes",
)
"""Columns every rule query returns; an optional ``severity`` column overrides the level."""

_TACTIC = re.compile(r"^TA\d{4}$")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
_MITIGATION = re.compile(r"^M\d{4}$")
_RULE_ID = re.compile(r"^(posture\.)?[a-z][a-z0-9_]*$")
"""A detection's id, or a posture check's (``posture.`` + id: the prefix is the finding's kind)."""

TACTICS = {
    "TA0043": "reconnaissance",
    "TA0001": "initial_access",
    "TA0006": "credential_access",
    "TA0007": "discovery",
    "TA0008": "lateral_movement",
    "TA0011": "command_and_control",
    "TA0010": "exfiltration",
    "TA0040": "impact",
}
"""ATT&CK enterprise tactics the catalogue uses, by id."""


@dataclass(frozen=True)
class Tunable:
    """A threshold a tenant may change; the value reaches SQL as a bound parameter only."""

    default: TunableValue
    doc: str


@dataclass(frozen=True)
class RuleMeta:
    """Sigma's vocabulary, with ATT&CK split into tactics and techniques as findings carry them.

    ``insight`` marks NSG-hygiene results: they are findings, but not attacks, and the quality
    evaluation leaves them out of precision. ``corroborating`` marks a generic match (an
    address on a threat-intel list) that is evidence for a more specific finding on the same
    addresses at the same time rather than an incident of its own: a Tor client whose relay is
    also listed is one finding, the Tor one, naming the list (``finding.fold_corroboration``).
    """

    id: str
    title: str
    level: Severity
    description: str
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]
    false_positives: tuple[str, ...]
    runbook: str
    references: tuple[str, ...] = ()
    status: Status = "experimental"
    mitigations: tuple[str, ...] = ()
    requires_config: bool = False
    insight: bool = False
    corroborating: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not _RULE_ID.match(self.id):
            problems.append(f"id {self.id!r} is not a lower-case identifier")
        if self.level not in SEVERITIES:
            problems.append(f"level {self.level!r} is not one of {SEVERITIES}")
        problems += [f"unknown tactic {t!r}" for t in self.tactics if t not in TACTICS]
        problems += [
            f"malformed technique {t!r}" for t in self.techniques if not _TECHNIQUE.match(t)
        ]
        problems += [
            f"malformed mitigation {m!r}" for m in self.mitigations if not _MITIGATION.match(m)
        ]
        if not (self.tactics or self.mitigations):
            problems.append("needs ATT&CK tactics, or mitigations for a hygiene insight")
        if not (self.title and self.description and self.runbook and self.false_positives):
            problems.append("title, description, runbook and false_positives are required")
        if problems:
            raise ValueError(f"rule {self.id!r}: " + "; ".join(problems))


Query = Callable[["Sql"], str]
Row = dict[str, Any]
Refine = Callable[[list[Row], Mapping[str, TunableValue]], list[Row]]
"""Python over the query's aggregated rows (e.g. beacon scoring): returns the rows that fire."""


@dataclass(frozen=True)
class Rule:
    """A detection: metadata, its window, its SQL, the columns naming one finding, its cases.

    ``window_seconds`` is the tumbling window the rule counts over. ``dedup`` names the output
    columns that identify "the same thing happening again": a hit whose key matches a finding
    that was still active ``dedup_seconds`` before extends that finding instead of opening one.
    ``refine``, when given, sees the query's rows before they become hits.
    """

    meta: RuleMeta
    window_seconds: int
    query: Query
    dedup: tuple[str, ...]
    cases: tuple["Case", ...]
    tunables: Mapping[str, Tunable] = field(default_factory=dict)
    dedup_seconds: int = 24 * 3600
    refine: Refine | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.window_seconds <= 0 or 86_400 % self.window_seconds:
            problems.append(f"window {self.window_seconds}s must divide a day")
        if not self.dedup or "bucket" in self.dedup:
            problems.append("dedup must name output columns other than bucket")
        positives = [c for c in self.cases if c.expect]
        if not positives or len(positives) == len(self.cases):
            problems.append("needs at least one positive and one negative case")
        if problems:
            raise ValueError(f"rule {self.meta.id!r}: " + "; ".join(problems))

    @property
    def id(self) -> str:
        return self.meta.id

    def settings(self, overrides: Mapping[str, TunableValue]) -> dict[str, TunableValue]:
        """Tunable values: defaults, then a tenant's overrides, each checked against its type."""
        unknown = set(overrides) - set(self.tunables)
        if unknown:
            raise ValueError(f"rule {self.id!r} has no tunable {sorted(unknown)[0]!r}")
        values = {name: tunable.default for name, tunable in self.tunables.items()}
        for name, value in overrides.items():
            values[name] = _coerce(self.id, name, self.tunables[name].default, value)
        return values


def _coerce(rule: str, name: str, default: TunableValue, value: object) -> TunableValue:
    where = f"rule {rule!r} tunable {name!r}"
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        kind = type(default[0]) if default else int
        if not all(isinstance(item, kind) and not isinstance(item, bool) for item in value):
            raise ValueError(f"{where}: expected a list of {kind.__name__}, got {value!r}")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    if isinstance(default, int) and not isinstance(value, int):
        raise ValueError(f"{where}: expected an integer, got {value!r}")
    if value < 0:  # counts, bytes, seconds and scores: a negative one is always a typo
        raise ValueError(f"{where}: expected 0 or more, got {value!r}")
    return type(default)(value)
