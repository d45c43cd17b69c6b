"""Settings: suppressions (list, add, delete), the detection catalogue, threat-intel lists and
Azure's published address ranges.

Suppressions and rule settings go through the API's route functions, so the portal checks and
audits exactly as the API does. Each detection shows the tenant's switch and tunable values;
admins change them in a form per rule (lists as comma-separated values). Only values that
differ from the catalogue's default are kept as overrides, so a default tuned in a later release
still reaches a rule whose form was saved unchanged.
"""

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from flowcdr.api.deps import ServicesDep
from flowcdr.api.errors import ApiError
from flowcdr.api.routes import findings as findings_api
from flowcdr.api.routes import rule_settings as rule_settings_api
from flowcdr.detect.rule import Rule, TunableValue
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalAdmin, PortalViewer, checked_form

router = APIRouter(prefix="/portal/settings", route_class=PortalRoute)


async def _page(
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    draft: tuple[str, dict[str, str]] | None = None,
) -> Response:
    """``draft`` is a rule's form as posted, shown again beside its error."""
    suppressions = await findings_api.list_suppressions(viewer.user, found)
    choices = await run_in_threadpool(found.tenant_rules.choices, viewer.user.tenant_id)
    rules = sorted(found.rules.values(), key=lambda r: (r.meta.tactics[:1], r.id))
    shown = {rule.id: rule_settings_api.settings_out(rule, choices[rule.id]) for rule in rules}
    texts = {rule_id: {name: _text(t.value) for name, t in out.tunables.items()}
             for rule_id, out in shown.items()}  # fmt: skip
    if draft is not None:
        texts[draft[0]] = draft[1]
    intel = await run_in_threadpool(found.intel.current)
    service_tags = await run_in_threadpool(found.service_tags.current)
    return page(request, "settings.html", viewer, status=422 if error else 200, nav="settings",
                suppressions=suppressions, rules=rules, shown=shown, texts=texts, error=error,
                values=values or {}, intel=intel, intel_dir=found.settings.intel_folder,
                service_tags=service_tags, service_tags_path=found.settings.service_tags_path,
                now=dt.datetime.now(dt.UTC))  # fmt: skip


@router.get("")
async def settings(request: Request, viewer: PortalViewer, found: ServicesDep) -> Response:
    return await _page(request, viewer, found)


@router.post("/suppressions")
async def add_suppression(request: Request, viewer: PortalAdmin, found: ServicesDep) -> Response:
    form = await checked_form(request, viewer)
    values = {name: str(form.get(name, "")).strip() for name in
              ("cidr", "port", "rule", "resource", "days", "reason")}  # fmt: skip
    fields: dict[str, Any] = {k: values[k] or None for k in ("cidr", "rule", "resource")}
    try:
        if values["port"] and not values["port"].isdigit():
            raise ValueError("the port must be a number")
        if values["days"] and not values["days"].isdigit():
            raise ValueError("the expiry must be a number of days")
        fields["port"] = int(values["port"]) if values["port"] else None
        days = int(values["days"]) if values["days"] else None
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
        given = findings_api.SuppressionIn(**fields, expires=expires, reason=values["reason"])
        await findings_api.add_suppression(given, viewer.user, found, request)
    except ApiError as error:
        return await _page(request, viewer, found, error=error.message, values=values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg')}"
        return await _page(request, viewer, found, error=message, values=values)
    except ValueError as error:
        return await _page(request, viewer, found, error=str(error), values=values)
    return RedirectResponse("/portal/settings", status_code=303)


@router.post("/suppressions/{suppression_id}/delete")
async def delete_suppression(
    suppression_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    await checked_form(request, viewer)
    await findings_api.delete_suppression(suppression_id, viewer.user, found, request)
    return RedirectResponse("/portal/settings", status_code=303)


@router.post("/rules/{rule_id}")
async def save_rule(
    rule_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    """One rule's form: its switch and every tunable as text, saved through the API."""
    form = await checked_form(request, viewer)
    rule = found.rules.get(rule_id)
    if rule is None:
        return await _page(request, viewer, found, error=f"no rule {rule_id!r}")
    texts = {name: str(form.get(f"t_{name}", "")).strip() for name in rule.tunables}
    try:
        overrides = _overrides(rule, texts)
        given = rule_settings_api.RuleSettingsIn(
            enabled=form.get("enabled") == "on", tunables=overrides
        )
        await rule_settings_api.put_rule_settings(rule_id, given, viewer.user, found, request)
    except (ApiError, ValueError) as error:
        message = error.message if isinstance(error, ApiError) else str(error)
        return await _page(request, viewer, found, error=message, draft=(rule_id, texts))
    return RedirectResponse(f"/portal/settings#rule-{rule_id}", status_code=303)


def _overrides(rule: Rule, texts: dict[str, str]) -> dict[str, object]:
    """The form's values that differ from the rule's defaults, typed like them."""
    out: dict[str, object] = {}
    for name, text in texts.items():
        default = rule.tunables[name].default
        value = _parse(rule.id, name, default, text)
        if value != default:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _parse(rule_id: str, name: str, default: TunableValue, text: str) -> TunableValue:
    where = f"rule {rule_id!r} tunable {name!r}"
    try:
        if isinstance(default, tuple):
            items = [item.strip() for item in text.split(",") if item.strip()]
            if default and isinstance(default[0], str):
                return tuple(items)
            return tuple(int(item) for item in items)
        if isinstance(default, int):
            return int(text)
        return float(text)
    except ValueError:
        kind = "a comma-separated list of integers" if isinstance(default, tuple) else "a number"
        raise ValueError(f"{where}: expected {kind}, got {text!r}") from None


def _text(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
