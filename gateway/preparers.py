"""The pool of preparation workers (:mod:`gateway.worker`): started with the app, each bulk
request's raw body goes to an idle worker, which answers a chunk at a time with its rows and
rendered results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from collections.abc import AsyncGenerator

import orjson
from starlette.concurrency import run_in_threadpool

from gateway.ingest import BulkChunk, Ingestor, Rejection
from gateway.worker import ANSWER, INIT, REQUEST

log = logging.getLogger(__name__)


class _WorkerDied(Exception):
    pass


#: What a bulk request's preparation yields: the body's refusal, or its chunks in order.
Prepared = Rejection | BulkChunk
#: A worker's answer as it arrives: pickled frames, then None (all sent) or why it stopped.
_Frames = asyncio.Queue[bytes | _WorkerDied | None]


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self.stdin = process.stdin
        self.stdout = process.stdout

    async def prepare(self, body: bytes, now: float, frames: _Frames) -> None:
        """Send ``body``; put each pickled frame of its answer in ``frames`` as it arrives."""
        if self.stdin.is_closing() or self.process.returncode is not None:
            raise _WorkerDied(f"exited with {self.process.returncode}")
        try:
            self.stdin.write(REQUEST.pack(len(body), now))
            self.stdin.write(body)
            await self.stdin.drain()
            more = True
            while more:
                size, more = ANSWER.unpack(await self.stdout.readexactly(ANSWER.size))
                frames.put_nowait(await self.stdout.readexactly(size))
        except (OSError, RuntimeError, asyncio.IncompleteReadError) as exc:
            # RuntimeError: uvloop's word for a write to a pipe it has seen close
            raise _WorkerDied(str(exc) or type(exc).__name__) from exc


def _frame(data: bytes) -> Prepared:
    result = pickle.loads(data)  # noqa: S301 - from our own worker process
    if isinstance(result, str):  # the worker failed on this body: its traceback
        raise RuntimeError(f"preparation worker failed: {result}")
    assert isinstance(result, Rejection | BulkChunk)
    return result


class Preparers:
    """Prepares bulk bodies in worker processes (in a thread of the gateway if none)."""

    def __init__(self, ingestor: Ingestor, workers: int) -> None:
        self.ingestor = ingestor
        self.size = workers
        # The keyring goes to the worker over its stdin pipe, never through a file.
        self._init = orjson.dumps(
            {
                "agency": ingestor.agency,
                "kind": int(ingestor.kind),
                "keys": {
                    domain: {str(v): key.hex() for v, key in versions.items()}
                    for domain, versions in ingestor.keyring.keys.items()
                },
            }
        )
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: list[_Worker] = []
        self._exchanges: set[asyncio.Future[None]] = set()  # running, held until done

    async def start(self) -> None:
        """Start the workers (in the event loop that will use them)."""
        for _ in range(self.size):
            await self._spawn()

    async def _spawn(self) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 22,
        )
        worker = _Worker(process)
        worker.stdin.write(INIT.pack(len(self._init)) + self._init)
        self._all.append(worker)
        self._idle.put_nowait(worker)

    async def stop(self) -> None:
        """Close the workers' stdin (they exit) and reap them."""
        for worker in self._all:
            with contextlib.suppress(OSError):
                worker.stdin.close()
        for worker in self._all:
            try:
                await asyncio.wait_for(worker.process.wait(), 5)
            except TimeoutError:
                worker.process.kill()
        self._all.clear()

    def pids(self) -> list[int]:
        """Process ids of the workers (for tests and benchmarks)."""
        return [w.process.pid for w in self._all]

    async def prepare_bulk(self, body: bytes, now: float) -> AsyncGenerator[Prepared, None]:
        """:meth:`Ingestor.bulk` and :meth:`Ingestor.chunks` of ``body`` in an idle worker:
        the body's refusal, or its chunks in order, each as soon as the worker has it."""
        done = 0
        if self._all:
            # A request and its answer must not be split by a cancelled caller (a client that
            # hung up): the exchange runs as its own task, which returns the worker when done.
            frames: _Frames = asyncio.Queue()
            exchange = asyncio.ensure_future(self._exchange(body, now, frames))
            self._exchanges.add(exchange)
            exchange.add_done_callback(self._exchanges.discard)
            while (data := await frames.get()) is not None:
                if isinstance(data, _WorkerDied):
                    break  # prepared again here, from the first item not yet answered
                prepared = _frame(data)
                yield prepared
                if type(prepared) is Rejection:
                    return
                done = prepared.end  # type: ignore[union-attr]
            else:
                return
        bulk = await run_in_threadpool(self.ingestor.bulk, body)
        if type(bulk) is Rejection:
            yield bulk
            return
        chunks = self.ingestor.chunks(bulk, now, done)  # type: ignore[arg-type]
        while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
            yield chunk

    async def _exchange(self, body: bytes, now: float, frames: _Frames) -> None:
        worker = await self._idle.get()
        try:
            await worker.prepare(body, now, frames)
        except _WorkerDied as exc:
            log.error("preparation worker %d died (%s); starting another", worker.process.pid, exc)
            self._all.remove(worker)
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
            frames.put_nowait(exc)
            await self._spawn()
            return
        except BaseException:
            self._idle.put_nowait(worker)
            frames.put_nowait(_WorkerDied("the exchange was interrupted"))
            raise
        self._idle.put_nowait(worker)
        frames.put_nowait(None)
