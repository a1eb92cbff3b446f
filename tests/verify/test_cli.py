"""``taxledger verify``: one verdict line per bundle, exit 0 only if all pass."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from click.testing import CliRunner

from ledger_node.cli import main

from .conftest import Ledger


def test_verify_prints_ok_and_fail_lines(chain: Ledger, synced_index: Path, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "sub" / "bad.json"
    bad.parent.mkdir()
    chain.invoices[0].save(good)
    dataclasses.replace(chain.invoices[1], salt=chain.invoices[0].salt).save(bad)

    result = CliRunner().invoke(main, ["verify", str(good), "--index", str(synced_index)])
    assert (result.exit_code, result.output) == (0, f"OK: {good}\n")

    result = CliRunner().invoke(main, ["verify", str(tmp_path), "--index", str(synced_index)])
    assert result.exit_code == 1
    ok_line, fail_line = result.output.splitlines()
    assert ok_line == f"OK: {good}"
    assert fail_line.startswith(f"FAIL: {bad}: (2) schema id, salt and record hash commit to 0x")
    assert fail_line.endswith("the salt is not the one committed")


def test_verify_needs_a_node_or_an_index(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{}")
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert result.exit_code == 2
    assert "give --rpc and --deployment, or --index" in result.output
