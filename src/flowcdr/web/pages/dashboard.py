"""The dashboard: traffic and findings of a time range, every number a link to what it counts.

The page itself is only a frame; each panel is an htmx fragment loaded on its own request and
answered by one query (``flowquery`` as the insights API calls it, or one grouped count of the
findings table). So the frame shows at once, the panels fill in parallel, and no request of the
dashboard costs more than its slowest single query.
"""

import json
from collections import Counter
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from flowcdr.api.deps import ServicesDep
from flowcdr.api.routes.flows import query
from flowcdr.detect.finding import iso
from flowcdr.detect.rule import SEVERITIES
from flowcdr.store import flowquery
from flowcdr.store.flowquery import Dimension, FlowFilter
from flowcdr.store.schema import findings
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalViewer
from flowcdr.web.timerange import RangeError, TimeRange, time_range

router = APIRouter(prefix="/portal", route_class=PortalRoute)
Text = Annotated[str | None, Query(max_length=64)]
NEWEST = 8
_STEPS = {60: "minute", 300: "5 minutes", 3600: "hour", 86400: "day"}
_TOPS = {
    Dimension.TALKERS: ("Top talkers", "Source", "src"),
    Dimension.PORTS: ("Top destination ports", "Port", "dst_port"),
    Dimension.COUNTRIES: ("Countries", "Country", None),
    Dimension.RULES: ("NSG rules hit", "Rule", "rule"),
    Dimension.DENIED_SOURCES: ("Denied sources", "Source", "src"),
}


def _range(range: str | None, start: str | None, end: str | None) -> tuple[TimeRange, str | None]:
    """The asked-for range, or the default one and why the asked one was refused."""
    try:
        return time_range(range, start, end), None
    except RangeError as error:
        return time_range(None, None, None), str(error)


def _panel_range(range: Text = None, start: Text = None, end: Text = None) -> TimeRange:
    """A panel's range: as asked, or the default (the frame around it says why)."""
    return _range(range, start, end)[0]


PanelRange = Annotated[TimeRange, Depends(_panel_range)]


@router.get("/")
async def dashboard(
    request: Request,
    viewer: PortalViewer,
    *,
    range: Text = None,
    start: Text = None,
    end: Text = None,
) -> Response:
    span, problem = _range(range, start, end)
    return page(request, "dashboard.html", viewer, nav="dashboard", span=span, problem=problem,
                tops=_TOPS)  # fmt: skip


@router.get("/panels/traffic")
async def traffic(
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
    span: PanelRange,
) -> Response:
    """Flows (allowed and denied) and bytes over time, and their totals."""
    tenant = viewer.user.tenant_id
    step, points = await query(
        found, lambda r: flowquery.timeseries(r, tenant, FlowFilter(span.start, span.end))
    )
    series = {
        "times": [int(p.time.timestamp()) for p in points],
        "allowed": [p.allowed for p in points],
        "denied": [p.denied for p in points],
        "bytes": [p.bytes for p in points],
        "step": int(step.total_seconds()),
    }
    totals = {
        "flows": sum(p.flows for p in points),
        "denied": sum(p.denied for p in points),
        "bytes": sum(p.bytes for p in points),
    }
    seconds = int(step.total_seconds())
    return page(request, "panels/traffic.html", viewer, span=span, series=series,
                totals=totals, step=_STEPS.get(seconds, f"{seconds} s"))  # fmt: skip


@router.get("/panels/top/{dimension}")
async def top(
    dimension: Dimension,
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
    span: PanelRange,
) -> Response:
    tenant = viewer.user.tenant_id
    items = await query(
        found,
        lambda r: flowquery.top(r, tenant, FlowFilter(span.start, span.end), dimension, limit=8),
    )
    title, heading, field = _TOPS[dimension]
    rows = [(item, _links(span, dimension, field, item.value)) for item in items]
    return page(request, "panels/top.html", viewer, rows=rows, title=title,
                heading=heading)  # fmt: skip


def _links(
    span: TimeRange, dimension: Dimension, field: str | None, value: str | int
) -> list[tuple[str, str]]:
    """The Flows views of one top-list entry, (label, URL): one, but two for a country, the
    remote end of a flow, which is the source of inbound flows and the destination of
    outbound ones (the flows filter has no "either end")."""
    wanted: dict[str, str | int] = dict(span.params())
    if dimension is Dimension.COUNTRIES:
        inbound = {**wanted, "src_country": value, "direction": "inbound"}
        outbound = {**wanted, "dst_country": value, "direction": "outbound"}
        return [("in", _flows(inbound)), ("out", _flows(outbound))]
    if field is not None:
        wanted[field] = value
    if dimension is Dimension.DENIED_SOURCES:
        wanted["decision"] = "deny"
    return [("", _flows(wanted))]


def _flows(wanted: dict[str, str | int]) -> str:
    return "/portal/flows?" + urlencode(wanted)


@router.get("/panels/resources")
async def resources(
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
    span: PanelRange,
) -> Response:
    """Bytes into and out of each resource: the inbound/outbound split, where it happens."""
    tenant = viewer.user.tenant_id
    items = await query(
        found, lambda r: flowquery.resources(r, tenant, FlowFilter(span.start, span.end), limit=8)
    )
    return page(request, "panels/resources.html", viewer, span=span, items=items)


def finding_counts(found: ServicesDep, tenant_id: str, span: TimeRange) -> dict[str, Any]:
    """Findings active in the range by severity and by ATT&CK tactic, in one grouped read."""
    active = sa.and_(
        findings.c.tenant_id == tenant_id,
        findings.c.last_seen >= iso(span.start),
        findings.c.first_seen < iso(span.end),
    )
    grouped = (
        sa.select(findings.c.severity, findings.c.tactics, findings.c.status, sa.func.count())
        .where(active)
        .group_by(findings.c.severity, findings.c.tactics, findings.c.status)
    )
    severity: Counter[str] = Counter()
    tactics: Counter[str] = Counter()
    still_open = 0
    with found.store.engine.connect() as c:
        for level, tactic_list, status, number in c.execute(grouped):
            severity[level] += number
            for tactic in json.loads(tactic_list):
                tactics[tactic] += number
            still_open += number if status == "open" else 0
    return {
        "severity": [(level, severity[level]) for level in reversed(SEVERITIES)],
        "tactics": tactics.most_common(),
        "open": still_open,
        "total": sum(severity.values()),
    }


@router.get("/panels/findings")
async def findings_panel(
    request: Request,
    viewer: PortalViewer,
    found: ServicesDep,
    span: PanelRange,
) -> Response:
    tenant = viewer.user.tenant_id
    counts = await run_in_threadpool(finding_counts, found, tenant, span)
    newest = await run_in_threadpool(
        lambda: found.ledger.findings(tenant, since=span.start, until=span.end, limit=NEWEST)
    )
    return page(request, "panels/findings.html", viewer, span=span, counts=counts,
                newest=newest)  # fmt: skip
