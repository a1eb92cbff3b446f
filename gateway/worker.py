"""Preparation workers: processes that parse and check bulk bodies for the gateway.

Validating, hashing and tagging a record costs about a hundred microseconds of Python, so a
bulk load through one process tops out at a few thousand records a second. The gateway
starts a few of these workers (``workers`` setting) and hands each bulk request's raw body to
an idle one; the worker answers with a pickled :class:`~gateway.ingest.PreparedBulk` (the
rows to insert and every item's answer, rendered) and the gateway only commits and replies.

The pool that starts and feeds them is :mod:`gateway.preparers`; this module is what runs
in them, and imports no more than the checks need.

Workers hold no state that matters: they never touch the outbox, and nothing is answered
before the gateway's commit, so a worker dying loses nothing (its request is prepared again
in the gateway). A worker exits when the gateway closes its stdin, or dies.

Protocol over the worker's stdin and stdout, little-endian: first an init frame
``u32 length, JSON {agency, kind, key}``; then per request ``u64 length, f64 now, body``
answered by ``u64 length, pickle``.
"""

from __future__ import annotations

import contextlib
import gc
import pickle
import struct
import sys
from typing import BinaryIO

import orjson

from gateway.ingest import Ingestor
from ledger_node.agencies import AgencyKind

INIT = struct.Struct("<I")
REQUEST = struct.Struct("<Qd")
ANSWER = struct.Struct("<Q")


def _read(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def main() -> None:
    """The worker's loop (``python -m gateway.worker``, started by :class:`Preparers`)."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing may print into the answers
    header = _read(stdin, INIT.size)
    if header is None:
        return
    init = orjson.loads(_read(stdin, INIT.unpack(header)[0]) or b"null")
    ingestor = Ingestor(init["agency"], AgencyKind(init["kind"]), bytes.fromhex(init["key"]))
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
            answer = pickle.dumps(ingestor.prepare_bulk(body, now), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # reported to the gateway, which answers 500
            answer = pickle.dumps(f"{type(exc).__name__}: {exc}")
            del exc
            gc.collect()  # a traceback is the one cycle a worker makes
        del body
        try:
            stdout.write(ANSWER.pack(len(answer)))
            stdout.write(answer)
            stdout.flush()
        except BrokenPipeError:
            return


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
