"""``taxledger risk`` as a user runs it: a real anvil node, bundles anchored on it, the
command as a process — from the node and deployment, then from the synced index alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from ledger_node.anchoring import anchor_records
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.localnode import LocalNode
from ledger_node.records.economy import generate_market
from ledger_node.records.patterns import plant
from ledger_node.risk.facts import attesting_agency

CONSORTIUM_KEY = bytes(range(96, 128))
PATTERNS = ("unpaid_invoice", "circular_invoicing", "backdated_payment", "predated_invoice")


def taxledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_node", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def ledger(anvil: LocalNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A market anchored on anvil, agency by agency, with four patterns planted; the fact
    attested late comes in a later block."""
    w3 = connect(anvil.url)
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    market = generate_market(3, invoices=600, companies=120)
    truth = plant(market, PATTERNS, 3)
    late = {id(r) for _, r, when in market.timing if when == "late"}
    out = tmp_path_factory.mktemp("risk-cli")
    records = out / "bundles"

    def anchor(schema: str, batch: list[dict[str, object]], tag: str) -> None:
        agency = attesting_agency(schema)
        key = consortium.keys[agency]
        bundles = anchor_records(
            client, key, client.sender(key), schema, batch, consortium_key=CONSORTIUM_KEY
        )
        folder = records / agency
        folder.mkdir(parents=True, exist_ok=True)
        for i, bundle in enumerate(bundles):
            bundle.save(folder / f"{schema.replace('/', '-')}-{tag}-{i:05d}.json")

    for schema, items in market.records.items():
        batch = [r for r in items if id(r) not in late]
        if batch:
            anchor(schema, batch, "a")
    for schema, record, when in market.timing:
        if when == "late":
            anchor(schema, [record], "late")
    deployment = out / "deployment.json"
    consortium.deployment.save(deployment)
    flagged = sorted({t for g in truth for t in g.flagged})
    return {"url": anvil.url, "deployment": deployment, "records": records, "out": out,
            "flagged": flagged}  # fmt: skip


@pytest.mark.node
@pytest.mark.slow
def test_the_command_ranks_exactly_the_planted_taxpayers(ledger: dict[str, object]) -> None:
    out = Path(str(ledger["out"]))
    index = out / "index.sqlite"
    first = taxledger(
        "risk", "--rpc", str(ledger["url"]), "--deployment", str(ledger["deployment"]),
        "--index", str(index), "--records", str(ledger["records"]),
        "--json", str(out / "risk.json"), "--report", str(out / "risk.html"),
    )  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr
    doc = json.loads((out / "risk.json").read_text())
    assert doc["source"]["failed"] == 0 and doc["source"]["verified"] == doc["source"]["bundles"]
    assert sorted(r["taxpayer"] for r in doc["ranking"]) == ledger["flagged"]
    seen = {h["indicator"] for h in doc["hits"]}
    assert {"flow_unpaid", "circular_invoicing"} <= seen
    # On a real chain: the predated invoice is dated after its block, the backdated payment
    # was anchored in a later block than the payments dated after it.
    assert {"dated_after_anchoring", "dated_long_before_anchoring"} <= seen
    for fact in doc["facts"]:
        assert Path(fact["file"]).is_file() and fact["tx_hash"].startswith("0x")
    assert f"hit(s) on {len(ledger['flagged'])} of " in first.stdout
    assert "<svg" in (out / "risk.html").read_text()
    # The index alone, synced by the first run, gives the same ranking.
    again = taxledger(
        "risk", "--index", str(index), "--records", str(ledger["records"]),
        "--json", str(out / "again.json"),
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads((out / "again.json").read_text())["ranking"] == doc["ranking"]


@pytest.mark.node
def test_a_bundle_that_fails_verification_is_left_out(
    ledger: dict[str, object], tmp_path: Path
) -> None:
    """A payment bundle edited to pay a third party would be a hit if it were believed: it
    fails verification, is counted as failed, and changes nothing."""
    records = tmp_path / "bundles"
    shutil.copytree(Path(str(ledger["records"])), records)
    original = next(records.rglob("payment.settled-v2-a-*.json"))
    bundle = json.loads(original.read_text())
    seller = bundle["record"]["payee"]["tax_id"]
    buyer = bundle["record"]["payer"]["tax_id"]
    flagged = cast(list[str], ledger["flagged"])
    third = next(t for t in flagged if t not in (seller, buyer))
    bundle["record"]["payee"]["tax_id"] = third
    forged = original.with_name("forged.json")
    forged.write_text(json.dumps(bundle), encoding="utf-8")
    proc = taxledger(
        "risk", "--rpc", str(ledger["url"]), "--deployment", str(ledger["deployment"]),
        "--index", str(tmp_path / "index.sqlite"), "--records", str(records),
        "--json", str(tmp_path / "risk.json"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "risk.json").read_text())
    assert doc["source"]["failed"] == 1
    assert doc["source"]["verified"] == doc["source"]["bundles"] - 1
    assert str(forged) not in {f["file"] for f in doc["facts"]}
    assert "flow_payee_not_seller" not in {h["indicator"] for h in doc["hits"]}
    assert sorted(r["taxpayer"] for r in doc["ranking"]) == flagged


def test_bad_invocations_say_what_to_do(tmp_path: Path) -> None:
    records = tmp_path / "records"
    records.mkdir()
    cases = [
        (("--records", str(records)), "give --report FILE.html and/or --json FILE.json"),
        (
            ("--records", str(records), "--json", "x.json"),
            "give --rpc and --deployment, or --index of a synced audit index",
        ),
        (
            ("--records", str(records), "--json", "x.json", "--rpc", "http://127.0.0.1:9"),
            "give --rpc and --deployment together (or --index alone)",
        ),
        (
            ("--records", str(records), "--json", "x.json", "--index", str(tmp_path / "no.db")),
            f"index {tmp_path / 'no.db'} does not exist; create it with `taxledger audit",
        ),
    ]
    for args, message in cases:
        proc = taxledger("risk", *args)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr
    bad = tmp_path / "risk.toml"
    bad.write_text("points = = 1", encoding="utf-8")
    proc = taxledger(
        "risk", "--records", str(records), "--json", "x.json", "--index", str(bad), "--config",
        str(bad),
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {bad}: not a TOML file")
