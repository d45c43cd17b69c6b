"""Findings: a filtered list, a detail page with the evidence, and triage.

Triage goes through the findings API's own route functions (status changes and suppressions),
so the ledger, its checks and the audit trail are the API's. The list filters on more than the
API's list does (ATT&CK tactic, resource), so it selects the page's ids itself, tenant-scoped,
and reads each finding through the ledger.
"""

import datetime as dt
import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from flowcdr.api.deps import ServicesDep
from flowcdr.api.errors import ApiError
from flowcdr.api.routes import findings as findings_api
from flowcdr.api.routes import flows as flows_api
from flowcdr.detect.finding import KINDS, STATUSES, iso
from flowcdr.detect.ledger import Tracked, of_kind
from flowcdr.detect.rule import SEVERITIES, TACTICS
from flowcdr.store import flowquery
from flowcdr.store.flowquery import FlowFilter, parse_network
from flowcdr.store.schema import findings
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalAdmin, PortalViewer, checked_form
from flowcdr.web.timerange import RangeError, time_range

router = APIRouter(prefix="/portal/findings", route_class=PortalRoute)
Text = Annotated[str | None, Query(max_length=1024)]
PAGE = 50
_CURSOR_SEP = "|"
_SUPPRESS_SCOPES = ("src_ip", "dst_ip", "dst_port", "rule", "resource")


def _page_ids(
    found: ServicesDep, tenant_id: str, wanted: dict[str, Any], before: tuple[str, str] | None
) -> list[str]:
    """Ids of one page of the tenant's findings, newest activity first (``last_seen``, id)."""
    query = sa.select(findings.c.id, findings.c.last_seen).where(findings.c.tenant_id == tenant_id)
    for name in ("status", "severity", "rule_id", "resource_id"):
        if wanted.get(name):
            query = query.where(findings.c[name] == wanted[name])
    if wanted.get("kind"):
        query = query.where(of_kind(wanted["kind"]))
    if wanted.get("tactic"):
        query = query.where(findings.c.tactics.contains(json.dumps(wanted["tactic"])))
    if wanted.get("ip"):
        ip = wanted["ip"]
        query = query.where(sa.or_(findings.c.src_ip == ip, findings.c.dst_ip == ip))
    if wanted.get("since"):
        query = query.where(findings.c.last_seen >= iso(wanted["since"]))
    if wanted.get("until"):
        query = query.where(findings.c.first_seen < iso(wanted["until"]))
    if before is not None:
        query = query.where(sa.tuple_(findings.c.last_seen, findings.c.id) < sa.tuple_(*before))
    query = query.order_by(findings.c.last_seen.desc(), findings.c.id.desc()).limit(PAGE + 1)
    with found.store.engine.connect() as c:
        return [str(row.id) for row in c.execute(query)]


def _read(found: ServicesDep, tenant_id: str, ids: list[str]) -> list[Tracked]:
    items = (found.ledger.finding(tenant_id, finding_id) for finding_id in ids)
    return [item for item in items if item is not None]


@router.get("")
async def list_findings(
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
    *,
    status: Text = None,
    severity: Text = None,
    kind: Text = None,
    rule: Text = None,
    tactic: Text = None,
    resource: Text = None,
    ip: Text = None,
    range: Text = None,
    start: Text = None,
    end: Text = None,
    after: Text = None,
) -> Response:
    problem = None
    span = None
    if range or start:
        try:
            span = time_range(range, start, end)
        except RangeError as error:
            problem = str(error)
    wanted = {
        "status": status if status in STATUSES else None,
        "severity": severity if severity in SEVERITIES else None,
        "kind": kind if kind in KINDS else None,
        "rule_id": rule or None,
        "tactic": tactic if tactic in TACTICS else None,
        "resource_id": resource.lower() if resource else None,
        "ip": ip or None,
        "since": span.start if span else None,
        "until": span.end if span else None,
    }
    before = None
    if after and _CURSOR_SEP in after:
        last_seen, _, finding_id = after.partition(_CURSOR_SEP)
        before = (last_seen, finding_id)
    tenant = viewer.user.tenant_id
    ids = await run_in_threadpool(_page_ids, found, tenant, wanted, before)
    items = await run_in_threadpool(_read, found, tenant, ids[:PAGE])
    more = None
    if len(ids) > PAGE and items:
        last = items[-1].finding
        more = f"{iso(last.last_seen)}{_CURSOR_SEP}{last.id}"
    params = {
        "status": status, "severity": severity, "kind": kind, "rule": rule, "tactic": tactic,
        "resource": resource, "ip": ip, "range": None, "start": None, "end": None,
        **(span.params() if span else {}),
    }  # fmt: skip
    return page(request, "findings.html", viewer, nav="findings", items=items, more=more,
                params=params, problem=problem, statuses=STATUSES, severities=SEVERITIES,
                kinds=KINDS, tactics=TACTICS,
                rules=sorted(found.rules.values(), key=lambda r: r.id), span=span)  # fmt: skip


async def _finding_or_404(found: ServicesDep, tenant_id: str, finding_id: str) -> Tracked:
    item = await run_in_threadpool(found.ledger.finding, tenant_id, finding_id)
    if item is None:
        raise HTTPException(404, f"no finding {finding_id!r}")
    return item


