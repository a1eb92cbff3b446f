"""Serving a gateway's app over HTTP (uvicorn), with the limits a slow client must not beat.

uvicorn closes a connection idle between requests (keep-alive timeout) but waits forever
for the headers of a request that has begun, or of a connection's first request: a client
could hold connections open without ever sending a request. Here a request's headers must
arrive within ``header_timeout`` of its first byte (or of the connection), else the client
gets a 408 and the connection is closed. The body's own deadline is enforced while the app
reads it (:class:`gateway.errors.BodyGuard`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway import profiling
from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

#: Seconds a connection may stay idle between requests.
KEEP_ALIVE = 5
_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)


class _HeaderDeadline(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline for each request's headers."""

    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request's deadline starts with its first byte (the keep-alive timeout
        # covers the wait for it).
        self._disarm()

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        body = (
            b'{"error":{"code":"request_timeout","message":"the request headers did not '
            b'arrive within %d s; send the whole request at once","problems":[]}}'
            % self.header_timeout
        )
        log.info("closed a connection from %s: no complete headers in %.0f s",
                 self.client, self.header_timeout)  # fmt: skip
        self.transport.write(_REQUEST_TIMEOUT % (len(body), body))
        self.transport.close()


def server_config(
    app: Any, settings: GatewaySettings, *, port: int | None = None
) -> uvicorn.Config:
    """uvicorn's configuration for a gateway app: its address, limits and logging."""
    protocol = type(
        "GatewayHttpProtocol", (_HeaderDeadline,), {"header_timeout": settings.header_timeout}
    )
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port if port is None else port,
        http=protocol,
        log_level=settings.log_level,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE,
        timeout_graceful_shutdown=5,
    )


def serve(app: Any, settings: GatewaySettings) -> None:
    """Serve ``app`` until the process is stopped."""
    profiling.install("gateway")
    uvicorn.Server(server_config(app, settings)).run()


@contextmanager
def serve_in_thread(app: Any, settings: GatewaySettings, port: int) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` in a thread of this process; yield its URL."""
    server = uvicorn.Server(server_config(app, settings, port=port))
    thread = threading.Thread(target=server.run, name=f"gateway:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"a gateway did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
