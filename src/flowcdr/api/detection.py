"""The gateway's detection loop: every ``detect_interval_seconds``, a pass of the detector.

The store tells the detector about every merged batch; a pass evaluates what those batches
touched. At start, flows admitted in the last ``RESUME_SECONDS`` are marked touched again, so
a restart (or a crash between a merge and the next pass) does not leave recent flows unseen;
re-evaluating a window only replaces its hits, so this never duplicates a finding.

Passes run under a lease in the control database (``flowcdr.store.lease``), named after the
flow store they read (``lease_name``). Gateways sharing one flow store (a ClickHouse server or
cluster) and one control database (PostgreSQL) then take turns: one holds the lease and
detects, the others wait, and take over within a lease's length when the holder stops or dies.
A gateway's embedded store (DuckDB, or chDB without a server) is its own (one process opens
it), so each such gateway holds its own lease and detects over its own flows.
"""

import asyncio
import contextlib
import datetime as dt
import logging
import socket
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from fastapi.concurrency import run_in_threadpool

from flowcdr.api.leases import release, renewed, take
from flowcdr.api.services import Services
from flowcdr.config import Settings
from flowcdr.detect.continuous import Pass
from flowcdr.store.clickhouse import Connection
from flowcdr.store.lease import Lease, holder_name

T = TypeVar("T")
RESUME_SECONDS = 3600
# A lease lasts four passes (a minute at least): a holder renews it every pass, and while a
# long pass runs; a gateway that died is replaced within this long.
LEASE_PASSES = 4
MIN_LEASE_SECONDS = 60.0
log = logging.getLogger("flowcdr.detect")


def resume(services: Services) -> None:
    """Mark the flows admitted recently as touched, per tenant."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=RESUME_SECONDS)
    reader = services.flows.reader()
    try:
        if isinstance(reader, Connection):
            spans = reader.rows(
                "SELECT tenant_id, min(time), max(time) FROM flows "
                "WHERE ingested_at >= {since:DateTime64(6, 'UTC')} GROUP BY tenant_id",
                {"since": since},
            )
        else:
            spans = reader.execute(
                "SELECT tenant_id, min(time), max(time) FROM flows WHERE ingested_at >= ? "
                "GROUP BY tenant_id",
                [since],
            ).fetchall()
    finally:
        reader.close()
    for tenant_id, first, last in spans:
        services.detector.touched(tenant_id, first, last)


def detect_once(services: Services) -> Pass:
    reader = services.flows.reader()
    try:
        return services.detector.run(reader, dt.datetime.now(dt.UTC))
    finally:
        reader.close()


def lease_name(settings: Settings) -> str:
    """The detection lease of the flow store this gateway reads (see the module's docstring):
    a ClickHouse cluster's database, a server's address and database (never its credentials),
    else this host's data dir, where DuckDB or chDB is this process's alone."""
    if settings.flows_backend == "clickhouse" and settings.clickhouse_url:
        if settings.clickhouse_cluster:  # gateways may each reach another node of it
            return f"detection:clickhouse-cluster:{settings.clickhouse_cluster}/" + (
                settings.clickhouse_database
            )
        server = urlsplit(settings.clickhouse_url)
        return f"detection:clickhouse:{server.hostname}:{server.port or server.scheme}/" + (
            settings.clickhouse_database
        )
    return f"detection:{socket.gethostname()}:{settings.data_dir.resolve()}"


def detection_lease(services: Services) -> Lease:
    seconds = max(MIN_LEASE_SECONDS, LEASE_PASSES * services.settings.detect_interval_seconds)
    return Lease(services.store, lease_name(services.settings), holder_name(), seconds)


async def detect_holding(services: Services, lease: Lease) -> Pass | None:
    """One pass if this gateway holds (or takes) the lease, renewing it while the pass runs;
    None when another gateway holds it."""
    if not await take(lease):
        return None
    async with renewed(lease):
        return await _to_the_end(detect_once, services)


async def _to_the_end(work: Callable[[Services], T], services: Services) -> T:
    """``work`` on a worker thread. When the gateway stops (this task cancelled), the thread
    is waited for before the cancellation goes on: the lifespan closes the stores next, and
    closing DuckDB under a running pass fails ("connection is busy")."""
    running = asyncio.ensure_future(run_in_threadpool(work, services))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise


async def keep_detecting(services: Services) -> None:
    lease = detection_lease(services)
    log.info("detection: as %s under lease %r", lease.holder, lease.name)
    try:
        await _to_the_end(resume, services)
        while True:
            await asyncio.sleep(services.settings.detect_interval_seconds)
            try:
                done = await detect_holding(services, lease)
            except Exception:  # e.g. the control database away for a moment: next pass
                log.exception("detection: pass failed")
                continue
            if done is not None and (done.evaluations or done.failures):
                log.info(
                    "detection: %d rule runs, %d findings changed, %d failed",
                    done.evaluations,
                    done.findings,
                    done.failures,
                )
    finally:
        await release(lease)  # a clean stop hands the lease over at once
