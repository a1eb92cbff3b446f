"""Preparation workers: processes that parse and check bulk bodies for the gateway.

Validating, hashing and tagging a record costs about a hundred microseconds of Python, so a
bulk load through one process tops out at a few thousand records a second. The gateway
starts a few of these workers (``workers`` setting) and hands each bulk request's raw body to
an idle one; the worker answers, a chunk of items at a time, with pickled
:class:`~gateway.ingest.BulkChunk` s (the rows to insert and every item's answer, rendered),
which the gateway commits as they arrive while the worker checks the next chunk; then it
replies. Neither side holds a whole request's records parsed, or all its rows.

The pool that starts and feeds them is :mod:`gateway.preparers`; this module is what runs
in them, and imports no more than the checks need.

Workers hold no state that matters: they never touch the outbox, and nothing is answered
before the gateway's commit, so a worker dying loses nothing (its request is prepared again
in the gateway). A worker exits when the gateway closes its stdin, or dies.

Protocol over the worker's stdin and stdout, little-endian: first an init frame
``u32 length, JSON {agency, kind, keys: {domain: {version: key hex}}}`` (the keyring); then
per request ``u64 length, f64 now, body`` answered by frames ``u64 length, u8 more, pickle``:
a :class:`~gateway.ingest.Rejection` of the whole body, or its chunks in order, or an error's
text (after which the request is over); ``more`` is 1 while frames of the request follow.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import struct
import sys
from typing import BinaryIO

import orjson

from gateway import profiling
from gateway.faults import crash_point
from gateway.ingest import BulkItems, Ingestor, Rejection
from ledger_node.agencies import AgencyKind
from ledger_node.tagging import Keyring

INIT = struct.Struct("<I")
#: How much less of the CPU a worker asks for than the gateway process (``nice``): bulk
#: preparation is throughput work, and a single record's accept, which runs in the gateway
#: process, must not queue for a core behind it (at 10, the kernel gives the gateway about
#: ten times a worker's share when both want a core).
NICENESS = 10
REQUEST = struct.Struct("<Qd")
ANSWER = struct.Struct("<QB")


def _read(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def main() -> None:
    """The worker's loop (``python -m gateway.worker``, started by :class:`Preparers`)."""
    profiling.install("worker")
    os.nice(NICENESS)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing may print into the answers
    header = _read(stdin, INIT.size)
    if header is None:
        return
    init = orjson.loads(_read(stdin, INIT.unpack(header)[0]) or b"null")
    keyring = Keyring(
        {
            domain: {int(v): bytes.fromhex(key) for v, key in versions.items()}
            for domain, versions in init["keys"].items()
        }
    )
    ingestor = Ingestor(init["agency"], AgencyKind(init["kind"]), keyring)
    # A worker holds JSON values, tuples and bytes, none of which can form a cycle: reference
    # counting frees them, and the cyclic collector would only re-scan a request's hundreds
    # of thousands of objects over and over while it is parsed.
    gc.disable()
    while (header := _read(stdin, REQUEST.size)) is not None:
        size, now = REQUEST.unpack(header)
        body = _read(stdin, size)
        if body is None:
            return
        try:
            _answer(stdout, ingestor, body, now)
        except BrokenPipeError:
            return
        del body


def _send(stdout: BinaryIO, frame: object, *, more: bool) -> None:
    data = pickle.dumps(frame, pickle.HIGHEST_PROTOCOL)
    stdout.write(ANSWER.pack(len(data), more))
    stdout.write(data)
    stdout.flush()


def _answer(stdout: BinaryIO, ingestor: Ingestor, body: bytes, now: float) -> None:
    """Send the frames that answer one request."""
    try:
        bulk = ingestor.bulk(body)
        if type(bulk) is Rejection:
            _send(stdout, bulk, more=False)
            return
        assert isinstance(bulk, BulkItems)
        for chunk in ingestor.chunks(bulk, now):
            more = chunk.end < chunk.total
            _send(stdout, chunk, more=more)
            if more:
                crash_point("worker-chunk-sent")
    except BrokenPipeError:
        raise
    except Exception as exc:  # reported to the gateway, which answers 500
        message = f"{type(exc).__name__}: {exc}"
        del exc
        gc.collect()  # a traceback is the one cycle a worker makes
        _send(stdout, message, more=False)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
