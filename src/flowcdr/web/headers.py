"""The portal's security headers on every portal response, whatever produced it.

Pages rendered by ``render`` carry ``SECURITY_HEADERS`` themselves, but redirects, CSV exports,
static files and errors raised before a page renders did not: a CSV export without ``nosniff``
could be sniffed as HTML. This middleware adds each header that a response under ``/portal``
(or ``/``, which leads there) lacks, so no route can forget one; a header a route set is kept.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowcdr.web.render import SECURITY_HEADERS

_HEADERS = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]


def is_portal(path: str) -> bool:
    return path == "/" or path.startswith("/portal")


class PortalHeaders:
    """ASGI middleware: ``SECURITY_HEADERS`` as defaults of every portal response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_portal(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in _HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
