"""``taxledger disclose``: a partial bundle from a full v2 one, as a real process; bad paths
and v1 bundles are one line and exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ledger_node.bundle import ProofBundleV2, load_bundle
from ledger_node.cli import main

from .conftest import Ledger, V2Ledger

TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TAXLEDGER, *args], capture_output=True, text=True, timeout=120)


def test_disclose_writes_a_partial_bundle_that_verifies(v2: V2Ledger, tmp_path: Path) -> None:
    full, partial = tmp_path / "full.json", tmp_path / "partial.json"
    v2.bundles["payment.settled/v2"].save(full)
    run = _run(
        "disclose", str(full), "--fields", "payee.tax_id,settles[].amount", "--out", str(partial)
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"wrote {partial}: payee.tax_id, settles[0].amount")
    loaded = load_bundle(partial)
    assert isinstance(loaded, ProofBundleV2) and not loaded.complete
    assert set(loaded.record) == {"payee", "settles"}
    v2.verifier().verify(loaded)


def test_disclose_errors_are_one_line(v2: V2Ledger, chain: Ledger, tmp_path: Path) -> None:
    full, v1 = tmp_path / "full.json", tmp_path / "v1.json"
    v2.bundles["invoice.issued/v2"].save(full)
    chain.invoices[0].save(v1)
    out = str(tmp_path / "out.json")
    for args, message in (
        (
            (str(full), "--fields", "seller.taxid"),
            "error: field path 'seller.taxid': names no field",
        ),
        ((str(full), "--fields", "lines[-1]"), "error: field path 'lines[-1]': step 'lines[-1]'"),
        ((str(v1), "--fields", "total"), f"error: {v1} is a taxledger.proof/v1 bundle"),
        ((str(tmp_path),), "Usage:"),
    ):
        run = _run("disclose", *args, "--out", out)
        assert run.returncode == 2, run.stdout + run.stderr
        if message.startswith("error:"):
            assert run.stderr.splitlines() == [run.stderr.strip()]
            assert run.stderr.startswith(message), run.stderr
    assert not Path(out).exists()
    (tmp_path / "broken.json").write_text(json.dumps({"format": "taxledger.proof/v2"}))
    result = CliRunner().invoke(
        main, ["disclose", str(tmp_path / "broken.json"), "--fields", "total", "--out", out]
    )
    assert result.exit_code != 0 and "is not a proof bundle: bundle is missing" in str(
        result.exception
    )
