"""HTTP/1.1 POSTs from this gateway to other members' gateways, on kept-alive connections.

The exchange sends small JSON requests to a handful of peers, many times a second. A general
client (aiohttp, httpx) spends more CPU per request on its machinery than this gateway spends
on sealing the answer; this one writes the request in one buffer, reads the status line, the
headers and a ``Content-Length`` (or chunked) body, and keeps the connection for the next
request. A request on a kept connection that the peer had closed meanwhile is sent once more
on a fresh one: the exchange's requests are idempotent (a retry carries the same nonce).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

#: Connections kept open to one peer once idle.
IDLE_PER_PEER: Final = 64
#: Longest status line or header line read.
MAX_LINE: Final = 8 * 1024
#: Largest answer read.
MAX_BODY: Final = 64 * 1024 * 1024


class PeerError(Exception):
    """The peer could not be reached, or broke off the exchange or the HTTP protocol."""


_BROKEN = (PeerError, OSError, asyncio.IncompleteReadError)


def _peer_error(exc: BaseException) -> BaseException:
    """What a failed exchange raises: a broken connection as PeerError; anything else
    (a timeout, a cancellation) as it is."""
    if isinstance(exc, asyncio.IncompleteReadError):
        return PeerError("the peer broke off the answer")
    if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
        return PeerError(f"the connection broke: {type(exc).__name__}")
    return exc


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used: bool = False

    def close(self) -> None:
        self.writer.close()


@dataclass
class Peers:
    """Kept-alive connections to other gateways, by origin."""

    timeout: float
    _idle: dict[tuple[str, str, int], list[_Connection]] = field(default_factory=dict)
    _tls: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` (JSON) to ``url``: the status and the body of the answer. PeerError
        or TimeoutError (``timeout`` seconds for the whole exchange) if there is none."""
        parts = urlsplit(url)
        https = parts.scheme == "https"
        if parts.scheme not in ("http", "https") or parts.hostname is None:
            raise PeerError(f"{url} is not an http(s) URL")
        origin = (parts.scheme, parts.hostname, parts.port or (443 if https else 80))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        async with asyncio.timeout(self.timeout):
            connection = await self._connection(origin)
            reused = connection.used
            try:
                return await self._exchange(origin, connection, head + body)
            except BaseException as exc:
                connection.close()
                if not reused or not isinstance(exc, _BROKEN):
                    raise _peer_error(exc) from None
            # The peer closed a kept connection before it read the request: once more.
            connection = await self._connection(origin, fresh=True)
            try:
                return await self._exchange(origin, connection, head + body)
            except BaseException as exc:
                connection.close()
                raise _peer_error(exc) from None

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _connection(
        self, origin: tuple[str, str, int], *, fresh: bool = False
    ) -> _Connection:
        idle = self._idle.get(origin)
        while idle and not fresh:
            connection = idle.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                return connection
            connection.close()
        scheme, hostname, port = origin
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            reader, writer = await asyncio.open_connection(hostname, port, ssl=tls, limit=MAX_LINE)
        except OSError as exc:
            raise PeerError(f"cannot connect: {type(exc).__name__}") from None
        return _Connection(reader, writer)

    async def _exchange(
        self, origin: tuple[str, str, int], connection: _Connection, request: bytes
    ) -> tuple[int, bytes]:
        reader = connection.reader
        connection.writer.write(request)
        await connection.writer.drain()
        status_line = await _line(reader)
        if not status_line:
            raise PeerError("the peer closed the connection without answering")
        connection.used = True
        try:
            version, code, *_ = status_line.split(" ", 2)
            status = int(code)
        except ValueError:
            raise PeerError(f"not an HTTP status line: {status_line[:80]!r}") from None
        length: int | None = None
        chunked = False
        keep = version == "HTTP/1.1"
        while line := await _line(reader):
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value) if value.isdigit() else -1
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                keep = value.lower() != "close" and (keep or value.lower() == "keep-alive")
        if chunked:
            body = await _chunked(reader)
        elif length is not None:
            if not 0 <= length <= MAX_BODY:
                raise PeerError(f"the answer's Content-Length {length} is out of range")
            body = await reader.readexactly(length)
        else:
            body = await reader.read(MAX_BODY)
            keep = False
        if keep:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < IDLE_PER_PEER:
                idle.append(connection)
                return status, body
        connection.close()
        return status, body


async def _line(reader: asyncio.StreamReader) -> str:
    """One header-section line without its CRLF; empty at the blank line (or at EOF)."""
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise PeerError("the peer broke off inside a header line") from None
        return ""
    except asyncio.LimitOverrunError:
        raise PeerError(f"a header line longer than {MAX_LINE} bytes") from None
    return raw.rstrip(b"\r\n").decode("latin-1")


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        line = await _line(reader)
        try:
            chunk = int(line.split(";", 1)[0], 16)
        except ValueError:
            raise PeerError(f"not a chunk size: {line[:40]!r}") from None
        if chunk == 0:
            while await _line(reader):  # trailers
                pass
            return b"".join(parts)
        size += chunk
        if size > MAX_BODY:
            raise PeerError(f"an answer over {MAX_BODY} bytes")
        parts.append(await reader.readexactly(chunk))
        await reader.readexactly(2)
