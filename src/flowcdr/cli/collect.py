"""``flowcdr collect``: the standalone collector, the same code as the Azure Function.

The subscription token comes only from ``FLOWCDR_SUBSCRIPTION_TOKEN``: a flag would land in
shell history and in ``ps``. SIGTERM (and Ctrl-C) let the block in flight finish, so the
checkpoint is exact when the process exits; a SIGKILL only costs re-sending one block, which the
gateway recognises by its key.
"""

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.logging import RichHandler

from flowcdr.collect.azure_blob import (
    AzureBlobSource,
    service_from_account_url,
    service_from_connection_string,
)
from flowcdr.collect.checkpoint import SqliteCheckpoints
from flowcdr.collect.collector import STANDALONE_PASS_BYTES, Collector, replay_dead_letters
from flowcdr.collect.deadletter import FolderDeadLetters
from flowcdr.collect.discovery import Discovery
from flowcdr.collect.errors import CallerRefusedError, CollectError, DeliveryError
from flowcdr.collect.folder import FolderSource
from flowcdr.collect.ship import Backoff, GatewayClient
from flowcdr.collect.source import FLOW_LOG_CONTAINERS, BlobSource

TOKEN_ENV = "FLOWCDR_SUBSCRIPTION_TOKEN"  # noqa: S105 (the variable's name, not a token)
log = logging.getLogger("flowcdr.collect")


@click.command("collect")
@click.option(
    "--gateway",
    "gateway_url",
    required=True,
    help="Gateway base URL, e.g. https://cdr.example.com.",
)
@click.option(
    "--connection-string",
    envvar="FLOWCDR_STORAGE_CONNECTION_STRING",
    help="Flow-log storage connection string (better: env FLOWCDR_STORAGE_CONNECTION_STRING).",
)
@click.option(
    "--account-url",
    help="https://<account>.blob.core.windows.net; SAS from env FLOWCDR_STORAGE_SAS, or Azure AD.",
)
@click.option(
    "--folder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A local folder laid out like the account.",
)
@click.option(
    "--container",
    "containers",
    multiple=True,
    default=FLOW_LOG_CONTAINERS,
    show_default=True,
    help="Container to read (repeatable).",
)
@click.option("--once", is_flag=True, help="Collect until caught up, then exit.")
@click.option(
    "--interval",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Seconds between passes.",
)
@click.option(
    "--backfill-hours",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also read this many hours before the previous one.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite checkpoint file (default: in the per-user data folder).",
)
@click.option(
    "--dead-letters",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for refused batches (default: beside --state).",
)
@click.option(
    "--replay-dead-letters",
    "replay",
    is_flag=True,
    help="Resend the dead letters with their keys, then exit.",
)
@click.option(
    "--pass-mb",
    type=click.IntRange(min=1),
    default=STANDALONE_PASS_BYTES >> 20,
    show_default=True,
    help="MiB read per pass at most.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for one gateway answer.",
)
@click.option(
    "--connector-id",
    envvar="FLOWCDR_CONNECTOR_ID",
    help="Registered application (client id) to attribute the batches to in the gateway.",
)
def collect(
    *,
    gateway_url: str,
    connection_string: str | None,
    account_url: str | None,
    folder: Path | None,
    containers: tuple[str, ...],
    once: bool,
    interval: float,
    backfill_hours: int,
    state: Path | None,
    dead_letters: Path | None,
    replay: bool,
    pass_mb: int,
    timeout: float,
    connector_id: str | None,
) -> None:
    """Read new flow-log blocks from storage and ship them to the gateway, each exactly once."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise click.ClickException(f"set {TOKEN_ENV} to a subscription token from the gateway")
    if state is None:
        # Imported only here: the settings module pulls in pydantic and SQLAlchemy, a second
        # of start-up that a collector given --state (every service unit) does not need.
        from flowcdr.config import default_data_dir

        state = default_data_dir() / "collect" / "checkpoints.sqlite"
    letters = FolderDeadLetters(dead_letters or state.parent / "deadletters")
    stop = threading.Event()
    try:
        gateway = GatewayClient(
            gateway_url,
            token,
            Backoff(timeout_seconds=timeout),
            stop=stop,
            connector_id=connector_id,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    console = _setup_logging()
    with _stopping_on_signals(stop):
        try:
            if replay:
                delivered, refused = replay_dead_letters(letters, gateway)
                click.echo(f"replayed {delivered} dead letters; {refused} refused again", err=True)
                sys.exit(1 if refused else 0)
            source = _source(connection_string, account_url, folder)
            with Collector(
                source,
                SqliteCheckpoints(state),
                gateway,
                letters,
                containers=containers,
                pass_bytes=pass_mb << 20,
                stop=stop,
                discovery=Discovery(source, refresh_seconds=interval * 10),
            ) as collector:
                _run(
                    collector,
                    stop,
                    once=once,
                    interval=interval,
                    backfill_hours=backfill_hours,
                    console=console,
                )
        except CollectError as error:
            raise click.ClickException(str(error)) from None
        finally:
            gateway.close()


def _run(
    collector: Collector,
    stop: threading.Event,
    *,
    once: bool,
    interval: float,
    backfill_hours: int,
    console: Console | None,
) -> None:
    """Passes until stopped (or, with ``once``, until caught up); a backlog runs back to back."""
    status = console.status("collecting", spinner="dots") if console else None
    if status:
        status.start()
    try:
        while not stop.is_set():
            try:
                result = collector.run_pass(backfill_hours=backfill_hours)
            except CallerRefusedError:
                raise
            except DeliveryError as error:
                if stop.is_set():
                    break
                if once:
                    raise
                log.warning("%s; trying again in %g s", error, interval)
                stop.wait(interval)
                continue
            if status:
                status.update(collector.metrics.line())
            else:
                log.info(collector.metrics.line())
            if not result.behind:
                if once:
                    break
                stop.wait(interval)
    finally:
        if status:
            status.stop()
    log.info("stopped: %s", collector.metrics.line())


def _source(
    connection_string: str | None, account_url: str | None, folder: Path | None
) -> BlobSource:
    given = [
        name
        for name, value in (
            ("--connection-string", connection_string),
            ("--account-url", account_url),
            ("--folder", folder),
        )
        if value
    ]
    if len(given) != 1:
        raise click.UsageError(
            "give exactly one of --connection-string, --account-url and --folder"
        )
    if folder is not None:
        return FolderSource(folder)
    if connection_string is not None:
        return AzureBlobSource(service_from_connection_string(connection_string))
    assert account_url is not None
    return AzureBlobSource(
        service_from_account_url(account_url, os.environ.get("FLOWCDR_STORAGE_SAS"))
    )


def _setup_logging() -> Console | None:
    """A live status line on a terminal, plain timestamped lines otherwise (services, CI).

    The storage SDK logs every request at INFO; only its warnings are kept.
    """
    logging.getLogger("azure").setLevel(logging.WARNING)
    if sys.stderr.isatty():
        console = Console(stderr=True)
        logging.basicConfig(
            level=logging.INFO,
            format="%(message)s",
            handlers=[RichHandler(console=console, show_path=False)],
        )
        return console
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return None


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT ask the collector to stop after the block in flight."""

    def ask_to_stop(number: int, _frame: FrameType | None) -> None:
        log.info("%s: finishing the block in flight", signal.Signals(number).name)
        stop.set()

    previous = {
        number: signal.signal(number, ask_to_stop) for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


if __name__ == "__main__":  # ``python -m flowcdr.cli.collect``: without the gateway's imports
    collect()
