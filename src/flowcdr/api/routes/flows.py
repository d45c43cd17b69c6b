"""``GET /cdr/v1/flows``: the caller's flows, filtered, newest first, by page or all at once.

Every signed-in user (analysts too) may query, and only ever their own tenant's flows. The
filter (``flow_filter``) is shared with the insights routes, so a chart and the rows under it
always agree. JSON answers come a page at a time with a cursor; ``Accept: text/csv`` or
``application/x-ndjson`` streams the whole filtered result instead, straight from DuckDB's
Arrow batches, so an export of millions of rows is never held in memory nor made into Python
rows.
"""

import datetime as dt
import io
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Annotated, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
from fastapi import APIRouter, Depends, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from flowcdr.api.deps import CurrentUser, ServicesDep
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.api.services import Services
from flowcdr.formats.schema import DECISIONS, DIRECTIONS, FLOW_TYPES, SCOPES, STATES
from flowcdr.inventory.names import vm_addresses
from flowcdr.store import flowquery
from flowcdr.store.backend import FlowReader
from flowcdr.store.flowquery import PAGE_MAX, FilterError, FlowFilter, parse_network

router = APIRouter(prefix="/cdr/v1", tags=["flows"])
T = TypeVar("T")
CSV, NDJSON = "text/csv", "application/x-ndjson"


def _one_of(words: tuple[str, ...], what: str) -> Any:
    return Query(description=what, json_schema_extra={"enum": list(words)})


def flow_filter(
    *,
    start: Annotated[
        dt.datetime | None, Query(description="From (inclusive); default: an hour before end")
    ] = None,
    end: Annotated[dt.datetime | None, Query(description="To (exclusive); default: now")] = None,
    src: Annotated[str | None, Query(max_length=64, description="Source IP or CIDR")] = None,
    dst: Annotated[str | None, Query(max_length=64, description="Destination IP or CIDR")] = None,
    src_port: Annotated[int | None, Query(ge=0, le=65535)] = None,
    dst_port: Annotated[int | None, Query(ge=0, le=65535)] = None,
    protocol: Annotated[int | None, Query(ge=0, le=255, description="IANA number")] = None,
    direction: Annotated[str | None, _one_of(DIRECTIONS, "Direction")] = None,
    decision: Annotated[str | None, _one_of(DECISIONS, "Decision")] = None,
    state: Annotated[str | None, _one_of(STATES, "Flow state")] = None,
    rule: Annotated[str | None, Query(max_length=256, description="NSG rule name")] = None,
    resource_id: Annotated[str | None, Query(max_length=1024, description="ARM id")] = None,
    subscription_id: Annotated[str | None, Query(max_length=64)] = None,
    src_scope: Annotated[str | None, _one_of(SCOPES, "Where the source is")] = None,
    dst_scope: Annotated[str | None, _one_of(SCOPES, "Where the destination is")] = None,
    src_country: Annotated[str | None, Query(max_length=2, description="ISO 3166 code")] = None,
    dst_country: Annotated[str | None, Query(max_length=2, description="ISO 3166 code")] = None,
    flow_type: Annotated[str | None, _one_of(FLOW_TYPES, "Kind of flow")] = None,
) -> FlowFilter:
    """The filter of every flow query and insight, from the query string. Times without a
    zone are UTC; ARM ids and country codes match in any case."""
    try:
        return FlowFilter.build(
            start,
            end,
            src=parse_network(src, "src") if src else None,
            dst=parse_network(dst, "dst") if dst else None,
            src_port=src_port,
            dst_port=dst_port,
            protocol=protocol,
            direction=direction,
            decision=decision,
            state=state,
            rule=rule,
            resource_id=resource_id,
            subscription_id=subscription_id,
            src_scope=src_scope,
            dst_scope=dst_scope,
            src_country=src_country,
            dst_country=dst_country,
            flow_type=flow_type,
        )
    except FilterError as error:
        raise ApiError(422, str(error), field=error.field) from None


