"""Which detections each tenant runs, and with which tunables, kept in the control database.

A tenant that never chose anything runs the catalogue's defaults. A choice is one row per rule:
on or off, and the tunables it overrides; every other tunable keeps the catalogue's default, so
a default tuned in a later release still reaches the tenants that did not override it.

The continuous detector asks for a tenant's enabled rules at every merge and every pass, so
the answer is cached for ``CACHE_SECONDS`` and dropped at once when this process changes it; a
second gateway sharing the database sees a change within that time. Overrides are checked
against the rule's declared tunables when they are written; one that no longer fits (a tunable
removed from the catalogue since) is skipped with a warning instead of stopping the rule.
"""

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from flowcdr.detect.finding import iso
from flowcdr.detect.rule import Rule, TunableValue
from flowcdr.detect.settings import SettingsError
from flowcdr.store.control import ControlStore
from flowcdr.store.schema import rule_settings

CACHE_SECONDS = 5.0
log = logging.getLogger(__name__)


class TunableError(SettingsError):
    """An override that does not fit the rule's tunables; ``name`` is the tunable."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class RuleChoice:
    """A tenant's choice for one rule; ``updated_by`` is None while it runs the defaults."""

    rule_id: str
    enabled: bool = True
    overrides: Mapping[str, TunableValue] = field(default_factory=dict)
    updated_by: str | None = None
    updated_at: str | None = None


def checked_overrides(rule: Rule, given: Mapping[str, Any]) -> dict[str, TunableValue]:
    """``given`` as typed tunable values of ``rule``; the first misfit raises, naming it."""
    out: dict[str, TunableValue] = {}
    for name, value in given.items():
        if name not in rule.tunables:
            known = ", ".join(sorted(rule.tunables)) or "none"
            raise TunableError(name, f"rule {rule.id!r} has no tunable {name!r} (it has {known})")
        try:
            out[name] = rule.settings({name: value})[name]
        except ValueError as error:
            raise TunableError(name, str(error)) from None
    return out


def effective(rule: Rule, overrides: Mapping[str, TunableValue]) -> dict[str, TunableValue]:
    """The values ``rule`` runs with: defaults, then the overrides that still fit it."""
    kept = {}
    for name, value in overrides.items():
        try:
            kept.update(checked_overrides(rule, {name: value}))
        except TunableError as error:
            log.warning("ignoring a stored override: %s", error)
    return rule.settings(kept)


class TenantRules:
    """Per-tenant rule choices over the catalogue ``rules``; every call names its tenant."""

    def __init__(
        self,
        control: ControlStore,
        rules: Mapping[str, Rule],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._control = control
        self._rules = rules
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, dict[str, TunableValue]]]] = {}

    def choices(self, tenant_id: str) -> dict[str, RuleChoice]:
        """Every catalogue rule's choice for the tenant, defaults where none was made."""
        query = sa.select(rule_settings).where(rule_settings.c.tenant_id == tenant_id)
        with self._control.engine.connect() as c:
            stored = {row["rule_id"]: row for row in c.execute(query).mappings()}
        out = {}
        for rule_id in self._rules:
            row = stored.get(rule_id)
            out[rule_id] = RuleChoice(rule_id) if row is None else _choice(row)
        return out

    def choice(self, tenant_id: str, rule_id: str) -> RuleChoice:
        return self.choices(tenant_id)[rule_id]

    def enabled(self, tenant_id: str) -> dict[str, dict[str, TunableValue]]:
        """The rules the tenant runs, each with its effective tunable values."""
        moment = self._clock()
        with self._lock:
            cached = self._cache.get(tenant_id)
        if cached is not None and moment - cached[0] < CACHE_SECONDS:
            return cached[1]
        values = {
            rule_id: effective(self._rules[rule_id], choice.overrides)
            for rule_id, choice in self.choices(tenant_id).items()
            if choice.enabled
        }
        with self._lock:
            self._cache[tenant_id] = (moment, values)
        return values

    def put(
        self,
        tenant_id: str,
        rule_id: str,
        *,
        enabled: bool,
        overrides: Mapping[str, Any],
        actor: str,
        now: dt.datetime,
    ) -> RuleChoice:
        """Replace the tenant's choice for the rule; raises ``TunableError`` naming a misfit."""
        typed = checked_overrides(self._rules[rule_id], overrides)
        stamp = iso(now)
        values = {
            "enabled": enabled,
            "tunables": json.dumps({name: _plain(value) for name, value in typed.items()}),
            "updated_by": actor,
            "updated_at": stamp,
        }
        key = (rule_settings.c.tenant_id == tenant_id, rule_settings.c.rule_id == rule_id)
        with self._control.write() as c:
            done = c.execute(rule_settings.update().where(*key).values(**values))
            if not done.rowcount:
                c.execute(rule_settings.insert().values(tenant_id=tenant_id, rule_id=rule_id,
                                                        **values))  # fmt: skip
        with self._lock:
            self._cache.pop(tenant_id, None)
        return RuleChoice(rule_id, enabled, typed, actor, stamp)


def _choice(row: sa.RowMapping) -> RuleChoice:
    overrides = json.loads(row["tunables"])
    return RuleChoice(
        row["rule_id"],
        bool(row["enabled"]),
        {name: tuple(v) if isinstance(v, list) else v for name, v in overrides.items()},
        row["updated_by"],
        row["updated_at"],
    )


def _plain(value: TunableValue) -> int | float | list[Any]:
    return list(value) if isinstance(value, tuple) else value
