"""Flows: the filters of ``GET /cdr/v1/flows``, a paged table, and the CSV export.

The query string is the API's own (``src``, ``dst_port``, ``decision``...) plus the portal's
time range, and is turned into a ``FlowFilter`` by the API's ``flow_filter``, so the rows here,
the export and the API can never disagree. The export calls the API route itself with
``Accept: text/csv``: a browser cannot send the API's bearer token, the session cookie stands
in for it. Where the tenant's inventory knows a flow's NICs, the rows carry their names
(``inventory.names``): the VM at each end, and the NIC, subnet, VNet and NSGs of the one that
logged the flow.
"""

from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from flowcdr.api.deps import ServicesDep
from flowcdr.api.errors import ApiError
from flowcdr.api.routes import flows as flows_api
from flowcdr.api.services import Services
from flowcdr.formats.schema import DECISIONS, DIRECTIONS, FLOW_TYPES
from flowcdr.inventory.names import NAME_COLUMNS
from flowcdr.store import flowquery
from flowcdr.store.flowquery import FlowFilter
from flowcdr.web.errors import PortalRoute
from flowcdr.web.render import page
from flowcdr.web.session import PortalViewer
from flowcdr.web.timerange import RangeError, TimeRange, time_range

router = APIRouter(prefix="/portal", route_class=PortalRoute)
Text = Annotated[str | None, Query(max_length=1024)]
PAGE = 50
TEXT_FIELDS = ("src", "dst", "direction", "decision", "rule", "resource_id", "src_country",
               "dst_country", "flow_type")  # fmt: skip
NUMBER_FIELDS = ("src_port", "dst_port", "protocol")
PROTOCOLS = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6"}
_LABELS = (("vm", "VM"), ("nic", "NIC"), ("subnet", "subnet"), ("vnet", "VNet"), ("nsg", "NSG"),
           ("resource_group", "resource group"))  # fmt: skip


class _Asked:
    """What the query string asks for, as typed, and the filter it makes (or why not)."""

    def __init__(self, request: Request) -> None:
        given = request.query_params
        self.values = {name: given.get(name, "").strip() for name in (*TEXT_FIELDS,
                       *NUMBER_FIELDS, "vm")}  # fmt: skip
        self.problem: str | None = None
        self.span: TimeRange
        try:
            self.span = time_range(given.get("range"), given.get("start"), given.get("end"))
        except RangeError as error:
            self.span = time_range("1h", None, None)
            self.problem = str(error)
        self.filter = self._filter()

    def _filter(self) -> FlowFilter | None:
        fields: dict[str, Any] = {}
        for name in TEXT_FIELDS:
            fields[name] = self.values[name] or None
        for name in NUMBER_FIELDS:
            text = self.values[name]
            if text and not text.isdigit():
                self.problem = f"{name.replace('_', ' ')} must be a number, not {text[:20]!r}"
                return None
            fields[name] = int(text) if text else None
        try:
            return flows_api.flow_filter(start=self.span.start, end=self.span.end, **fields,
                                         subscription_id=None, state=None, src_scope=None,
                                         dst_scope=None)  # fmt: skip
        except ApiError as error:
            self.problem = error.message
            return None

    async def narrowed(self, found: Services, tenant_id: str) -> FlowFilter | None:
        """The filter with the VM asked for (the API's ``vm``), or None with the problem."""
        if self.filter is None or not self.values["vm"]:
            return self.filter
        try:
            return await run_in_threadpool(
                flows_api.with_vm, found, tenant_id, self.filter, self.values["vm"]
            )
        except ApiError as error:
            self.problem = error.message
            return None

    def params(self) -> dict[str, str]:
        return {**{k: v for k, v in self.values.items() if v}, **self.span.params()}


def _name(found: Services, tenant_id: str, items: list[dict[str, Any]]) -> None:
    """Add ``names`` (the logging NIC's) and ``src_vm``/``dst_vm`` to the page's rows when the
    tenant's inventory has any subscription."""
    if not items:
        return
    held = found.inventory.held(tenant_id)
    if not held.snapshots:
        return
    columns = ("mac", "direction", "src_ip", "dst_ip")
    table = pa.table(
        {name: pa.array([item[name] for item in items], pa.string()) for name in columns}
    )
    named = held.names.annotate(table).select([*NAME_COLUMNS, "peer_vm"]).to_pylist()
    for item, names in zip(items, named, strict=True):
        peer = names.pop("peer_vm")
        item["names"] = [(label, names[key]) for key, label in _LABELS if names[key]]
        local, remote = (
            ("dst_vm", "src_vm") if item["direction"] == "inbound" else ("src_vm", "dst_vm")
        )
        item[local], item[remote] = names["vm"], peer


@router.get("/flows")
async def flows(request: Request, viewer: PortalViewer, found: ServicesDep) -> Response:
    asked = _Asked(request)
    cursor = request.query_params.get("cursor")
    items: list[dict[str, Any]] = []
    more = None
    tenant = viewer.user.tenant_id
    wanted = await asked.narrowed(found, tenant)
    if wanted is not None:
        try:
            result = await flows_api.query(
                found,
                lambda r: flowquery.flows(r, tenant, wanted, cursor=cursor, limit=PAGE),
            )
            items, more = result.items, result.next
            await run_in_threadpool(_name, found, tenant, items)
        except ApiError as error:
            asked.problem = error.message
    return page(request, "flows.html", viewer, nav="flows", asked=asked, items=items, more=more,
                params=asked.params(), directions=DIRECTIONS, decisions=DECISIONS,
                flow_types=FLOW_TYPES, protocols=PROTOCOLS, first_page=cursor is None,
                span=asked.span)  # fmt: skip


@router.get("/flows.csv", response_model=None)
async def export(request: Request, viewer: PortalViewer, found: ServicesDep) -> Response:
    """Every flow of the filter as CSV, streamed by the API's export."""
    asked = _Asked(request)
    wanted = await asked.narrowed(found, viewer.user.tenant_id)
    if wanted is None:
        return page(request, "flows.html", viewer, status=422, nav="flows", asked=asked,
                    items=[], more=None, params=asked.params(), directions=DIRECTIONS,
                    decisions=DECISIONS, flow_types=FLOW_TYPES, protocols=PROTOCOLS,
                    first_page=True, span=asked.span)  # fmt: skip
    return await flows_api.list_flows(
        viewer.user, found, wanted, cursor=None, limit=PAGE, accept=flows_api.CSV
    )
