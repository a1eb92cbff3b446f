"""Syncing the index from a real anvil process: incremental, resumable, reorg-aware; and the
``taxledger audit`` command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex, IndexStateError
from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.cli import main
from ledger_node.localnode import LocalNode
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED

from .conftest import CONSORTIUM_KEY

pytestmark = pytest.mark.node


@pytest.fixture
def on_anvil(anvil: LocalNode) -> tuple[Rpc, FoundedConsortium, LedgerClient]:
    w3 = connect(anvil.url)
    consortium = found_consortium(Rpc(w3))
    return Rpc(w3), consortium, LedgerClient.from_deployment(w3, consortium.deployment)


def anchor_one(client: LedgerClient, consortium: FoundedConsortium, seed: int) -> None:
    key = consortium.keys["tax-bureau"]
    records = samples.generate(INVOICE_ISSUED, 2, seed=seed)
    anchor_records(
        client, key, client.sender(key), INVOICE_ISSUED, records, consortium_key=CONSORTIUM_KEY
    )


def test_sync_is_incremental(
    on_anvil: tuple[Rpc, FoundedConsortium, LedgerClient], tmp_path: Path
) -> None:
    rpc, consortium, client = on_anvil
    anchor_one(client, consortium, 1)
    index = AuditIndex.create_or_open(tmp_path / "i.sqlite", consortium.deployment)
    first = index.sync(rpc)
    assert first.first == consortium.deployment.deployment_block
    assert first.events >= 11  # founding (4 agencies, 5 schemas, threshold) and the anchor
    rpc.request("anvil_mine", [hex(40)])
    anchor_one(client, consortium, 2)
    second = index.sync(rpc)
    assert (second.first, second.blocks, second.events) == (first.last + 1, 41, 1)
    assert index.sync(rpc).blocks == 0
    assert index.count("anchors") == 2


def test_sync_resumes_after_an_interruption(
    on_anvil: tuple[Rpc, FoundedConsortium, LedgerClient], tmp_path: Path
) -> None:
    rpc, consortium, client = on_anvil
    rpc.request("anvil_mine", [hex(100)])
    anchor_one(client, consortium, 3)
    index = AuditIndex.create_or_open(tmp_path / "i.sqlite", consortium.deployment)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        index.sync(rpc, page_size=5, progress=interrupt)
    # One batch of pages (8 x 5 blocks) was stored before the interruption.
    assert index.synced_block == consortium.deployment.deployment_block + 39
    resumed = index.sync(rpc, page_size=5)
    assert resumed.first == consortium.deployment.deployment_block + 40
    assert index.count("anchors") == 1


def test_an_index_of_another_ledger_is_refused(
    on_anvil: tuple[Rpc, FoundedConsortium, LedgerClient], tmp_path: Path
) -> None:
    rpc, consortium, _ = on_anvil
    other = found_consortium(rpc)
    AuditIndex.create_or_open(tmp_path / "i.sqlite", consortium.deployment).close()
    with pytest.raises(IndexStateError, match="use another index file"):
        AuditIndex.create_or_open(tmp_path / "i.sqlite", other.deployment)


def test_a_reorg_below_the_synced_block_is_detected(
    on_anvil: tuple[Rpc, FoundedConsortium, LedgerClient], tmp_path: Path
) -> None:
    rpc, consortium, client = on_anvil
    snapshot = rpc.request("evm_snapshot", [])
    anchor_one(client, consortium, 4)
    index = AuditIndex.create_or_open(tmp_path / "i.sqlite", consortium.deployment)
    index.sync(rpc)
    rpc.request("evm_revert", [snapshot])
    rpc.request("anvil_mine", [hex(3)])
    with pytest.raises(IndexStateError, match="the chain was reorganised below it"):
        index.sync(rpc)


def test_audit_command_end_to_end(
    anvil: LocalNode, on_anvil: tuple[Rpc, FoundedConsortium, LedgerClient], tmp_path: Path
) -> None:
    _, consortium, client = on_anvil
    key = consortium.keys["tax-bureau"]
    records = samples.generate(INVOICE_ISSUED, 2, seed=9)
    bundles = anchor_records(
        client, key, client.sender(key), INVOICE_ISSUED, records, consortium_key=CONSORTIUM_KEY
    )
    (tmp_path / "records").mkdir()
    for i, bundle in enumerate(bundles):
        bundle.save(tmp_path / "records" / f"{i}.json")
    consortium.deployment.save(tmp_path / "deployment.json")
    args = [
        "audit",
        "--rpc", anvil.url,
        "--deployment", str(tmp_path / "deployment.json"),
        "--records", str(tmp_path / "records"),
        "--report", str(tmp_path / "out.html"),
        "--json", str(tmp_path / "out.json"),
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    # No payments or registrations were given: every invoice has findings, so exit 1.
    assert result.exit_code == 1, result.output
    assert "2/2 records verified, 0/2 invoices consistent" in result.output
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["format"] == "taxledger.audit/v1"
    assert report["summary"]["findings_by_code"] == {"payment_missing": 2, "seller_unregistered": 2}
    assert (tmp_path / "audit-index.sqlite").is_file()

    verified = CliRunner().invoke(
        main,
        [
            "verify",
            str(tmp_path / "records"),
            "--rpc",
            anvil.url,
            "--deployment",
            str(tmp_path / "deployment.json"),
        ],
    )
    assert verified.exit_code == 0
    assert verified.output.count("OK: ") == 2
