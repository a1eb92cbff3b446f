"""Verify many bundles in worker processes, each with a verifier of its own.

One Python process verifies bundles one core at a time; an auditor with tens of thousands of
bundles has more cores than that. :func:`verify_in_processes` splits the bundles into
contiguous chunks (bundles of one batch usually lie together, so each worker still pays for a
root's checks 4 to 7 about once), hands them to a pool of processes that each build their
verifier with the factory given (over their own connection to an audit index, say), and
yields the verdicts in the order of the input: a worker runs exactly
:meth:`~ledger_node.verify.Verifier.verify_many`, every check, and returns only the verdict
(``None`` or the failure's check, code and message), so nothing but file names or bundle
bytes and short verdicts cross process boundaries.

Where the platform forks (Linux), workers inherit the input list and receive only index
ranges; elsewhere the chunks themselves are sent, and the factory must pickle (a module-level
function, or a :func:`functools.partial` of one).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ledger_node.verify import VerificationFailure, Verifier

#: A bundle to verify: its JSON bytes, or the path of its file.
Item = bytes | str | Path
#: One verdict as it crosses a process boundary: None (passed) or (check, code, message).
_Verdict = tuple[int, str, str] | None

#: Below this many bundles, starting processes costs more than it saves.
PARALLEL_THRESHOLD = 1_000

_verifier: Verifier | None = None  # the worker's own
_items: Sequence[Item] = ()  # the input, inherited through fork


def default_processes() -> int:
    """One worker per CPU this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def verify_in_processes(
    make_verifier: Callable[[], Verifier],
    items: Sequence[Item],
    *,
    processes: int | None = None,
    chunk_size: int | None = None,
) -> Iterator[VerificationFailure | None]:
    """Verify ``items`` in ``processes`` workers (one per CPU by default), each with the
    verifier ``make_verifier()`` builds in it, yielding each item's verdict in input order:
    ``None`` if it passed every check, else its :class:`VerificationFailure`.

    The verdicts are the ones :meth:`Verifier.verify_many` gives in one process.
    """
    global _items
    processes = processes or default_processes()
    if chunk_size is None:
        # Several chunks per worker (an even finish), but long enough to share batch roots.
        chunk_size = max(64, min(2_000, -(-len(items) // (processes * 4))))
    total = len(items)
    bounds = [(start, min(start + chunk_size, total)) for start in range(0, total, chunk_size)]
    if not bounds:
        return
    forking = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forking else "spawn")
    if forking:
        _items = items  # the workers see it as it is now; only ranges are sent
        tasks: list[object] = list(bounds)
        work: Callable[..., list[_Verdict]] = _verify_range
    else:
        tasks = [list(items[start:stop]) for start, stop in bounds]
        work = _verify_chunk
    pool = context.Pool(
        min(processes, len(bounds)), initializer=_start_worker, initargs=(make_verifier,)
    )
    try:
        for verdicts in pool.imap(work, tasks):
            for verdict in verdicts:
                yield None if verdict is None else VerificationFailure(*verdict)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        _items = ()


def _start_worker(make_verifier: Callable[[], Verifier]) -> None:
    global _verifier
    _verifier = make_verifier()


def _verify_range(bounds: tuple[int, int]) -> list[_Verdict]:
    return _verify_chunk(_items[bounds[0] : bounds[1]])


def _verify_chunk(items: Sequence[Item]) -> list[_Verdict]:
    assert _verifier is not None
    return [
        None if failure is None else (failure.check, failure.code, failure.message)
        for failure in _verifier.verify_many(items)
    ]
