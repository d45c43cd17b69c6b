"""``flowcdr intel``: check threat-intel files, and refresh them from their URLs.

Feeds cannot ship with flowcdr (their terms differ, and a week-old list is stale), so a
deployment with internet fetches them: ``flowcdr intel update URL -o FILE`` downloads to a
temporary file beside FILE, checks that it reads as a feed with valid addresses, and only then
replaces FILE, so a failed or truncated download never leaves a broken list behind.
"""

import datetime as dt
import os
import urllib.request
from pathlib import Path
from urllib.error import URLError

import click

from flowcdr.detect.feeds import IntelError, read_feed

MAX_BYTES = 256 << 20
TIMEOUT_SECONDS = 60


@click.group("intel")
def intel() -> None:
    """Threat-intel lists: check files, update them from URLs."""


@intel.command("check")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--max-age-days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Indicators last seen before this many days ago count as expired (0: never).",
)
def check(files: tuple[Path, ...], max_age_days: int) -> None:
    """Say what each list holds once loaded: ranges, invalid, private or bogon, expired."""
    age = dt.timedelta(days=max_age_days) if max_age_days else None
    for path in files:
        try:
            feed = read_feed(path, max_age=age)
        except IntelError as error:
            raise click.ClickException(str(error)) from None
        stats = feed.stats
        samples = f" ({', '.join(stats.samples)})" if stats.samples else ""
        click.echo(
            f"{path}: list {feed.name!r}: {stats.read} indicators -> {stats.ranges} ranges; "
            f"{stats.invalid} invalid{samples}, "
            f"{stats.stripped} private or bogon, {stats.expired} expired"
        )


@intel.command("update")
@click.argument("url")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The list file to replace (its stem names the list).",
)
def update(url: str, output: Path) -> None:
    """Download URL (https, http or file) and replace OUTPUT once it reads as a feed."""
    if url.split(":", 1)[0].lower() not in {"https", "http", "file"}:
        raise click.ClickException(f"{url}: only https, http and file URLs are fetched")
    partial = output.with_name(f".{output.name}.download")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 - scheme checked above
            data = answer.read(MAX_BYTES + 1)
    except (URLError, OSError, ValueError) as error:
        raise click.ClickException(f"{url}: {error}") from None
    if len(data) > MAX_BYTES:
        raise click.ClickException(f"{url}: larger than {MAX_BYTES >> 20} MiB, refused")
    partial.write_bytes(data)
    try:
        feed = read_feed(partial, max_age=None)
    except IntelError as error:
        partial.unlink()
        raise click.ClickException(str(error).replace(str(partial), url)) from None
    if not len(feed):
        partial.unlink()
        raise click.ClickException(f"{url}: no public address in it; {output} left as it was")
    os.replace(partial, output)
    click.echo(f"{output}: {feed.stats.read} indicators, {feed.stats.ranges} ranges from {url}")
