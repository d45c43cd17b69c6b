"""Running rules: offline over a whole data set, or streaming over windows as flows arrive.

Both read the store's ``flows`` table (``flowcdr.store.flows``) and evaluate a rule over whole
windows of its size, aligned to the Unix epoch, so a window is the same set of flows whichever
way it is reached. Offline, one query per rule covers every window of the data set. Streaming,
``StreamRunner.run_window`` evaluates each rule's windows that closed before the watermark,
and re-evaluates the ones still within ``lateness`` of it, because flows arrive minutes late
and out of order; the ``FindingBook`` replaces a re-evaluated window's hit, so after the last
late flow the findings equal the offline ones.
"""

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from flowcdr.detect.dialect import ClickSql, DuckSql, render
from flowcdr.detect.finding import FindingBook, Hit, iso
from flowcdr.detect.rule import HIT_COLUMNS, SEVERITIES, Rule, TunableValue
from flowcdr.store.clickhouse import Connection

Flows = duckdb.DuckDBPyConnection | Connection
"""Where rules read ``flows``: DuckDB, or the ClickHouse flow store's connection."""

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def rule_hits(
    db: Flows,
    rule: Rule,
    values: Mapping[str, TunableValue],
    *,
    tenant_id: str,
    start: dt.datetime,
    end: dt.datetime,
) -> list[Hit]:
    """The rule's hits in the windows of ``[start, end)`` (both on window boundaries)."""
    bounds = {"tenant_id": tenant_id, "window_start": start, "window_end": end}
    if isinstance(db, Connection):
        sql, builder = render(rule, ClickSql, values)
        table = db.query(sql, builder.bind(bounds))
        # ClickHouse names a column of ``t.*`` that a join repeats ``t.name``; DuckDB ``name``.
        rows = table.rename_columns([n.rsplit(".", 1)[-1] for n in table.column_names]).to_pylist()
    else:
        sql, builder = render(rule, DuckSql, values)
        cursor = db.execute(sql, builder.bind(bounds))
        names = [column[0] for column in cursor.description or ()]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if rule.refine is not None:
        rows = rule.refine(rows, values)
    # Engines return rows in any order, and the first hit of a key is the finding's first
    # evidence: an order of the values themselves makes findings the same on every engine.
    rows.sort(key=lambda row: json.dumps(row, sort_keys=True, default=str))
    window = dt.timedelta(seconds=rule.window_seconds)
    return [_hit(rule, row, window) for row in rows]


def _hit(rule: Rule, row: dict[str, Any], window: dt.timedelta) -> Hit:
    severity = row.pop("severity", None) or rule.meta.level
    if severity not in SEVERITIES:
        raise ValueError(f"rule {rule.id!r} returned severity {severity!r}")
    key = tuple(row[name] for name in rule.dedup)
    core = {name: row.pop(name) for name in HIT_COLUMNS}
    bucket: dt.datetime = core.pop("bucket")
    for name in ("dst_port", "protocol", "flow_count", "bytes"):
        core[name] = None if core[name] is None else int(core[name])
    return Hit(
        rule_id=rule.id,
        bucket=bucket,
        bucket_end=bucket + window,
        key=key,
        severity=severity,
        evidence={name: _plain(value) for name, value in row.items()},
        **core,
    )


def _plain(value: Any) -> Any:
    """Evidence values as JSON-ready data."""
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def floor_to(moment: dt.datetime, seconds: int) -> dt.datetime:
    """The start of the epoch-aligned window of ``seconds`` that holds ``moment``."""
    offset = (moment - EPOCH) // dt.timedelta(seconds=seconds)
    return EPOCH + offset * dt.timedelta(seconds=seconds)


def time_span(db: Flows, tenant_id: str) -> tuple[dt.datetime, dt.datetime] | None:
    if isinstance(db, Connection):
        found = db.rows(
            "SELECT min(time), max(time), count() FROM flows WHERE tenant_id = {t:String}",
            {"t": tenant_id},
        )
        row = found[0] if found and found[0][2] else None
    else:
        row = db.execute(
            "SELECT min(time), max(time) FROM flows WHERE tenant_id = ?", [tenant_id]
        ).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def detect_offline(
    db: Flows,
    rules: Mapping[str, Rule],
    enabled: Mapping[str, Mapping[str, TunableValue]],
    tenant_id: str,
) -> FindingBook:
    """Every enabled rule over every window of the tenant's flows."""
    book = FindingBook(dict(rules), tenant_id)
    span = time_span(db, tenant_id)
    if span is None:
        return book
    for rule_id, values in enabled.items():
        rule = rules[rule_id]
        start = floor_to(span[0], rule.window_seconds)
        end = floor_to(span[1], rule.window_seconds) + dt.timedelta(seconds=rule.window_seconds)
        book.add(rule_hits(db, rule, values, tenant_id=tenant_id, start=start, end=end))
    return book


@dataclass
class StreamRunner:
    """Continuous evaluation for one tenant: call ``run_window`` as the watermark advances.

    The contract with the caller is the allowed ``lateness``: once the watermark has passed
    ``t + lateness``, no flow with time ``t`` or earlier will still arrive. Each call evaluates
    every window that has closed (end <= watermark) but was not yet evaluated at a watermark
    ``lateness`` past its end, so a window is reported as soon as it closes, and again as late
    flows may still change it; once final it is never read again. ``start`` is where
    evaluation begins (rounded down to each rule's window).
    """

    rules: Mapping[str, Rule]
    enabled: Mapping[str, Mapping[str, TunableValue]]
    tenant_id: str
    start: dt.datetime
    lateness: dt.timedelta = dt.timedelta(minutes=10)
    book: FindingBook = field(init=False)
    _final: dict[str, dt.datetime] = field(init=False, default_factory=dict)
    """Per rule: windows ending at or before this are final."""

    def __post_init__(self) -> None:
        self.book = FindingBook(dict(self.rules), self.tenant_id)
        for rule_id in self.enabled:
            self._final[rule_id] = floor_to(self.start, self.rules[rule_id].window_seconds)

    def run_window(self, db: Flows, window_end: dt.datetime) -> list[Hit]:
        """Evaluate what the watermark ``window_end`` closed; returns the hits of the windows
        evaluated now (the book holds the merged findings)."""
        found: list[Hit] = []
        for rule_id, values in self.enabled.items():
            rule = self.rules[rule_id]
            begin = self._final[rule_id]
            closed = floor_to(window_end, rule.window_seconds)
            if closed <= begin:
                continue
            hits = rule_hits(db, rule, values, tenant_id=self.tenant_id, start=begin, end=closed)
            self.book.replace(rule_id, begin, closed, hits)
            found += hits
            final = floor_to(window_end - self.lateness, rule.window_seconds)
            self._final[rule_id] = max(begin, min(final, closed))
        return found
