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
"""

from __future__ import annotations

import cProfile
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Final

ENV: Final = "TAXLEDGER_GATEWAY_PROFILE_DIR"


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
