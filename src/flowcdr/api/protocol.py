"""The gateway's HTTP/1.1 protocol: uvicorn's h11, with a deadline on receiving each request.

uvicorn closes idle keep-alive connections but puts no bound on a request that arrives slowly:
a client sending a header line or a body byte every few seconds (slow loris) holds its
connection, and the memory of its half-read request, for as long as it likes. Here a request
must arrive whole, head and body, within ``seconds`` of the connection being ready for it (when
it opens, or when the previous response ends); otherwise the client gets 408 and the connection
is closed. A request still being answered is never cut: only receiving is bounded.
"""

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

_TOO_SLOW_BODY = b'{"error":{"code":"timeout","message":"the request did not arrive in time"}}'
TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_TOO_SLOW_BODY), _TOO_SLOW_BODY)
)


def with_read_deadline(seconds: float) -> type[H11Protocol]:
    """The h11 protocol class for uvicorn, bounding how long one request may take to arrive."""

    class DeadlineProtocol(H11Protocol):
        deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self._receiving() is False:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self._receiving() is not False:
                self._arm()

        def _receiving(self) -> bool | None:
            """True while a body arrives, False once a request is whole, None between requests."""
            if self.cycle is None or self.cycle.response_complete:
                return None
            return self.cycle.more_body

        def _arm(self) -> None:
            self._disarm()
            self.deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _too_slow(self) -> None:
            self.deadline = None
            if self.transport.is_closing() or self._receiving() is False:
                return
            if self.cycle is None or not self.cycle.response_started:
                self.transport.write(TOO_SLOW)
            self.transport.close()

    return DeadlineProtocol
