"""三流一致: each planted mismatch is one finding about its invoice, naming its facts."""

from __future__ import annotations

import orjson
import pytest

from ledger_node.audit.findings import Finding
from ledger_node.records.identifiers import mask_resident_id

from .conftest import Planted


def findings_about(planted: Planted, code: str) -> list[Finding]:
    subject = planted.numbers[code]
    return [f for f in planted.report.findings if f.subject == subject or subject in f.message]


@pytest.mark.parametrize(
    ("code", "message", "schemas"),
    [
        ("payment_missing", "no bank attested a payment for invoice", ["invoice.issued/v1"]),
        (
            "amount_mismatch",
            "totals .* but 1 payment\\(s\\) add up to 1.00",
            ["invoice.issued/v1", "payment.settled/v1"],
        ),
        (
            "payee_not_seller",
            "went to .*, not to the seller",
            ["invoice.issued/v1", "payment.settled/v1"],
        ),
        (
            "payer_not_buyer",
            "came from .*, not from the buyer",
            ["invoice.issued/v1", "payment.settled/v1"],
        ),
        (
            "seller_abnormal",
            "was on the abnormal-operations list \\(\\w+\\) as of 2026-01-01",
            ["invoice.issued/v1", "registration.status/v1"],
        ),
        (
            "seller_unregistered",
            "no registration of the seller .* as of 2026-03-02",
            ["invoice.issued/v1"],
        ),
        (
            "seller_inactive",
            "was suspended as of 2026-01-01",
            ["invoice.issued/v1", "registration.status/v1"],
        ),
        ("invoice_revoked", "the fact was revoked at block", ["invoice.issued/v1"]),
    ],
)
def test_each_mismatch_is_one_finding_naming_its_facts(
    planted: Planted, code: str, message: str, schemas: list[str]
) -> None:
    (finding,) = findings_about(planted, code)
    assert finding.code == code
    assert finding.subject == planted.numbers[code]
    assert pytest.importorskip("re").search(message, finding.message), finding.message
    assert [f.schema for f in finding.facts] == schemas
    assert all(f.file for f in finding.facts)


def test_consistent_invoice_has_no_finding_and_a_cross_agency_timeline(planted: Planted) -> None:
    number = planted.numbers["consistent"]
    assert findings_about(planted, "consistent") == []
    (invoice,) = [i for i in planted.report.invoices if i.number == number]
    assert invoice.consistent
    agencies = [e.agency for e in invoice.timeline]
    assert agencies == ["tax-bureau (agency 1)", "bank (agency 2)", "market-regulator (agency 3)"]
    assert all(e.timestamp for e in invoice.timeline)


def test_tampered_record_is_a_verification_finding(planted: Planted) -> None:
    (finding,) = [f for f in planted.report.findings if f.code == "verification_failed"]
    assert finding.message.endswith("the record was changed after it was committed")
    assert "(2) the record hashes to" in finding.message


def test_payment_for_an_unknown_invoice(planted: Planted) -> None:
    (finding,) = findings_about(planted, "invoice_missing")
    assert finding.code == "invoice_missing"
    assert [f.schema for f in finding.facts] == ["payment.settled/v1"]


def test_revoked_invoice_timeline_shows_the_revocation(planted: Planted) -> None:
    (invoice,) = [
        i for i in planted.report.invoices if i.number == planted.numbers["invoice_revoked"]
    ]
    assert [e.event for e in invoice.timeline][-1] == "revoked"


def test_summary_counts(planted: Planted) -> None:
    summary = planted.report.summary
    assert summary["bundles"] == 10 + 10 + 4
    assert summary["bundles_failed"] == 2  # the tampered invoice and the revoked one
    assert summary["invoices"] == 9  # the tampered invoice is not evidence
    assert summary["invoices_consistent"] == 1
    assert summary["findings_by_code"] == {
        "amount_mismatch": 1,
        "invoice_missing": 1,
        "invoice_revoked": 1,
        "payee_not_seller": 1,
        "payer_not_buyer": 1,
        "payment_missing": 1,
        "seller_abnormal": 1,
        "seller_inactive": 1,
        "seller_unregistered": 1,
        "verification_failed": 1,
    }


def test_an_individuals_resident_id_is_masked_in_the_report(planted: Planted) -> None:
    (finding,) = findings_about(planted, "payer_not_buyer")
    masked = mask_resident_id(planted.individual)
    assert masked == planted.individual[:6] + "********" + planted.individual[-4:]
    assert f"came from {masked}, not from the buyer" in finding.message
    assert planted.individual not in orjson.dumps(planted.report.to_json()).decode()
