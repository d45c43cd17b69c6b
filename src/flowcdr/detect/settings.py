"""Per-tenant detection settings: which rules run, their tunables, suppressions, intel age.

Read from a TOML file (``flowcdr detect --config FILE``) or held by the gateway per tenant::

    intel_max_age_days = 30

    [rules.vertical_port_scan]
    min_ports = 40

    [rules.cleartext_protocol]
    enabled = false

    [[suppressions]]
    cidr = "10.0.9.0/24"            # the vulnerability scanners we run
    rule = "vertical_port_scan"
    expires = 2027-01-01T00:00:00Z
    reason = "weekly Qualys scan, CHG-1234"

Suppressions are data, not code: an IP/CIDR (either end), a port, a rule, a resource, each
optional, all given ones must hold; past ``expires`` it no longer applies. A suppressed finding
is kept with status ``suppressed``, so the gateway can still show what was hidden and why.
"""

import datetime as dt
import ipaddress
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flowcdr.detect.finding import Finding
from flowcdr.detect.rule import Rule, TunableValue
from flowcdr.errors import FlowcdrError


class SettingsError(FlowcdrError):
    """A detection settings file that cannot be used; the message names the file and key."""


class Suppression(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cidr: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    rule: str | None = None
    resource: str | None = None
    expires: dt.datetime | None = None
    reason: str = ""

    @field_validator("cidr")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_network(value, strict=False)
        return value

    def covers(self, finding: Finding, now: dt.datetime) -> bool:
        if self.expires is not None and _utc(self.expires) <= now:
            return False
        if self.rule is not None and self.rule != finding.rule_id:
            return False
        if self.port is not None and self.port != finding.dst_port:
            return False
        if self.resource is not None and self.resource.lower() != (finding.resource_id or ""):
            return False
        if self.cidr is not None:
            network = ipaddress.ip_network(self.cidr, strict=False)
            ends = [ip for ip in (finding.src_ip, finding.dst_ip) if ip]
            return any(ipaddress.ip_address(ip) in network for ip in ends)
        return True


class RuleSettings(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    enabled: bool = True

    def tunables(self) -> dict[str, TunableValue]:
        return dict(self.model_extra or {})


class DetectSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intel_max_age_days: int = Field(default=30, ge=0, description="0 keeps indicators forever.")
    rules: dict[str, RuleSettings] = Field(default_factory=dict)
    suppressions: tuple[Suppression, ...] = ()

    @classmethod
    def read(cls, path: Path) -> "DetectSettings":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            return cls.model_validate(data)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise SettingsError(f"{path}: {error}") from error
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
            )
            raise SettingsError(f"{path}: {problems}") from None

    @property
    def intel_max_age(self) -> dt.timedelta | None:
        return dt.timedelta(days=self.intel_max_age_days) if self.intel_max_age_days else None

    def enabled(self, rules: Mapping[str, Rule]) -> dict[str, dict[str, TunableValue]]:
        """The rules that run, each with its effective tunables; names unknown rules."""
        unknown = set(self.rules) - set(rules)
        if unknown:
            raise SettingsError(f"settings name unknown rules: {', '.join(sorted(unknown))}")
        out = {}
        for rule_id, rule in rules.items():
            chosen = self.rules.get(rule_id, RuleSettings())
            if chosen.enabled:
                try:
                    out[rule_id] = rule.settings(chosen.tunables())
                except ValueError as error:
                    raise SettingsError(str(error)) from None
        return out

    def suppression_for(self, finding: Finding, now: dt.datetime) -> Suppression | None:
        return next((s for s in self.suppressions if s.covers(finding, now)), None)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
