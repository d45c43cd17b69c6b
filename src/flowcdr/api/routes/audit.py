"""The tenant's audit log, newest first, for admins."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from flowcdr.api.deps import Admin, ServicesDep
from flowcdr.api.errors import ERROR_RESPONSES
from flowcdr.store.control import AuditEntry

router = APIRouter(prefix="/cdr/v1/audit", tags=["audit"])


@router.get("", responses=ERROR_RESPONSES)
async def audit(
    user: Admin,
    found: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    # An id is a SQLite integer: 2**63 and above would overflow the query, not match nothing.
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Entries with a smaller id")
    ] = None,
) -> list[AuditEntry]:
    return await run_in_threadpool(found.store.audit_entries, user.tenant_id, limit, before)
