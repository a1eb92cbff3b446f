"""Provenance by subject tag: every fact about a taxpayer or invoice, who, when, what
revoked or superseded it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ledger_node.anchoring import attest_record
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.records import check_records, provenance
from ledger_node.audit.report import bundle_paths
from ledger_node.chain.rpc import Rpc
from ledger_node.cli import main
from ledger_node.records import samples
from ledger_node.records.schemas import TAX_RATING
from ledger_node.subject import subject_tag
from ledger_node.verify import Verifier

from .conftest import CONSORTIUM_KEY, Planted


def test_taxpayer_provenance_follows_supersession_and_revocation(
    planted: Planted, tmp_path: Path
) -> None:
    bureau = planted.consortium.keys["tax-bureau"]
    sender = planted.client.sender(bureau)
    company = samples.company(__import__("random").Random(99))
    first = attest_record(
        planted.client, bureau, sender, TAX_RATING,
        samples.tax_rating(__import__("random").Random(1), company, 2025, level="B"),
        consortium_key=CONSORTIUM_KEY,
    )  # fmt: skip
    corrected = attest_record(
        planted.client, bureau, sender, TAX_RATING,
        samples.tax_rating(__import__("random").Random(2), company, 2025, level="A"),
        consortium_key=CONSORTIUM_KEY, ref_uid=first.root,
    )  # fmt: skip
    planted.client.revoke(bureau, sender, uid=first.root, reason=b"\x03".rjust(32, b"\0"))
    path = tmp_path / "p.sqlite"
    index = AuditIndex.create_or_open(path, planted.consortium.deployment)
    index.sync(Rpc(planted.w3))
    tag = subject_tag(CONSORTIUM_KEY, "taxpayer", company.uscc)
    entries = provenance(index, tag)
    assert [(e.event, e.fact.ref) for e in entries] == [
        ("attested", "0x" + first.root.hex()),
        ("attested", "0x" + corrected.root.hex()),
        ("superseded", "0x" + corrected.root.hex()),
        ("revoked", "0x" + first.root.hex()),
    ]
    assert {e.agency for e in entries} == {"tax-bureau (agency 1)"}
    assert "superseding 0x" + first.root.hex() in entries[1].summary

    key_file = tmp_path / "consortium.key"
    key_file.write_text(CONSORTIUM_KEY.hex())
    result = CliRunner().invoke(
        main,
        ["audit", "provenance", "--index", str(path), "--taxpayer", company.uscc,
         "--consortium-key-file", str(key_file)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"provenance of 0x{tag.hex()}: 4 entr(y/ies)")


def test_invoice_provenance_includes_given_records(planted: Planted) -> None:
    index = AuditIndex.open(planted.index_path)
    checked = check_records(
        Verifier.from_index(index, consortium_key=CONSORTIUM_KEY),
        index,
        bundle_paths(planted.records),
    )
    number = planted.numbers["amount_mismatch"]
    entries = provenance(index, subject_tag(CONSORTIUM_KEY, "invoice", number), checked)
    assert [e.schema for e in entries] == ["invoice.issued/v1", "payment.settled/v1"]
    assert all(e.verdict == "verified" and e.fact.file for e in entries)
