"""Findings, rules and suppressions of the caller's tenant.

- ``GET /cdr/v1/findings``: newest activity first, filtered, a page at a time (cursor);
  ``format=ocsf|ecs`` gives the same page as OCSF Detection Findings or ECS alerts.
- ``GET /cdr/v1/findings/{id}`` and ``PATCH`` it to acknowledge, resolve, suppress or reopen,
  with a note; who and when are recorded and audited. Changing a finding is an admin's action,
  as everywhere in the product: analysts read (design.md section 7).
- ``GET /cdr/v1/rules``: the catalogue, for people deciding what a finding means.
- ``/cdr/v1/suppressions``: list (everyone), add and delete (admins).
"""

import base64
import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError

from flowcdr.api.deps import Admin, CurrentUser, ServicesDep, client_address
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.api.services import Services
from flowcdr.detect.export import ExportFormat, to_ecs, to_ocsf
from flowcdr.detect.finding import FindingKind, FindingStatus, iso
from flowcdr.detect.ledger import StoredSuppression, Tracked
from flowcdr.detect.rule import Severity
from flowcdr.detect.settings import Suppression
from flowcdr.inventory.names import end_names

router = APIRouter(prefix="/cdr/v1", tags=["findings"])
PAGE_MAX = 500


class Page(BaseModel):
    items: list[dict[str, Any]]
    next: str | None


@router.get("/findings", responses=ERROR_RESPONSES)
async def list_findings(
    user: CurrentUser,
    found: ServicesDep,
    *,
    status: Annotated[FindingStatus | None, Query()] = None,
    severity: Annotated[Severity | None, Query()] = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[
        FindingKind | None, Query(description="detection, or posture (rule ids posture.*)")
    ] = None,
    ip: Annotated[str | None, Query(max_length=45, description="Either end")] = None,
    start: Annotated[dt.datetime | None, Query(description="Active since")] = None,
    end: Annotated[dt.datetime | None, Query(description="Active before")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    format: Annotated[ExportFormat, Query(description="Shape of each item")] = "ndjson",
) -> Page:
    """The tenant's findings; ``next`` is the cursor of the following page (null at the end)."""
    before = _decode(cursor) if cursor else None
    page = await run_in_threadpool(
        lambda: found.ledger.findings(
            user.tenant_id,
            status=status,
            severity=severity,
            rule_id=rule,
            kind=kind,
            ip=ip,
            since=_utc(start),
            until=_utc(end),
            limit=limit,
            before=before,
        )
    )
    last = page[-1].finding if len(page) == limit else None
    items = [_shaped(item, format) for item in page]
    if format == "ndjson":
        await run_in_threadpool(with_assets, found, user.tenant_id, items)
    return Page(
        items=items,
        next=_encode((iso(last.last_seen), last.id)) if last else None,
    )


@router.get("/findings/{finding_id}", responses=ERROR_RESPONSES)
async def get_finding(finding_id: str, user: CurrentUser, found: ServicesDep) -> dict[str, Any]:
    item = await run_in_threadpool(found.ledger.finding, user.tenant_id, finding_id)
    if item is None:
        raise ApiError(404, f"no finding {finding_id!r}", field="finding_id")
    shown = item.as_dict()
    await run_in_threadpool(with_assets, found, user.tenant_id, [shown])
    return shown


def with_assets(found: Services, tenant_id: str, items: list[dict[str, Any]]) -> None:
    """Add ``assets``: the VM, NIC, subnet, VNet, NSGs and resource group behind each end
    (``src``, ``dst``) as the tenant's Azure inventory knows them now, or null."""
    ends = [item.get(column) for item in items for column in ("src_ip", "dst_ip")]
    names = end_names(found.inventory.held(tenant_id).names, ends)
    for index, item in enumerate(items):
        item["assets"] = {"src": names[2 * index], "dst": names[2 * index + 1]}


class Triage(BaseModel):
    status: FindingStatus
    note: str | None = Field(default=None, max_length=2000)


@router.patch("/findings/{finding_id}", responses=ERROR_RESPONSES)
async def triage_finding(
    finding_id: str, change: Triage, user: Admin, found: ServicesDep, request: Request
) -> dict[str, Any]:
    """Acknowledge, resolve, suppress or reopen a finding (admins); who and when are kept."""
    item = await run_in_threadpool(
        lambda: found.ledger.set_status(
            user.tenant_id,
            finding_id,
            status=change.status,
            actor=user.username,
            note=change.note,
            now=dt.datetime.now(dt.UTC),
        )
    )
    if item is None:
        raise ApiError(404, f"no finding {finding_id!r}", field="finding_id")
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username,
                            f"finding.{change.status}", target=finding_id,
                            client=client_address(request))  # fmt: skip
    return item.as_dict()


