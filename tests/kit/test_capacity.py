"""docs/capacity.md is what scripts/capacity.py computes from the committed benchmark run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

from ledger_node.kit import genesis as qbft

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("capacity", ROOT / "scripts" / "capacity.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_is_the_scripts_output_for_the_committed_run() -> None:
    bench = json.loads((ROOT / "docs" / "capacity-bench.json").read_text())
    page = (ROOT / "docs" / "capacity.md").read_text()
    assert page == _script().render(bench), "run .venv/bin/python scripts/capacity.py"


def test_the_committed_run_fits_the_kits_sizing() -> None:
    bench = json.loads((ROOT / "docs" / "capacity-bench.json").read_text())
    assert bench["taxledger_gas_anchor_batch"] <= qbft.ANCHOR_BATCH_GAS


def test_sizes_are_computed_from_real_encodings() -> None:
    capacity = _script()
    # From 4 to 7 validators a header gains three addresses (21 bytes each as RLP), two
    # quorum seals (65 bytes, 67 as RLP) and a byte of the seal list's length (201 -> 335).
    assert capacity.header_bytes(7, 7_000_000) - capacity.header_bytes(4, 7_000_000) == (
        3 * 21 + 2 * 67 + 1
    )
    assert 300 < capacity.anchor_transaction_bytes() < 600
    assert 300 < capacity.anchor_receipt_bytes() < 500
