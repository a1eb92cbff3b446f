"""Profiling a running gateway: where its CPU goes, phase by phase of a load.

With ``TAXLEDGER_GATEWAY_PROFILE_DIR`` set, a gateway process and each preparation worker it
starts profile their main thread (``cProfile``: the gateway's event loop, a worker's
preparation) from the start, and on ``SIGUSR1`` write what they recorded since the last
signal to ``DIR/<role>-<pid>-<n>.prof`` (``pstats`` files) and record afresh, beside
``DIR/<role>-<pid>-<n>.threads``: the CPU seconds each of its threads has used so far, by
name (the committer, checkpointer and batcher threads are not profiled, only timed). A profile
cannot be had by stopping the process instead: cProfile writes nothing when a process is
terminated. ``scripts/bench_gateway.py --profile DIR`` signals once per phase. Unset, as in
any real deployment, nothing is installed.

With ``TAXLEDGER_GATEWAY_TIMINGS`` set to a file, a gateway appends to it where each single
record's accept spent its time (:class:`Timings`), and when its event loop woke late: without
a profiler's own slowness in the way. ``scripts/bench_gateway.py --breakdown`` reads it.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final

ENV: Final = "TAXLEDGER_GATEWAY_PROFILE_DIR"
TIMINGS_ENV: Final = "TAXLEDGER_GATEWAY_TIMINGS"
#: The stamps of a ``single`` line, in order.
SINGLE_STAMPS: Final = (
    "handler",  # the request's body is read and its handling starts
    "prepared",  # checked and committed to (commitment, leaf)
    "queued",  # handed to the group commit
    "taken",  # the committer takes it into a transaction
    "began",  # the transaction holds the write lock
    "committed",  # the transaction is on disk
    "resumed",  # the request's coroutine runs again
)
#: How often the event loop's watch asks to be woken, and how late a wake-up must be to count.
WATCH_PERIOD: Final = 0.001
LATE: Final = 0.002


class _Recorder:
    """The running profile of this process, written and restarted on each signal."""

    def __init__(self, folder: Path, role: str) -> None:
        self.folder = folder
        self.role = role
        self.written = 0
        self.profile = cProfile.Profile()
        self.profile.enable()

    def dump(self, signum: int, frame: FrameType | None) -> None:
        self.profile.disable()
        self.written += 1
        stem = f"{self.role}-{os.getpid()}-{self.written}"
        self.profile.dump_stats(self.folder / f"{stem}.prof")
        (self.folder / f"{stem}.threads").write_text("".join(_thread_times()))
        self.profile = cProfile.Profile()
        self.profile.enable()


def _thread_times() -> list[str]:
    tick = os.sysconf("SC_CLK_TCK")
    lines = []
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[1].split()
        lines.append(f"{thread.name}\t{(int(fields[11]) + int(fields[12])) / tick:.2f}\n")
    return lines


def install(role: str) -> None:
    """Profile this process's main thread if ``TAXLEDGER_GATEWAY_PROFILE_DIR`` is set."""
    directory = os.environ.get(ENV)
    if not directory:
        return
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGUSR1, _Recorder(folder, role).dump)


class Timings:
    """Lines of a text file, stamps from ``time.perf_counter`` (one clock for every process of
    the machine, so a client's own stamps compare with them):

    * ``single <id> <stamp> ...``: a single record accepted, stamped at
      :data:`SINGLE_STAMPS`;
    * ``late <woken> <late by> <main thread CPU> <process CPU>``: the event loop woke later
      than asked by more than :data:`LATE` seconds, with the CPU seconds its thread and the
      whole process used meanwhile (little of either: the process was not scheduled).
    """

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", buffering=1)
        self._lock = threading.Lock()

    def single(self, record_id: str, stamps: Sequence[float]) -> None:
        """Note a single record's accept."""
        line = " ".join(("single", record_id, *(f"{t:.6f}" for t in stamps)))
        with self._lock:
            self._file.write(line + "\n")

    async def watch_loop(self) -> None:
        """Note each late wake-up of the running event loop, until cancelled."""
        while True:
            asked = time.perf_counter() + WATCH_PERIOD
            thread, process = time.thread_time(), time.process_time()
            await asyncio.sleep(WATCH_PERIOD)
            woken = time.perf_counter()
            if woken - asked > LATE:
                line = (
                    f"late {woken:.6f} {woken - asked:.6f} {time.thread_time() - thread:.6f} "
                    f"{time.process_time() - process:.6f}"
                )
                with self._lock:
                    self._file.write(line + "\n")

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


def timings() -> Timings | None:
    """This process's :class:`Timings` if ``TAXLEDGER_GATEWAY_TIMINGS`` names a file."""
    path = os.environ.get(TIMINGS_ENV)
    return Timings(Path(path)) if path else None
