"""Reading a request body within limits: as sent, and once decompressed.

A collector sends gzip; a body is read chunk by chunk and inflated with an output bound, so a
gzip bomb is refused after a few megabytes of work instead of expanding in memory.
"""

import zlib

from fastapi import Request

from flowcdr.api.errors import ApiError

_GZIP = 16 + zlib.MAX_WBITS


async def read_body(request: Request, max_sent: int, max_inflated: int) -> bytes:
    """The body, decompressed when ``Content-Encoding: gzip``; 413/415/400 on bad bodies."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("gzip", "identity"):
        raise ApiError(415, f"Content-Encoding {encoding!r} is not supported; send gzip")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_sent:
        raise ApiError(413, f"the body is larger than {max_sent} bytes")
    inflate = zlib.decompressobj(_GZIP) if encoding == "gzip" else None
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
            except zlib.error as error:
                raise ApiError(400, f"the body is not valid gzip: {error}") from None
            if len(out) > limit:
                raise ApiError(413, f"the body inflates to more than {limit} bytes")
            data = inflate.unconsumed_tail
    if inflate is not None and not inflate.eof:
        raise ApiError(400, "the gzip body is cut short")
    return bytes(out)
