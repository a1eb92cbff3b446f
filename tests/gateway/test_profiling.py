"""The profiling hook: a process with the variable set writes its profile on SIGUSR1 and
records afresh; without it, nothing is installed."""

from __future__ import annotations

import os
import pstats
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gateway_harness import Chain, GatewayProcess

from gateway import profiling
from ledger_node.records import samples

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


def _item(seed: int) -> dict[str, Any]:
    (record,) = samples.generate("invoice.issued/v1", 1, seed=seed)
    return {"schema": "invoice.issued/v1", "id": f"timed-{seed}", "record": record}


def test_with_timings_a_gateway_stamps_each_single_on_its_way(
    chain: Chain,
    start_gateway: Callable[..., GatewayProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timings = tmp_path / "timings.txt"
    monkeypatch.setenv(profiling.TIMINGS_ENV, str(timings))
    gateway = start_gateway(chain)
    bodies = [_item(seed) for seed in range(3)]
    for body in bodies:
        assert gateway.post("/v1/records", body).status_code == 202
    assert gateway.post("/v1/records", bodies[0]).status_code == 200  # a re-post, stamped too
    assert gateway.post("/v1/records", {"schema": "x"}).status_code == 422  # refused: not stamped
    singles = [
        line.split() for line in timings.read_text().splitlines() if line.startswith("single")
    ]
    assert [fields[1] for fields in singles] == [b["id"] for b in bodies] + [bodies[0]["id"]]
    for fields in singles:
        stamps = [float(x) for x in fields[2:]]
        assert len(stamps) == len(profiling.SINGLE_STAMPS) and stamps == sorted(stamps)


def test_timings_are_kept_only_where_the_variable_names_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(profiling.TIMINGS_ENV, raising=False)
    assert profiling.timings() is None
    monkeypatch.setenv(profiling.TIMINGS_ENV, str(tmp_path / "t.txt"))
    timings = profiling.timings()
    assert timings is not None
    timings.single("r-1", [1.0, 2.0])
    timings.close()
    assert (tmp_path / "t.txt").read_text() == "single r-1 1.000000 2.000000\n"
