"""The rules a tax official applies (records v2): every rule with its exact field path and
rule code, and the cases of the national platform the v1 checks got wrong."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import pytest

from ledger_node.errors import RecordValidationError
from ledger_node.records import clock, problems, validate

from .test_validation import Mutation, RecordFactory, _all, _delete, _set

INVOICE = "invoice.issued/v1"
INVOICE2 = "invoice.issued/v2"
RED2 = "invoice.issued/v2#red"
BEHALF = "invoice.issued/v2#on-behalf"
PAYMENT = "payment.settled/v1"
PAYMENT2 = "payment.settled/v2"
RATING = "credit.tax-rating/v1"
DECISION = "credit.bank-decision/v1"
DECISION2 = "credit.bank-decision/v2"
STATUS = "tax.status/v1"
DECLARATION = "tax.declaration/v1"
CONSENT = "consent.granted/v1"
DISCLOSURE = "disclosure.made/v1"
UNPUBLISHED = clock.now().rating_year + 1


# (record key, mutation, expected path, expected rule)
CASES: list[tuple[str, Mutation, str, str]] = [
    # USCC parts (GB 32100-2015, GB/T 2260, GB 11714)
    (INVOICE, _set("seller.tax_id", "9531011066600721XX"), "seller.tax_id", "uscc_authority"),
    (INVOICE, _set("seller.tax_id", "B1310110666007217T"), "seller.tax_id", "uscc_authority"),
    (INVOICE, _set("seller.tax_id", "91990110666007217T"), "seller.tax_id", "uscc_region"),
    (INVOICE, _set("seller.tax_id", "913101106660072180"), "seller.tax_id", "uscc_org_check"),
    # resident IDs: division, birth date range (GB 11643)
    (
        INVOICE,
        _all(
            _set("invoice_type", "ordinary"),
            _set(
                "buyer", {"name": "王伟", "id_type": "resident_id", "tax_id": "990105194912310020"}
            ),
        ),
        "buyer.tax_id",
        "resident_id_invalid",
    ),
    (
        INVOICE,
        _all(
            _set("invoice_type", "ordinary"),
            _set(
                "buyer", {"name": "王伟", "id_type": "resident_id", "tax_id": "110105189912310027"}
            ),
        ),
        "buyer.tax_id",
        "resident_id_invalid",
    ),
    (
        INVOICE,
        _all(
            _set("invoice_type", "ordinary"),
            _set(
                "buyer", {"name": "王伟", "id_type": "resident_id", "tax_id": "110105209912310023"}
            ),
        ),
        "buyer.tax_id",
        "resident_id_invalid",
    ),
    # other personal documents
    (
        INVOICE,
        _all(
            _set("invoice_type", "ordinary"),
            _set("buyer", {"name": "J. Doe", "id_type": "passport", "tax_id": "x1"}),
        ),
        "buyer.tax_id",
        "passport_invalid",
    ),
    (
        INVOICE,
        _all(
            _set("invoice_type", "ordinary"),
            _set("buyer", {"name": "陳大文", "id_type": "hkmo_permit", "tax_id": "X12345678"}),
        ),
        "buyer.tax_id",
        "permit_invalid",
    ),
    (
        INVOICE,
        _all(
            _set("invoice_type", "ordinary"),
            _set("buyer", {"name": "林志明", "id_type": "taiwan_permit", "tax_id": "1234567"}),
        ),
        "buyer.tax_id",
        "permit_invalid",
    ),
    (
        INVOICE,
        _all(
            _set("invoice_type", "ordinary"),
            _set(
                "buyer",
                {
                    "name": "A. Smith",
                    "id_type": "foreign_permanent_resident",
                    "tax_id": "931000019900101001",
                },
            ),
        ),
        "buyer.tax_id",
        "foreign_id_invalid",
    ),
    (
        INVOICE,
        _set("buyer", {"name": "顾客", "id_type": "none"}),
        "buyer.id_type",
        "special_invoice_buyer",
    ),
    (
        INVOICE,
        _set("buyer", {"name": "顾客", "id_type": "none", "tax_id": "x"}),
        "buyer.tax_id",
        "unknown_field",
    ),
    (
        PAYMENT,
        _set("payer", {"name": "顾客", "id_type": "none"}),
        "payer.id_type",
        "id_type_not_allowed",
    ),
    # 数电 numbers: region and year
    (
        INVOICE,
        _set("invoice_number", "26990000000000012345"),
        "invoice_number",
        "invoice_number_region",
    ),
    (
        INVOICE,
        _set("invoice_number", "25310000000000012345"),
        "invoice_number",
        "invoice_number_year",
    ),
    # time
    (INVOICE, _set("issued_at", "2099-03-05T10:12:00+08:00"), "issued_at", "date_in_future"),
    (INVOICE, _set("issued_at", "2021-11-30T10:12:00+08:00"), "issued_at", "date_too_early"),
    (INVOICE, _set("issued_at", "2021-11-30T15:59:59Z"), "issued_at", "date_too_early"),
    (INVOICE, _set("issued_at", "0001-01-01T00:00:00+08:00"), "issued_at", "date_too_early"),
    (INVOICE, _set("issued_at", "9999-12-31T23:59:59-08:00"), "issued_at", "date_in_future"),
    (PAYMENT, _set("value_date", "2099-03-10"), "value_date", "date_in_future"),
    (PAYMENT, _set("value_date", "2020-12-31"), "value_date", "date_too_early"),
    (RATING, _set("year", UNPUBLISHED), "year", "rating_not_published"),
    (DECISION, _set("decided_on", "2026-03-31"), "basis_rating.year", "basis_not_published"),
    # rates and tolerances
    (
        INVOICE,
        _all(_set("lines.2.rate", "exempt"), _set("lines.2.tax", "0.00")),
        "lines[2].rate",
        "special_invoice_rate",
    ),
    (INVOICE, _set("lines.2.rate", "0.16"), "lines[2].rate", "rate_not_in_force"),
    (INVOICE2, _set("seller.taxpayer_type", "small_scale"), "lines[0].rate", "rate_taxpayer_type"),
    (INVOICE2, _set("seller.taxpayer_type", "retail"), "seller.taxpayer_type", "value_not_allowed"),
    # invoice.issued/v2: who issues, red invoices
    (BEHALF, _set("issued_by", "seller"), "issued_by", "seller_individual"),
    (
        BEHALF,
        _set("seller.taxpayer_type", "general"),
        "seller.taxpayer_type",
        "individual_taxpayer_type",
    ),
    (INVOICE2, _delete("drawer"), "drawer", "missing_field"),
    (
        INVOICE2,
        _set("confirmation_number", "44031800000000000123"),
        "confirmation_number",
        "confirmation_without_red",
    ),
    (RED2, _delete("confirmation_number"), "confirmation_number", "missing_field"),
    (RED2, _set("confirmation_number", "4403"), "confirmation_number", "confirmation_format"),
    (RED2, _set("red_of.issued_on", "2019-04-01"), "lines[0].rate", "rate_not_in_force"),
    (RED2, _set("red_of.issued_on", "2026-05-01"), "red_of.issued_on", "red_before_blue"),
    (RED2, _set("red_of.issued_on", "1993-12-31"), "red_of.issued_on", "date_too_early"),
    (RED2, _set("red_of.code", "9903182130"), "red_of.code", "invoice_code_format"),
    (RED2, _set("red_of.number", "1234567"), "red_of.number", "invoice_number_format"),
    (
        RED2,
        _set("red_of", {"number": "26440000000000000123", "issued_on": "2026-04-01"}),
        "red_of.number",
        "red_of_self",
    ),
    (
        RED2,
        _set("red_of", {"number": "25440000000000000001", "issued_on": "2026-04-01"}),
        "red_of.number",
        "invoice_number_year",
    ),
    (BEHALF, _set("lines.0.quantity", "1"), "lines[0]", "quantity_price_pair"),
    # payment.settled/v2
    (PAYMENT2, _delete("amount_cny"), "amount_cny", "missing_field"),
    (PAYMENT2, _set("currency", "CNY"), "amount_cny", "amount_cny_unexpected"),
    (PAYMENT2, _set("currency", "XYZ"), "currency", "value_not_allowed"),
    (PAYMENT2, _all(_set("currency", "JPY"), _set("amount", "2000.00")), "amount", "money_format"),
    (PAYMENT2, _set("amount", "0.00"), "amount", "amount_not_positive"),
    (PAYMENT2, _set("amount_cny", "14205.75"), "settles", "settles_sum_mismatch"),
    (
        PAYMENT2,
        _set("settles.1.invoice_number", "26310000000000012345"),
        "settles[1].invoice_number",
        "settles_duplicate",
    ),
    (PAYMENT2, _set("settles", []), "settles", "items_count"),
    (PAYMENT2, _set("settles.0.amount", "-1.00"), "settles[0].amount", "amount_not_positive"),
    # credit.bank-decision/v2
    (DECISION2, _set("rating", "0xAB"), "rating", "hash_format"),
    (
        DECISION2,
        _set("basis_rating", {"year": 2025, "level": "A"}),
        "basis_rating",
        "unknown_field",
    ),
    # tax.status/v1
    (STATUS, _set("status", "normal"), "abnormal_vouchers", "vouchers_not_caused"),
    (STATUS, _set("status", "vanished"), "status", "value_not_allowed"),
    (
        STATUS,
        _set("abnormal_vouchers.1", {"number": "26440000000000000999"}),
        "abnormal_vouchers[1]",
        "duplicate_voucher",
    ),
    (STATUS, _set("since", "2015-09-30"), "since", "date_too_early"),
    # tax.declaration/v1
    (DECLARATION, _set("period", "2026-13"), "period", "period_format"),
    (DECLARATION, _set("period", "2019-Q1"), "period", "date_too_early"),
    (DECLARATION, _set("period", "0000-01"), "period", "period_format"),
    (DECLARATION, _set("period", "9999-Q4"), "filed_on", "filed_before_period_end"),
    (DECLARATION, _set("filed_on", "2026-03-31"), "filed_on", "filed_before_period_end"),
    (DECLARATION, _set("output_tax", "907.75"), "output_tax", "output_tax_mismatch"),
    (DECLARATION, _set("taxpayer_type", "small_scale"), "input_tax", "small_scale_input"),
    (DECLARATION, _set("credit_carried_forward", "1.00"), "tax_payable", "payable_and_credit"),
    (DECLARATION, _set("tax_payable", "307.75"), "tax_payable", "payable_mismatch"),
    (DECLARATION, _set("input_tax", "-1.00"), "input_tax", "amount_negative"),
    (DECLARATION, _set("sales.1.rate", "0.06"), "sales[1].rate", "sales_duplicate_rate"),
    (DECLARATION, _set("sales.1.rate", "0.16"), "sales[1].rate", "rate_not_in_force"),
    (DECLARATION, _all(_set("sales.1.rate", "exempt")), "sales[1].tax", "tax_mismatch"),
    (
        DECLARATION,
        _all(
            _set("taxpayer_type", "small_scale"),
            _set("input_tax", "0.00"),
            _set("credit_brought_forward", "0.00"),
        ),
        "sales[0].rate",
        "rate_taxpayer_type",
    ),
    # consent.granted/v1
    (CONSENT, _set("valid_from", "2026-04-19"), "valid_from", "valid_before_granted"),
    (CONSENT, _set("valid_until", "2026-04-19"), "valid_until", "validity_order"),
    (CONSENT, _set("schemas", ["credit.tax-rating/v9"]), "schemas[0]", "unknown_schema"),
    (
        CONSENT,
        _set("schemas", ["credit.tax-rating/v1", "credit.tax-rating/v1"]),
        "schemas[1]",
        "duplicate_schema",
    ),
    (CONSENT, _set("purpose", "marketing"), "purpose", "value_not_allowed"),
    (CONSENT, _set("granted_at", "2099-04-20T10:00:00+08:00"), "granted_at", "date_in_future"),
    # disclosure.made/v1
    (DISCLOSURE, _set("recipient", "tax-bureau"), "recipient", "disclosure_to_self"),
    (DISCLOSURE, _set("request_hash", "0x" + "G" * 64), "request_hash", "hash_format"),
    (
        DISCLOSURE,
        _set("disclosed_at", "2014-12-31T23:59:59+08:00"),
        "disclosed_at",
        "date_too_early",
    ),
]


@pytest.mark.parametrize(
    ("key", "mutation", "path", "rule"),
    CASES,
    ids=[f"{key.split('/')[0]}-{path}-{rule}" for key, _, path, rule in CASES],
)
def test_rule_reports_field_and_rule(
    make_record: RecordFactory, key: str, mutation: Mutation, path: str, rule: str
) -> None:
    record = make_record(key)
    validate(key.split("#")[0], record)  # valid before the mutation
    mutation(record)
    with pytest.raises(RecordValidationError, match=re.escape(f"{path}: {rule}:")) as caught:
        validate(key.split("#")[0], record)
    assert (path, rule) in [(p, r) for p, r, _ in caught.value.problems]


def _tax_off_by(cents: int) -> Callable[[dict[str, Any]], None]:
    def apply(record: dict[str, Any]) -> None:
        line = record["lines"][0]
        tax = int(line["tax"].replace(".", "")) + cents
        line["tax"] = f"{tax // 100}.{tax % 100:02d}"
        total_tax = int(record["total_tax"].replace(".", "")) + cents
        record["total_tax"] = f"{total_tax // 100}.{total_tax % 100:02d}"
        total = int(record["total"].replace(".", "")) + cents
        record["total"] = f"{total // 100}.{total % 100:02d}"

    return apply


def test_the_platform_accepts_these(make_record: RecordFactory) -> None:
    # A line whose tax is off by 0.03 yuan.
    record = make_record(INVOICE)
    _tax_off_by(3)(record)
    validate(INVOICE, record)
    # A red invoice reversing a pre-digital invoice, with a 16 % line of a 2018 sale.
    validate(INVOICE2, make_record(RED2))
    # An ordinary invoice to a person who gave no ID, issued by the bureau for an individual.
    validate(INVOICE2, make_record(BEHALF))
    # A foreign buyer with a passport, and with a 2023 permanent resident ID.
    for buyer in (
        {"name": "John Smith", "id_type": "passport", "tax_id": "E12345678"},
        {
            "name": "John Smith",
            "id_type": "foreign_permanent_resident",
            "tax_id": "USA310000190001",
        },
    ):
        record = make_record(INVOICE)
        record.update(invoice_type="ordinary", buyer=buyer)
        validate(INVOICE, record)
    # A payment in USD covering two invoices.
    validate(PAYMENT2, make_record(PAYMENT2))


def test_the_platform_refuses_these(make_record: RecordFactory) -> None:
    cases: list[tuple[str, Mutation, str]] = [
        (INVOICE, _set("issued_at", "2029-03-05T10:12:00+08:00"), "date_in_future"),
        (INVOICE, _set("seller.tax_id", "Z1310110666007217T"), "uscc_format"),
        (INVOICE, _set("seller.tax_id", "B1310110666007217T"), "uscc_authority"),
        (INVOICE, _set("lines.2.rate", "exempt"), "special_invoice_rate"),
        (RATING, _set("year", UNPUBLISHED), "rating_not_published"),
    ]
    for key, mutation, rule in cases:
        record = make_record(key)
        mutation(record)
        assert rule in [r for _, r, _ in problems(key, record)], (key, rule)


def test_a_two_yuan_drift_over_an_invoice_is_refused(make_record: RecordFactory) -> None:
    # 40 lines of 0.50 at 3 % (0.015 each) taxed 0.07: each 0.055 off, within 0.06, but
    # 2.20 yuan in all.
    record = make_record(INVOICE)
    line = {
        "name": "*电子元件*集成电路",
        "tax_code": "1090621000000000000",
        "quantity": "1",
        "unit_price": "0.50",
        "amount": "0.50",
        "rate": "0.03",
        "tax": "0.07",
    }
    record["lines"] = [dict(line) for _ in range(40)]
    record.update(total_amount="20.00", total_tax="2.80", total="22.80")
    assert [(p, r) for p, r, _ in problems(INVOICE, record)] == [("total_tax", "tax_drift")]
    # 20 such lines drift 1.10: within 1.27.
    record["lines"] = record["lines"][:20]
    record.update(total_amount="10.00", total_tax="1.40", total="11.40")
    validate(INVOICE, record)


def test_a_moment_decides_the_time_rules(make_record: RecordFactory) -> None:
    record = make_record(RATING)
    before = clock.moment_at(datetime.datetime(2026, 3, 31, 15, 0, tzinfo=datetime.UTC))
    after = clock.moment_at(datetime.datetime(2026, 3, 31, 16, 0, tzinfo=datetime.UTC))
    # 2026-04-01 00:00 China Standard Time is 2026-03-31 16:00 UTC: the 2025 ratings appear.
    assert [r for _, r, _ in problems(RATING, record, before)] == ["rating_not_published"]
    assert problems(RATING, record, after) == ()
    invoice = make_record(INVOICE)
    accepted = clock.moment_at(datetime.datetime(2026, 3, 5, 2, 7, 1, tzinfo=datetime.UTC))
    # Issued 10:12:00+08:00 = 02:12:00 UTC: within five minutes of skew, one second more is not.
    assert problems(INVOICE, invoice, accepted) == ()
    early = clock.moment_at(datetime.datetime(2026, 3, 5, 2, 6, 59, tzinfo=datetime.UTC))
    assert [r for _, r, _ in problems(INVOICE, invoice, early)] == ["date_in_future"]
