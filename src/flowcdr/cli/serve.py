"""``flowcdr serve``: run the gateway."""

import click
import uvicorn

from flowcdr.api.app import create_app
from flowcdr.api.protocol import with_read_deadline
from flowcdr.cli.options import with_settings
from flowcdr.config import Settings
from flowcdr.errors import FlowcdrError


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@with_settings
def serve(host: str, port: int, settings: Settings) -> None:
    """Run the gateway (API) on HOST:PORT with the control database in the data dir."""
    try:
        app = create_app(settings)
    except FlowcdrError as error:  # e.g. a control database that cannot be reached
        raise click.ClickException(str(error)) from None
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        server_header=False,
        http=with_read_deadline(settings.request_read_seconds),
    )
