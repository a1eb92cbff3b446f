"""The profiling hook: a process with the variable set writes its profile on SIGUSR1 and
records afresh; without it, nothing is installed."""

from __future__ import annotations

import os
import pstats
import signal
import subprocess
import sys
from pathlib import Path

from gateway import profiling

_PROGRAM = """
import os, signal, sys, time
from gateway import profiling
profiling.install("probe")
def busy_one():
    return sum(i * i for i in range(200_000))
def busy_two():
    return sorted(range(200_000), key=lambda i: -i)[0]
busy_one()
os.kill(os.getpid(), signal.SIGUSR1)
busy_two()
os.kill(os.getpid(), signal.SIGUSR1)
print("done")
"""


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROGRAM], env=env, capture_output=True, text=True, timeout=60
    )


def _functions(path: Path) -> set[str]:
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    return {name for (_, _, name) in stats}


def test_each_signal_writes_what_was_recorded_since_the_last(tmp_path: Path) -> None:
    done = _run({**os.environ, profiling.ENV: str(tmp_path)})
    assert done.returncode == 0 and done.stdout == "done\n", done.stderr
    first = sorted(tmp_path.glob("probe-*-1.prof"))
    second = sorted(tmp_path.glob("probe-*-2.prof"))
    assert len(first) == len(second) == 1
    assert "busy_one" in _functions(first[0]) and "busy_two" not in _functions(first[0])
    assert "busy_two" in _functions(second[0]) and "busy_one" not in _functions(second[0])
    threads = first[0].with_suffix(".threads").read_text().splitlines()
    assert [line.split("\t")[0] for line in threads] == ["MainThread"]
    assert float(threads[0].split("\t")[1]) >= 0


def test_without_the_variable_a_signal_keeps_its_default(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != profiling.ENV}
    done = _run(env)
    assert done.returncode == -signal.SIGUSR1  # nothing installed: SIGUSR1 ends it
    assert not list(tmp_path.iterdir())
