"""A tenant's settings for one detection: on or off, and its tunables.

- ``GET /cdr/v1/rules/{rule_id}/settings``: whether the rule runs for the caller's tenant, each
  tunable's effective value, default and meaning, and who changed it last (everyone reads).
- ``PUT`` the same path (admins): ``{"enabled": bool, "tunables": {name: value}}`` replaces the
  tenant's choice; tunables not named keep the catalogue's default. Values are checked against
  the rule's declared tunables (a number where the default is one, an integer where it is an
  integer, a list of the default's item type), and a misfit answers 422 naming
  ``tunables.<name>``. The change is audited and reaches the detector's next pass.
"""

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from flowcdr.api.deps import Admin, CurrentUser, ServicesDep, client_address
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.api.services import Services
from flowcdr.detect.rule import Rule
from flowcdr.detect.tenant_rules import RuleChoice, TunableError, effective

router = APIRouter(prefix="/cdr/v1", tags=["findings"])


class TunableOut(BaseModel):
    value: Any = Field(description="What the rule runs with")
    default: Any = Field(description="The catalogue's value")
    overridden: bool
    doc: str


class RuleSettingsOut(BaseModel):
    rule_id: str
    enabled: bool
    tunables: dict[str, TunableOut]
    updated_by: str | None = Field(description="Null while the tenant runs the defaults")
    updated_at: str | None


class RuleSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    tunables: dict[str, Any] = Field(
        default_factory=dict, max_length=64, description="Overrides by tunable name"
    )


@router.get("/rules/{rule_id}/settings", responses=ERROR_RESPONSES)
async def get_rule_settings(rule_id: str, user: CurrentUser, found: ServicesDep) -> RuleSettingsOut:
    """Whether the rule runs for the tenant, and each tunable's value, default and meaning."""
    rule = _rule(found, rule_id)
    choice = await run_in_threadpool(found.tenant_rules.choice, user.tenant_id, rule_id)
    return settings_out(rule, choice)


@router.put("/rules/{rule_id}/settings", responses=ERROR_RESPONSES)
async def put_rule_settings(
    rule_id: str, given: RuleSettingsIn, user: Admin, found: ServicesDep, request: Request
) -> RuleSettingsOut:
    """Turn the rule on or off for the tenant and set its tunables (admins); audited."""
    rule = _rule(found, rule_id)
    try:
        choice = await run_in_threadpool(
            lambda: found.tenant_rules.put(
                user.tenant_id,
                rule_id,
                enabled=given.enabled,
                overrides=given.tunables,
                actor=user.username,
                now=dt.datetime.now(dt.UTC),
            )
        )
    except TunableError as error:
        raise ApiError(422, str(error), field=f"tunables.{error.name}") from None
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username,
                            "rule.settings", target=rule_id,
                            client=client_address(request))  # fmt: skip
    return settings_out(rule, choice)


def settings_out(rule: Rule, choice: RuleChoice) -> RuleSettingsOut:
    values = effective(rule, choice.overrides)
    return RuleSettingsOut(
        rule_id=rule.id,
        enabled=choice.enabled,
        tunables={
            name: TunableOut(
                value=_plain(values[name]),
                default=_plain(tunable.default),
                overridden=name in choice.overrides,
                doc=tunable.doc,
            )
            for name, tunable in rule.tunables.items()
        },
        updated_by=choice.updated_by,
        updated_at=choice.updated_at,
    )


def _rule(found: Services, rule_id: str) -> Rule:
    rule = found.rules.get(rule_id)
    if rule is None:
        raise ApiError(404, f"no rule {rule_id!r}", field="rule_id")
    return rule


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
