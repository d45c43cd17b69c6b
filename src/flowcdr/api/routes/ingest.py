"""``POST /cdr/v1/ingest``: collectors deliver flow-log fragments here.

The body is what a collector read from committed blocks (gzip). It is parsed, enriched, stamped
with the tenant of the subscription token and stored with its idempotency key in one
transaction: the same key again gets the first answer back (200) and stores nothing.
"""

from typing import Annotated

import pyarrow as pa
from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from flowcdr.api.body import read_body
from flowcdr.api.deps import CurrentCollector, ServicesDep
from flowcdr.api.errors import ERROR_RESPONSES, ApiError
from flowcdr.api.services import Services
from flowcdr.detect.dataset import with_intel
from flowcdr.enrich import enrich, stamp
from flowcdr.formats import FormatError, parse_blob
from flowcdr.store.flows import Batch, StoreBusyError, StoreFullError

router = APIRouter(prefix="/cdr/v1", tags=["ingest"])
MAX_KEY = 200


class IngestAnswer(BaseModel):
    records: int
    flows: int
    rejected: int
    skipped: int


def enriched(table: pa.Table, found: Services) -> pa.Table:
    """The batch enriched with the gateway's current service tags and threat intel (both files
    are read again here when they changed, so off the event loop)."""
    tags = found.service_tags.current()
    return with_intel(enrich(table, tags.ranges if tags else None), found.intel.current())


@router.post(
    "/ingest",
    status_code=202,
    responses={200: {"model": IngestAnswer, "description": "A replayed key"}, **ERROR_RESPONSES},
)
async def ingest(
    request: Request,
    caller: CurrentCollector,
    found: ServicesDep,
    *,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=MAX_KEY)],
    x_flowcdr_source: Annotated[str | None, Header(max_length=1024)] = None,
    x_flowcdr_connector: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    """Store a gzip fragment of flow-log records; answer with what was read and refused."""
    settings = found.settings
    data = await read_body(request, settings.ingest_max_compressed_bytes, settings.ingest_max_bytes)
    source = x_flowcdr_source or f"ingest:{idempotency_key}"
    try:
        result = await run_in_threadpool(parse_blob, data, source=source)
    except FormatError as error:
        raise ApiError(422, str(error), field="body") from None
    report = result.report
    answer = IngestAnswer(
        records=report.records, flows=report.flows, rejected=report.rejected, skipped=report.skipped
    )
    table = await run_in_threadpool(enriched, result.table, found)
    batch = Batch(
        caller.tenant_id,
        idempotency_key,
        stamp(table, caller.tenant_id, x_flowcdr_connector),
        answer.model_dump(),
        source,
        x_flowcdr_connector,
    )
    try:
        admission = await run_in_threadpool(found.flows.admit, batch)
    except StoreBusyError:
        raise ApiError(503, "the flow writer is behind; retry shortly",
                       code="busy", headers={"Retry-After": "1"}) from None  # fmt: skip
    except StoreFullError:  # nothing acknowledged: the collector keeps the batch and retries
        raise ApiError(507, "the gateway's disk is full; retry later",
                       headers={"Retry-After": "30"}) from None  # fmt: skip
    return JSONResponse(admission.answer, status_code=200 if admission.replay else 202)
