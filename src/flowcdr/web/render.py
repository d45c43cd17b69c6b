"""Turning data into HTML: the Jinja2 environment (autoescaped), its filters, static assets.

Static files are served by the portal itself (no CDN, no build step) under a content hash, so
browsers may cache them for a year and a new release is never served a stale script. Every
page is sent with a Content-Security-Policy that allows only this origin's scripts: the pages
have no inline script, and chart data travels as JSON in ``<script type="application/json">``.
"""

import datetime as dt
import functools
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from flowcdr.detect.rule import TACTICS
from flowcdr.web.session import CSRF_FIELD, Viewer

STATIC_PREFIX = "/portal/static/"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


@dataclass(frozen=True)
class Asset:
    path: Path
    digest: str
    media_type: str


_MEDIA = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@functools.cache
def assets() -> dict[str, Asset]:
    """Every servable static file by its name under ``static/``, with a short content hash."""
    root = Path(str(resources.files("flowcdr.web") / "static"))
    found = {}
    for path in sorted(root.rglob("*")):
        media = _MEDIA.get(path.suffix)
        if path.is_file() and media:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            found[path.relative_to(root).as_posix()] = Asset(path, digest, media)
    return found


def static_url(name: str) -> str:
    return f"{STATIC_PREFIX}{name}?v={assets()[name].digest}"


def human_bytes(value: int | float | None) -> str:
    """1536 -> '1.5 KB' (powers of 1000, as network tools count)."""
    if value is None:
        return "-"
    if value < 1000:
        return f"{int(value)} B"
    power = min(int(math.log10(value) // 3), len(_UNITS) - 1)
    return f"{value / 1000**power:.1f} {_UNITS[power]}"


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _moment(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def when(value: str | dt.datetime | None) -> str:
    """A time as people read it in a SOC: UTC, to the second."""
    moment = _moment(value)
    return "-" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: str | dt.datetime | None) -> str:
    moment = _moment(value)
    if moment is None:
        return "never"
    seconds = int((dt.datetime.now(dt.UTC) - moment).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if abs(seconds) >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def attack_url(attack_id: str) -> str:
    """MITRE's page of a tactic (TA0011) or technique (T1071, T1110.001)."""
    if attack_id.startswith("TA"):
        return f"https://attack.mitre.org/tactics/{attack_id}/"
    return f"https://attack.mitre.org/techniques/{attack_id.replace('.', '/')}/"


def tactic_name(tactic_id: str) -> str:
    return TACTICS.get(tactic_id, tactic_id).replace("_", " ").title()


def query(base: Mapping[str, Any], **changes: Any) -> str:
    """``base`` with ``changes`` as a query string; None values are left out."""
    merged = {**base, **changes}
    return urlencode({k: v for k, v in merged.items() if v is not None and v != ""})


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flowcdr.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        bytes=human_bytes,
        count=count,
        when=when,
        ago=ago,
        attack_url=attack_url,
        tactic_name=tactic_name,
    )
    env.globals.update(static=static_url, query=query, csrf_field=CSRF_FIELD)
    return env


def render_text(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def page(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A whole page or an htmx fragment, with the security headers every portal answer has."""
    html = render_text(template, request=request, viewer=viewer, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