def _flows_link(item: Tracked) -> dict[str, Any]:
    """The query of the Flows view of a finding: its addresses and port, over its lifetime."""
    finding = item.finding
    last = finding.last_seen + dt.timedelta(minutes=1)
    return {
        "range": "custom",
        "start": finding.first_seen.strftime("%Y-%m-%dT%H:%M"),
        "end": last.strftime("%Y-%m-%dT%H:%M"),
        "src": finding.src_ip,
        "dst": finding.dst_ip,
        "dst_port": finding.dst_port,
    }


@router.get("/{finding_id}")
async def finding_detail(
    finding_id: str,
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
) -> Response:
    item = await _finding_or_404(found, viewer.user.tenant_id, finding_id)
    rule = found.rules.get(item.finding.rule_id)
    shown = {"src_ip": item.finding.src_ip, "dst_ip": item.finding.dst_ip}
    await run_in_threadpool(findings_api.with_assets, found, viewer.user.tenant_id, [shown])
    return page(request, "finding.html", viewer, nav="findings", item=item, f=item.finding,
                rule=rule, flows=_flows_link(item), error=None, assets=shown["assets"],
                scopes=_SUPPRESS_SCOPES)  # fmt: skip


@router.get("/{finding_id}/timeline")
async def timeline(
    finding_id: str, request: Request, viewer: PortalViewer, found: ServicesDep
) -> Response:
    """The finding's flows over its lifetime, allowed and denied: the regular spikes of a
    beacon, the burst of a scan. A panel of the detail page, one filtered time series."""
    item = await _finding_or_404(found, viewer.user.tenant_id, finding_id)
    f = item.finding
    start = f.first_seen.replace(second=0, microsecond=0)
    wanted = FlowFilter(
        start,
        f.last_seen + dt.timedelta(minutes=1),
        src=parse_network(f.src_ip, "src") if f.src_ip else None,
        dst=parse_network(f.dst_ip, "dst") if f.dst_ip else None,
        dst_port=f.dst_port,
    )
    tenant = viewer.user.tenant_id
    step, points = await flows_api.query(found, lambda r: flowquery.timeseries(r, tenant, wanted))
    series = {
        "times": [int(p.time.timestamp()) for p in points],
        "allowed": [p.allowed for p in points],
        "denied": [p.denied for p in points],
        "bytes": [p.bytes for p in points],
    }
    return page(request, "panels/timeline.html", viewer, series=series,
                step=int(step.total_seconds()) // 60)  # fmt: skip


@router.post("/{finding_id}/status")
async def set_status(
    finding_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    """Acknowledge, resolve, reopen, or comment (the same status with a new note)."""
    form = await checked_form(request, viewer)
    try:
        change = findings_api.Triage.model_validate(
            {"status": form.get("status"), "note": str(form.get("note", "")).strip() or None}
        )
        await findings_api.triage_finding(finding_id, change, viewer.user, found, request)
    except (ValidationError, ApiError) as error:
        return await _refused(request, viewer, found, finding_id, _message(error))
    return RedirectResponse(f"/portal/findings/{finding_id}", status_code=303)


@router.post("/{finding_id}/suppress")
async def suppress(
    finding_id: str, request: Request, viewer: PortalAdmin, found: ServicesDep
) -> Response:
    """A suppression scoped on one of the finding's fields, then the finding suppressed."""
    form = await checked_form(request, viewer)
    item = await _finding_or_404(found, viewer.user.tenant_id, finding_id)
    f = item.finding
    scope = str(form.get("scope", ""))
    reason = str(form.get("reason", "")).strip()
    days = str(form.get("days", "")).strip()
    scoped: dict[str, dict[str, Any]] = {
        "src_ip": {"cidr": f.src_ip},
        "dst_ip": {"cidr": f.dst_ip},
        "dst_port": {"port": f.dst_port},
        "rule": {"rule": f.rule_id},
        "resource": {"resource": f.resource_id},
    }
    fields = scoped.get(scope, {})
    try:
        if not fields or None in fields.values():
            raise ValueError(f"this finding has no {scope.replace('_', ' ') or 'scope'} to match")
        expires = None
        if days:
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=int(days))
        given = findings_api.SuppressionIn(**fields, expires=expires, reason=reason)
        await findings_api.add_suppression(given, viewer.user, found, request)
        change = findings_api.Triage(status="suppressed", note=reason)
        await findings_api.triage_finding(finding_id, change, viewer.user, found, request)
    except (ValidationError, ApiError, ValueError) as error:
        return await _refused(request, viewer, found, finding_id, _message(error))
    return RedirectResponse(f"/portal/findings/{finding_id}", status_code=303)


def _message(error: Exception) -> str:
    if isinstance(error, ApiError):
        return error.message
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(error)


async def _refused(
    request: Request, viewer: PortalViewer, found: ServicesDep, finding_id: str, message: str
) -> Response:
    item = await _finding_or_404(found, viewer.user.tenant_id, finding_id)
    rule = found.rules.get(item.finding.rule_id)
    return page(request, "finding.html", viewer, status=422, nav="findings", item=item,
                f=item.finding, rule=rule, flows=_flows_link(item), error=message,
                assets=None, scopes=_SUPPRESS_SCOPES)  # fmt: skip
