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

import math
import threading
import time
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


class Poll:
    """When to look again at what changes by itself (the chain's head): every ``interval``
    seconds. Under :func:`no_waiting`, the first caller past the interval is sent to look
    (:class:`WouldWait`: it looks from a worker thread) while the others go on with what was
    seen last, for at most one more interval; then they too are sent."""

    def __init__(self, interval: float, what: str) -> None:
        self.interval = interval
        self.what = what
        self._looked = -math.inf
        self._sent = -math.inf

    def due(self) -> bool:
        """Whether to look now (where waiting is allowed); see the class."""
        now = time.monotonic()
        if now - self._looked < self.interval:
            return False
        if not _NO_WAITING.get():
            return True
        if now - self._sent < self.interval and now - self._looked < 2 * self.interval:
            return False  # someone was sent to look
        self._sent = now
        raise WouldWait(self.what)

    def looked(self) -> None:
        """Call once the caller has looked."""
        self._looked = time.monotonic()