class RuleInfo(BaseModel):
    id: str
    title: str
    severity: Severity
    tactics: list[str]
    techniques: list[str]
    description: str
    false_positives: list[str]
    runbook: str
    window_seconds: int
    insight: bool


@router.get("/rules", responses=ERROR_RESPONSES)
async def list_rules(_: CurrentUser, found: ServicesDep) -> list[RuleInfo]:
    return [
        RuleInfo(
            id=rule.id,
            title=rule.meta.title,
            severity=rule.meta.level,
            tactics=list(rule.meta.tactics),
            techniques=list(rule.meta.techniques),
            description=rule.meta.description,
            false_positives=list(rule.meta.false_positives),
            runbook=rule.meta.runbook,
            window_seconds=rule.window_seconds,
            insight=rule.meta.insight,
        )
        for rule in found.rules.values()
    ]


class SuppressionIn(BaseModel):
    cidr: str | None = Field(default=None, max_length=50)
    port: int | None = Field(default=None, ge=0, le=65535)
    rule: str | None = Field(default=None, max_length=64)
    resource: str | None = Field(default=None, max_length=1024)
    expires: dt.datetime | None = None
    reason: str = Field(min_length=1, max_length=500)


class SuppressionOut(SuppressionIn):
    id: str
    created_by: str
    created_at: str


@router.get("/suppressions", responses=ERROR_RESPONSES)
async def list_suppressions(user: CurrentUser, found: ServicesDep) -> list[SuppressionOut]:
    stored = await run_in_threadpool(found.ledger.suppressions, user.tenant_id)
    return [_suppression_out(item) for item in stored]


@router.post("/suppressions", status_code=201, responses=ERROR_RESPONSES)
async def add_suppression(
    given: SuppressionIn, user: Admin, found: ServicesDep, request: Request
) -> SuppressionOut:
    """Findings opened from now on that this covers start ``suppressed``, with its reason."""
    if not (given.cidr or given.port is not None or given.rule or given.resource):
        raise ApiError(422, "a suppression needs a cidr, port, rule or resource")
    if given.rule is not None and given.rule not in found.rules:
        raise ApiError(422, f"no rule {given.rule!r}", field="rule")
    try:
        rule = Suppression(**given.model_dump())
    except ValidationError:
        raise ApiError(422, f"{given.cidr!r} is not an IP network", field="cidr") from None
    stored = await run_in_threadpool(
        found.ledger.add_suppression, user.tenant_id, rule, user.username, dt.datetime.now(dt.UTC)
    )
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username,
                            "suppression.add", target=stored.id,
                            client=client_address(request))  # fmt: skip
    return _suppression_out(stored)


@router.delete("/suppressions/{suppression_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_suppression(
    suppression_id: str, user: Admin, found: ServicesDep, request: Request
) -> Response:
    done = await run_in_threadpool(found.ledger.delete_suppression, user.tenant_id, suppression_id)
    if not done:
        raise ApiError(404, f"no suppression {suppression_id!r}", field="suppression_id")
    await run_in_threadpool(found.store.audit, user.tenant_id, user.username,
                            "suppression.delete", target=suppression_id,
                            client=client_address(request))  # fmt: skip
    return Response(status_code=204)


def _suppression_out(item: StoredSuppression) -> SuppressionOut:
    rule = item.rule
    return SuppressionOut(
        id=item.id,
        cidr=rule.cidr,
        port=rule.port,
        rule=rule.rule,
        resource=rule.resource,
        expires=rule.expires,
        reason=rule.reason,
        created_by=item.created_by,
        created_at=item.created_at,
    )


def _shaped(item: Tracked, shape: ExportFormat) -> dict[str, Any]:
    if shape == "ocsf":
        return to_ocsf(item.finding)
    if shape == "ecs":
        return to_ecs(item.finding)
    return item.as_dict()


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def _encode(position: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _decode(cursor: str) -> tuple[str, str]:
    try:
        last_seen, finding_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        dt.datetime.fromisoformat(last_seen)
        return str(last_seen), str(finding_id)
    except (ValueError, TypeError):
        raise ApiError(400, "the cursor is not one this API gave", field="cursor") from None
