"""Reading a request body within limits: as sent, and once decompressed.

A collector sends gzip; a body is read chunk by chunk and inflated with an output bound, so a
gzip bomb is refused after a few megabytes of work instead of expanding in memory. ISA-L
inflates about twice as fast as zlib, and inflating is a fair share of ingest's CPU.
"""

from fastapi import Request
from isal import isal_zlib

from flowcdr.api.errors import ApiError

_GZIP = 16 + isal_zlib.MAX_WBITS
# isal's stub types ``error`` as an exception instance; it is the class ``IsalError``.
_InflateError: type[Exception] = isal_zlib.error  # type: ignore[assignment]


async def read_body(request: Request, max_sent: int, max_inflated: int) -> bytes:
    """The body, decompressed when ``Content-Encoding: gzip``; 413/415/400 on bad bodies."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("gzip", "identity"):
        raise ApiError(415, f"Content-Encoding {encoding!r} is not supported; send gzip")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_sent:
        raise ApiError(413, f"the body is larger than {max_sent} bytes")
    inflate = isal_zlib.decompressobj(_GZIP) if encoding == "gzip" else None
    limit = max_inflated if inflate else max_sent
    out = bytearray()
    sent = 0
    async for chunk in request.stream():
        sent += len(chunk)
        if sent > max_sent:
            raise ApiError(413, f"the body is larger than {max_sent} bytes")
        if inflate is None:
            out += chunk
            continue
        data = chunk
        while data and not inflate.eof:
            try:
                out += inflate.decompress(data, limit - len(out) + 1)
            except _InflateError as error:
                raise ApiError(400, f"the body is not valid gzip: {error}") from None
            if len(out) > limit:
                raise ApiError(413, f"the body inflates to more than {limit} bytes")
            data = inflate.unconsumed_tail
    if inflate is not None and not inflate.eof:
        raise ApiError(400, "the gzip body is cut short")
    return bytes(out)
