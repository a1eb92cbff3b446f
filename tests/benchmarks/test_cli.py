"""``taxledger bench``: with --json, stdout is one JSON object and the account goes to stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from ledger_node.cli import main
from taxledger_dev.benchmarks import run as bench_run


def _fake_run(errors: dict[str, str]) -> Callable[..., dict[str, Any]]:
    def fake(options: bench_run.BenchOptions, say: Callable[[str], None]) -> dict[str, Any]:
        say(f"window {options.seconds:.0f} s")
        return {"records_per_s_ratio": 51.9, "errors": errors}

    return fake


def test_json_goes_to_stdout_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_run, "run", _fake_run({}))
    result = CliRunner().invoke(main, ["bench", "--json", "--seconds", "5"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"records_per_s_ratio": 51.9, "errors": {}}
    assert result.stderr == "window 5 s\n"


def test_without_json_the_account_goes_to_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_run, "run", _fake_run({"gateway": "it broke"}))
    result = CliRunner().invoke(main, ["bench", "--quick"])
    assert result.exit_code == 1
    assert result.stdout == "window 30 s\n"
