"""``GET /cdr/v1/insights/...``: the aggregates behind the dashboard charts.

Same callers, tenant scoping and filter as ``GET /cdr/v1/flows`` (``routes.flows``), so a
chart can always be opened as the flows it counts. Bytes are both directions of a flow
together; an empty counter counts as 0.
"""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from flowcdr.api.deps import CurrentUser, ServicesDep
from flowcdr.api.errors import ERROR_RESPONSES
from flowcdr.api.routes.flows import FlowFilterDep, query
from flowcdr.store import flowquery
from flowcdr.store.flowquery import TOP_MAX, Dimension, Measure

router = APIRouter(prefix="/cdr/v1/insights", tags=["insights"], responses=ERROR_RESPONSES)
Limit = Annotated[int, Query(ge=1, le=TOP_MAX, description="How many items")]


class Point(BaseModel):
    time: dt.datetime
    """Start of the step."""
    flows: int
    bytes: int
    allowed: int
    denied: int


class TimeSeries(BaseModel):
    start: dt.datetime
    end: dt.datetime
    bucket_seconds: int
    """1 min up to a 1 h range, 5 min up to 6 h, 1 h up to 7 d, else 1 day."""
    points: list[Point]
    """Every step of the range, oldest first; empty steps are zeros."""


class TopItem(BaseModel):
    value: str | int
    """An address, port, country code or rule name."""
    protocol: int | None = None
    """With ports only: the IANA protocol number."""
    flows: int
    bytes: int


class TopList(BaseModel):
    dimension: Dimension
    by: Measure
    items: list[TopItem]


class ResourceItem(BaseModel):
    resource_id: str
    flows: int
    bytes_in: int
    """Into the resource: the source's bytes of inbound flows, the destination's of outbound."""
    bytes_out: int


class ResourceList(BaseModel):
    items: list[ResourceItem]


@router.get("/timeseries")
async def timeseries(
    user: CurrentUser, found: ServicesDep, flow_filter: FlowFilterDep
) -> TimeSeries:
    """Flows, bytes, and allowed and denied flows over time."""
    step, points = await query(
        found, lambda reader: flowquery.timeseries(reader, user.tenant_id, flow_filter)
    )
    return TimeSeries(
        start=flow_filter.start,
        end=flow_filter.end,
        bucket_seconds=int(step.total_seconds()),
        points=[Point(**vars(point)) for point in points],
    )


@router.get("/top/{dimension}", response_model_exclude_none=True)
async def top(
    dimension: Dimension,
    user: CurrentUser,
    found: ServicesDep,
    flow_filter: FlowFilterDep,
    *,
    by: Annotated[Measure, Query(description="Rank by flows or by bytes")] = "flows",
    limit: Limit = 10,
) -> TopList:
    """Top talkers (sources), destination ports, countries (of the remote end), rules, or
    sources of denied flows."""
    items = await query(
        found,
        lambda reader: flowquery.top(
            reader, user.tenant_id, flow_filter, dimension, by=by, limit=limit
        ),
    )
    return TopList(dimension=dimension, by=by, items=[TopItem(**vars(item)) for item in items])


@router.get("/resources")
async def resources(
    user: CurrentUser, found: ServicesDep, flow_filter: FlowFilterDep, *, limit: Limit = 10
) -> ResourceList:
    """Bytes in and out per resource (NSG, VNet, subnet or NIC), the busiest first."""
    items = await query(
        found,
        lambda reader: flowquery.resources(reader, user.tenant_id, flow_filter, limit=limit),
    )
    return ResourceList(items=[ResourceItem(**vars(item)) for item in items])
