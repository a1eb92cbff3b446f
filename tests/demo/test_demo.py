"""The one-command demo and the local testnet, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ledger_node.demo.scenario import DEMO_PATTERNS, MIN_INVOICES, build_scenario
from ledger_node.records.validation import validate


def taxledger(
    *args: str, timeout: float = 600, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_node", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def test_scenario_is_valid_and_plants_every_pattern_apart() -> None:
    scene = build_scenario(MIN_INVOICES)
    everything = [*scene.submissions, *scene.late]
    for item in [*everything, scene.forged]:
        validate(item.schema, item.record)
    assert len({s.record_id for s in everything}) == len(everything)
    codes = [p.code for p in scene.planted]
    assert codes == [
        "payment_missing",
        "amount_mismatch",
        "payee_not_seller",
        "payer_not_buyer",
        "invoice_revoked",
        "seller_abnormal",
        "invoice_missing",
        "red_exceeds_blue",
        "verification_failed",
        "verification_failed",
    ]
    assert len({p.subject for p in scene.planted}) == 10
    assert [t.pattern for t in scene.truth] == list(DEMO_PATTERNS)
    # The backdated payment comes last, the predated invoice first.
    assert [s.schema for s in scene.late] == ["payment.settled/v2"]
    assert scene.submissions[0].record["issued_at"] > scene.submissions[1].record["as_of"]


def test_too_few_invoices_is_one_clear_error_before_anything_starts(tmp_path: Path) -> None:
    proc = taxledger("demo", "--invoices", str(MIN_INVOICES - 1), "--out", str(tmp_path / "demo"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == (
        f"error: the demo plants {len(DEMO_PATTERNS)} patterns, each on facts of its own; give "
        f"at least {MIN_INVOICES} invoices"
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "demo").exists()


def test_demo_on_the_embedded_chain_finds_exactly_the_planted_problems(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = taxledger("demo", "--invoices", str(MIN_INVOICES), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: the audit found all 11 planted problems and nothing else" in proc.stdout
    assert "the risk report ranks exactly the" in proc.stdout
    assert "refused by the ledger: LedgerUnknownSigner" in proc.stdout
    # The exchange: a rating read with consent and verified, the same without it refused,
    # the payments to an abnormal company read by the regulator; both disclosures on chain.
    assert "from the tax bureau with its consent CST-" in proc.stdout
    assert "the same request without the consent was refused: 403 consent_missing" in proc.stdout
    assert "exchange: the market regulator read the 1 payment(s) to the abnormal company" in (
        proc.stdout
    )
    assert "2 disclosure records anchored and final" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["findings"] == 11
    assert report["summary"]["findings_by_code"] == {
        "amount_mismatch": 1,
        "decision_rating_not_obtained": 1,
        "invoice_missing": 1,
        "invoice_revoked": 1,
        "payee_not_seller": 1,
        "payer_not_buyer": 1,
        "payment_missing": 1,
        "red_exceeds_blue": 1,
        "seller_abnormal": 1,
        "verification_failed": 2,
    }
    risk = json.loads((out / "risk.json").read_text())
    assert risk["format"] == "taxledger.risk/v1"
    # One of each risk pattern: every indicator fired.
    assert set(risk["summary"]["hits_by_indicator"]) == {i["code"] for i in risk["indicators"]}
    assert "<svg" in (out / "risk.html").read_text()
    deployment = json.loads((out / "deployment.json").read_text())
    assert deployment["format"] == "taxledger.deployment/v2"
    bundles = list((out / "bundles").rglob("*.json"))
    assert len(bundles) == report["summary"]["bundles"]
    assert "<html" in (out / "report.html").read_text()[:200].lower()
    # Running it again into the same directory replaces the earlier run's files.
    (out / "notes.txt").write_text("mine")
    again = taxledger("demo", "--invoices", str(MIN_INVOICES), "--out", str(out))
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads((out / "deployment.json").read_text())["ledger"] != deployment["ledger"]
    assert len(list((out / "bundles").rglob("*.json"))) == len(bundles)
    assert (out / "notes.txt").read_text() == "mine"


def test_testnet_up_demo_over_http_and_down(tmp_path: Path) -> None:
    net = tmp_path / "net"
    # A directory relative to where the command runs, as a user would type it.
    up = taxledger("testnet", "up", "--dir", "net", cwd=tmp_path)
    assert up.returncode == 0, up.stdout + up.stderr
    doc = json.loads((net / "testnet.json").read_text())
    assert doc["deployment"] == str(net / "deployment.json")
    pids = [doc["node"]["pid"], *(g["pid"] for g in doc["gateways"].values())]
    try:
        assert set(doc["gateways"]) == {"tax-bureau", "bank", "market-regulator"}
        for pid in pids:
            os.kill(pid, 0)  # every process is running
        run = taxledger(
            "demo",
            "--testnet",
            str(net),
            "--invoices",
            str(MIN_INVOICES),
            "--out",
            str(tmp_path / "o"),
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert "OK: the audit found all 11 planted problems and nothing else" in run.stdout
        assert "the same request without the consent was refused: 403 consent_missing" in (
            run.stdout
        )
    finally:
        down = taxledger("testnet", "down", "--dir", str(net))
    assert down.returncode == 0, down.stderr
    assert f"stopped {len(pids)} process(es)" in down.stdout
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} survived testnet down")
