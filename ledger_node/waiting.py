"""Work that runs on an event loop as long as it need not wait, and moves to a thread when
it must.

A gateway answers most exchange requests from what it has cached of the chain: a few hundred
microseconds of CPU, about what a hop to a worker thread and back costs by itself. So it runs
them on its event loop under :func:`no_waiting`: there, whatever would wait — a call to the
node (:mod:`ledger_node.chain.rpc`), a lock that a thread asking the node holds, a write
behind the outbox's writer — raises :class:`WouldWait` instead, before it changes anything,
and the caller runs the work again in a worker thread, where it may wait.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class WouldWait(Exception):
    """Raised, under :func:`no_waiting`, instead of waiting; names what it would wait for."""


_NO_WAITING: ContextVar[bool] = ContextVar("no_waiting", default=False)


@contextmanager
def no_waiting() -> Iterator[None]:
    """Within this block, :func:`would_wait` and :func:`holding` raise :class:`WouldWait`
    instead of waiting."""
    token = _NO_WAITING.set(True)
    try:
        yield
    finally:
        _NO_WAITING.reset(token)


def would_wait(what: str) -> None:
    """Call before waiting for ``what``: raises :class:`WouldWait` under :func:`no_waiting`."""
    if _NO_WAITING.get():
        raise WouldWait(what)


@contextmanager
def holding(lock: threading.Lock, what: str) -> Iterator[None]:
    """``with lock``; under :func:`no_waiting`, :class:`WouldWait` if another thread holds
    it (``what`` it guards: that thread may be asking the node for it)."""
    if not lock.acquire(blocking=not _NO_WAITING.get()):
        raise WouldWait(what)
    try:
        yield
    finally:
        lock.release()
