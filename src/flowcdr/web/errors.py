"""Portal errors as pages: a refused or missing thing is shown in the portal's look.

The gateway's error handlers answer JSON, which is right for the API and wrong for a person
following a stale link. Portal routes use ``PortalRoute``, which turns the API's errors and
HTTP exceptions raised under a page into an HTML page with the same status; redirects and
htmx's ``HX-Redirect`` (the way back to sign-in) keep their headers.
"""

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from flowcdr.api.errors import ApiError
from flowcdr.web.render import SECURITY_HEADERS, render_text

_TITLES = {403: "Not allowed", 404: "Not found", 422: "Cannot do that"}


def error_page(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    if status in (301, 302, 303, 307) and headers and "Location" in headers:
        return RedirectResponse(headers["Location"], status_code=status)
    html = render_text("error.html", status=status, title=_TITLES.get(status, "Error"),
                       message=message, viewer=None)  # fmt: skip
    return Response(html, status, headers={**SECURITY_HEADERS, **(headers or {})},
                    media_type="text/html")  # fmt: skip


class PortalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except ApiError as error:
                return error_page(error.status, error.message, error.headers)
            except HTTPException as error:
                return error_page(error.status_code, str(error.detail), error.headers)

        return handler
