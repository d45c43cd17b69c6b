"""Azure Function app (Python v2 programming model): triggers only, the work is flowcdr.collect.

- every minute, a pass over the current and previous hour of both flow-log containers (this also
  catches anything an event missed: Event Grid delivery is at-least-once, not exactly-once);
- on each Event Grid ``BlobCreated`` of a flow-log blob (one per commit, about every minute), the
  new blocks of that blob. The trigger's stream is not read: only new blocks are downloaded, by
  the collector itself. Concurrent invocations are safe: checkpoints are ETag-conditional and
  idempotency keys stable.
"""

import logging
import os

import azure.functions as func

from flowcdr.collect.function import FunctionSettings, blob_event, timer_pass
from flowcdr.collect.source import NSG_CONTAINER, VNET_CONTAINER

app = func.FunctionApp()
log = logging.getLogger("flowcdr.collect.functionapp")


@app.timer_trigger(arg_name="timer", schedule="0 * * * * *", run_on_startup=False)
def collect_pass(timer: func.TimerRequest) -> None:
    result = timer_pass(FunctionSettings.from_environ(os.environ))
    if result.behind:
        log.info("more data is waiting than one pass reads; the next timer run goes on")


@app.blob_trigger(
    arg_name="blob",
    path=VNET_CONTAINER + "/{name}",
    connection="FLOWLOG_STORAGE",
    source=func.BlobSource.EVENT_GRID,
)
def collect_vnet_blob(blob: func.InputStream) -> None:
    blob_event(FunctionSettings.from_environ(os.environ), blob.name or "")


@app.blob_trigger(
    arg_name="blob",
    path=NSG_CONTAINER + "/{name}",
    connection="FLOWLOG_STORAGE",
    source=func.BlobSource.EVENT_GRID,
)
def collect_nsg_blob(blob: func.InputStream) -> None:
    blob_event(FunctionSettings.from_environ(os.environ), blob.name or "")