def with_vm(found: Services, tenant_id: str, flow_filter: FlowFilter, vm: str) -> FlowFilter:
    """``flow_filter`` narrowed to the traffic of the VMs named ``vm`` (either end at one of
    their addresses, as the tenant's Azure inventory last listed them)."""
    snapshots = found.inventory.held(tenant_id).snapshots
    addresses = vm_addresses(snapshots, vm)
    if not addresses:
        known = "no VM" if snapshots else "no Azure inventory to look up a VM"
        raise ApiError(422, f"vm: {known} named {vm[:80]!r}", field="vm")
    return replace(flow_filter, hosts=tuple(ipaddress.ip_address(a) for a in addresses))


async def scoped_flow_filter(
    user: CurrentUser,
    found: ServicesDep,
    flow_filter: Annotated[FlowFilter, Depends(flow_filter)],
    vm: Annotated[
        str | None,
        Query(max_length=80, description="A VM's name: its traffic both ways (from the inventory)"),
    ] = None,
) -> FlowFilter:
    """``flow_filter`` and, when asked, a VM's traffic: the one filter needing the tenant."""
    if not vm:
        return flow_filter
    return await run_in_threadpool(with_vm, found, user.tenant_id, flow_filter, vm)


FlowFilterDep = Annotated[FlowFilter, Depends(scoped_flow_filter)]


async def query(found: Services, work: Callable[[FlowReader], T]) -> T:
    """``work`` on a reader of its own, in a worker thread: DuckDB calls block, and a DuckDB
    connection is not for sharing between threads."""

    def run() -> T:
        reader = found.flows.reader()
        try:
            return work(reader)
        finally:
            reader.close()

    try:
        return await run_in_threadpool(run)
    except FilterError as error:
        raise ApiError(422, str(error), field=error.field) from None


class FlowPage(BaseModel):
    items: list[dict[str, str | int | None]]
    """Flows, newest first: every stored column but ``tenant_id``, times in ISO 8601 UTC."""
    next: str | None
    """Pass as ``cursor`` for the following page; null on the last page."""


_EXPORTS = {media: {"schema": {"type": "string"}} for media in (CSV, NDJSON)}


@router.get(
    "/flows", response_model=FlowPage, responses={200: {"content": _EXPORTS}, **ERROR_RESPONSES}
)
async def list_flows(
    user: CurrentUser,
    found: ServicesDep,
    flow_filter: FlowFilterDep,
    *,
    cursor: Annotated[str | None, Query(max_length=4096, description="A page's `next`")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    accept: Annotated[str | None, Header(description=f"{CSV} or {NDJSON} to export")] = None,
) -> Response:
    """A page of matching flows; with ``Accept: text/csv`` or ``application/x-ndjson``,
    every matching flow (``cursor`` and ``limit`` do not apply), in the same order."""
    media = _export_media(accept)
    if media is not None:
        name = "flows.csv" if media == CSV else "flows.ndjson"
        return StreamingResponse(
            _export(found, user.tenant_id, flow_filter, media),
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    page = await query(
        found,
        lambda reader: flowquery.flows(
            reader, user.tenant_id, flow_filter, cursor=cursor, limit=limit
        ),
    )
    return JSONResponse({"items": page.items, "next": page.next})


def _export_media(accept: str | None) -> str | None:
    """The export type an Accept header names first; None for JSON (and anything else)."""
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in (CSV, NDJSON):
            return media
        if media == "application/json":
            return None
    return None


def _export(
    found: Services, tenant_id: str, flow_filter: FlowFilter, media: str
) -> Iterator[bytes]:
    """The body of an export. Starlette runs each step in a worker thread; the reader is
    closed when the body ends or the client goes away (the generator is closed)."""
    reader = found.flows.reader()
    try:
        if media == CSV:
            yield from _csv(flowquery.export(reader, tenant_id, flow_filter, "columns"))
        else:
            yield from _ndjson(flowquery.export(reader, tenant_id, flow_filter, "lines"))
    finally:
        reader.close()


def _csv(batches: pa.RecordBatchReader) -> Iterator[bytes]:
    sink = io.BytesIO()
    with pcsv.CSVWriter(sink, batches.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            yield _drain(sink)
    yield _drain(sink)


def _drain(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data


def _ndjson(batches: pa.RecordBatchReader) -> Iterator[bytes]:
    """Each batch's lines end to end: its string data from the first offset to the last."""
    for batch in batches:
        lines = batch.column(0)
        if len(lines):
            width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
            offsets = np.frombuffer(lines.buffers()[1], width)
            first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
            yield lines.buffers()[2][first:last].to_pybytes()
