"""One error shape for every failure: ``{"error": {"code", "message", "field"?}}``.

Handlers turn validation errors, HTTP errors and anything unexpected into that shape with the
right status; an unexpected error is logged server-side and the client gets no traceback.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger("flowcdr.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    503: "busy",
    507: "insufficient_storage",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """Raised by routes; becomes an error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code or _CODES.get(status, "error")
        self.headers = headers


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: Any = None
) -> JSONResponse:
    detail = ErrorDetail(code=code, message=message, field=field)
    return JSONResponse(
        ErrorBody(error=detail).model_dump(exclude_none=True), status_code=status, headers=headers
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.field, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        location = [str(part) for part in first.get("loc", ())]
        if location and location[0] in ("body", "query", "header", "path", "cookie"):
            location = location[1:]
        return error_response(422, "invalid", str(first.get("msg")), ".".join(location) or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(error.status_code, "error")
        return error_response(error.status_code, code, str(error.detail), None, error.headers)

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        # The client left mid-body (or was cut off by the read deadline): nobody reads this.
        log.info("client left before sending all of %s %s", request.method, request.url.path)
        return error_response(400, "bad_request", "the request body was cut short")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error; see the server log")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code.replace("_", " ")}
    for status, code in _CODES.items()
    if status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 503, 507)
}

# The same for a route whose success is not JSON (``response_class``): FastAPI would document
# the errors under the success's media type, but they are JSON like everywhere else.
NON_JSON_ROUTE_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, response in ERROR_RESPONSES.items()
}
