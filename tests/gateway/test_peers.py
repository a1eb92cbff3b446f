"""The gateway's client for other gateways: answers read by length or in chunks, connections
kept and reused, a kept connection the peer closed replaced once (and only a kept one), a
connection the peer asks to close not kept, a peer that does not answer given up on at the
deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from gateway.peers import PeerError, Peers

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return await reader.readexactly(length)


async def _serve(handler: Handler) -> tuple[asyncio.Server, str, list[int]]:
    """A server calling ``handler(reader, writer, n)`` for the n-th request on a connection
    (from 1) until it returns False; the list counts the connections made."""
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        n = 0
        while (await _read_request(reader)) is not None:
            n += 1
            if not await handler(reader, writer, n):
                break
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1/exchange/requests", connections


async def _stop(server: asyncio.Server, peers: Peers) -> None:
    """Close the client's connections, let the server's handlers see them end, stop it."""
    await peers.close()
    await asyncio.sleep(0.05)
    server.close()
    await server.wait_closed()


def _answer(body: bytes, *extra: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in extra)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


def test_answers_by_length_and_in_chunks_on_one_kept_connection() -> None:
    async def handler(_: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        if n % 2:
            writer.write(_answer(b'{"n": %d}' % n))
        else:
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'4\r\n{"n"\r\n5;x=y\r\n: 42}\r\n0\r\nTrailer: t\r\n\r\n'
            )
        await writer.drain()
        return True

    async def run() -> None:
        server, url, connections = await _serve(handler)
        peers = Peers(5.0)
        answers = [await peers.post(url, b"{}") for _ in range(4)]
        await _stop(server, peers)
        chunked = (403, b'{"n": 42}')
        assert answers == [(200, b'{"n": 1}'), chunked, (200, b'{"n": 3}'), chunked]
        assert len(connections) == 1

    asyncio.run(run())


def test_a_kept_connection_the_peer_closed_is_replaced_once() -> None:
    async def handler(_: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 2:  # closes the kept connection as the second request arrives, unanswered
            return False
        writer.write(_answer(b"ok"))
        await writer.drain()
        return True

    async def run() -> None:
        server, url, connections = await _serve(handler)
        peers = Peers(5.0)
        assert await peers.post(url, b"{}") == (200, b"ok")
        assert await peers.post(url, b"{}") == (200, b"ok")
        await _stop(server, peers)
        assert len(connections) == 2

    asyncio.run(run())


def test_a_fresh_connection_closed_unanswered_is_an_error_not_a_retry() -> None:
    async def handler(*_: object) -> bool:
        return False

    async def run() -> None:
        server, url, connections = await _serve(handler)
        peers = Peers(5.0)
        with pytest.raises(PeerError, match="closed the connection without answering"):
            await peers.post(url, b"{}")
        await _stop(server, peers)
        assert len(connections) == 1

    asyncio.run(run())


def test_a_connection_the_peer_asks_to_close_is_not_kept() -> None:
    async def handler(_: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(_answer(b"bye", "Connection: close"))
        await writer.drain()
        return False

    async def run() -> None:
        server, url, connections = await _serve(handler)
        peers = Peers(5.0)
        for _ in range(3):
            assert await peers.post(url, b"{}") == (200, b"bye")
        await _stop(server, peers)
        assert len(connections) == 3

    asyncio.run(run())


def test_a_peer_that_does_not_answer_is_given_up_on_at_the_deadline() -> None:
    async def handler(*_: object) -> bool:
        await asyncio.sleep(10)
        return False

    async def run() -> None:
        server, url, _ = await _serve(handler)
        loop = asyncio.get_running_loop()
        started = loop.time()
        peers = Peers(0.5)
        with pytest.raises(TimeoutError):
            await peers.post(url, b"{}")
        assert loop.time() - started < 2
        await _stop(server, peers)

    asyncio.run(run())


def test_a_peer_that_is_not_there_is_an_error() -> None:
    async def run() -> None:
        server = await asyncio.start_server(lambda *_: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(PeerError, match="cannot connect: ConnectionRefusedError"):
            await Peers(5.0).post(f"http://127.0.0.1:{port}/", b"{}")

    asyncio.run(run())
