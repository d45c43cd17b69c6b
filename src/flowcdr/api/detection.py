"""The gateway's detection loop: every ``detect_interval_seconds``, a pass of the detector.

The store tells the detector about every merged batch; a pass evaluates what those batches
touched. At start, flows admitted in the last ``RESUME_SECONDS`` are marked touched again, so
a restart (or a crash between a merge and the next pass) does not leave recent flows unseen;
re-evaluating a window only replaces its hits, so this never duplicates a finding.
"""

import asyncio
import datetime as dt
import logging

from fastapi.concurrency import run_in_threadpool

from flowcdr.api.services import Services
from flowcdr.detect.continuous import Pass

RESUME_SECONDS = 3600
log = logging.getLogger("flowcdr.detect")


def resume(services: Services) -> None:
    """Mark the flows admitted recently as touched, per tenant."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=RESUME_SECONDS)
    reader = services.flows.reader()
    try:
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


async def keep_detecting(services: Services) -> None:
    await run_in_threadpool(resume, services)
    while True:
        await asyncio.sleep(services.settings.detect_interval_seconds)
        done = await run_in_threadpool(detect_once, services)
        if done.evaluations or done.failures:
            log.info(
                "detection: %d rule runs, %d findings changed, %d failed",
                done.evaluations,
                done.findings,
                done.failures,
            )
