"""An audit given a partial bundle: the bundle verifies and is named as not checked against
the other facts, instead of being misread as a whole record with fields missing."""

from __future__ import annotations

from pathlib import Path

from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.report import run_audit
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.fieldtree import parse_field_paths
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED_V2
from ledger_node.tagging import Keyring


def test_a_partial_invoice_is_verified_and_named_not_cross_checked(tmp_path: Path) -> None:
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    key = consortium.keys["tax-bureau"]
    whole, shown = anchor_records(
        client,
        key,
        client.sender(key),
        INVOICE_ISSUED_V2,
        samples.generate(INVOICE_ISSUED_V2, 2, seed=4),
        keyring=Keyring.of(consortium.tag_keys),
    )
    records = tmp_path / "records"
    records.mkdir()
    whole.save(records / "whole.json")
    shown.disclose(parse_field_paths("invoice_number,seller.tax_id,total")).save(
        records / "partial.json"
    )
    index = AuditIndex.create_or_open(tmp_path / "audit.sqlite", consortium.deployment)
    report = run_audit(Rpc(w3), index, records=records)
    assert [c.ok for c in report.checked] == [True, True]  # both verify
    found = sorted((f.code, f.subject) for f in report.findings)
    number = whole.record["invoice_number"]
    # The whole invoice is checked (no bank attested its payment); the partial one is not
    # checked, and says so with what it shows.
    assert ("payment_missing", number) in found
    (partial,) = [f for f in report.findings if f.code == "record_partial"]
    assert partial.subject == str(records / "partial.json")
    assert "showing invoice_number, seller.tax_id, total" in partial.message
    assert all(f.subject != shown.record["invoice_number"] for f in report.findings)
