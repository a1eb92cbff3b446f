"""Every validation rule, asserting the exact field path and rule code."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from ledger_node.errors import LedgerValueError, RecordValidationError, UnknownSchemaError
from ledger_node.records import problems, validate
from ledger_node.records.schemas import SCHEMAS

RecordFactory = Callable[[str], dict[str, Any]]

INVOICE = "invoice.issued/v1"
RED = "invoice.issued/v1#red"
PAYMENT = "payment.settled/v1"
REGISTRATION = "registration.status/v1"
RATING = "credit.tax-rating/v1"
DECISION = "credit.bank-decision/v1"

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Mutation:
    """A mutation that sets the field at dotted ``path`` (``lines.0.tax``) to ``value``."""

    def apply(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = record
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return apply


def _delete(path: str) -> Mutation:
    def apply(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = record
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[last]

    return apply


def _all(*mutations: Mutation) -> Mutation:
    def apply(record: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(record)

    return apply


def _swap_lines(record: dict[str, Any]) -> None:
    record["lines"][0], record["lines"][1] = record["lines"][1], record["lines"][0]


# (record key, mutation, expected path, expected rule)
CASES: list[tuple[str, Mutation, str, str]] = [
    # structure
    (INVOICE, _set("seller", "上海华信"), "seller", "not_object"),
    (INVOICE, _delete("issued_at"), "issued_at", "missing_field"),
    (INVOICE, _set("drawer", "李明"), "drawer", "unknown_field"),
    (INVOICE, _set("lines.0.unit", "台"), "lines[0].unit", "unknown_field"),
    (INVOICE, _delete("lines.0.quantity"), "lines[0].quantity", "missing_field"),
    (INVOICE, _set("invoice_number", 26310000000000012345), "invoice_number", "wrong_type"),
    (INVOICE, _set("lines", {}), "lines", "wrong_type"),
    (INVOICE, _set("lines", []), "lines", "lines_count"),
    (INVOICE, _set("seller.name", None), "seller.name", "wrong_type"),
    # money and decimals
    (INVOICE, _set("lines.0.amount", 10000.0), "lines[0].amount", "money_not_string"),
    (INVOICE, _set("total", 13005), "total", "money_not_string"),
    (INVOICE, _set("total_tax", True), "total_tax", "wrong_type"),
    (INVOICE, _set("lines.0.amount", "10000"), "lines[0].amount", "money_format"),
    (INVOICE, _set("lines.0.amount", "10000.000"), "lines[0].amount", "money_format"),
    (INVOICE, _set("lines.0.amount", "1e4"), "lines[0].amount", "money_format"),
    (INVOICE, _set("lines.0.amount", "010000.00"), "lines[0].amount", "money_format"),
    (INVOICE, _set("lines.0.quantity", 1), "lines[0].quantity", "decimal_not_string"),
    (INVOICE, _set("lines.0.quantity", "1.0e0"), "lines[0].quantity", "decimal_format"),
    (INVOICE, _set("lines.0.quantity", "-0"), "lines[0].quantity", "decimal_format"),
    # text and identifiers
    (INVOICE, _set("seller.name", " 上海华信"), "seller.name", "text_format"),
    (INVOICE, _set("seller.name", ""), "seller.name", "text_format"),
    (INVOICE, _set("remarks", "a\x00b"), "remarks", "text_format"),
    (INVOICE, _set("seller.name", "名" * 201), "seller.name", "text_format"),
    (INVOICE, _set("seller.tax_id", "91310110666007217t"), "seller.tax_id", "uscc_format"),
    (INVOICE, _set("seller.tax_id", "9131A110666007217T"), "seller.tax_id", "uscc_format"),
    (INVOICE, _set("seller.tax_id", "91310110666007217U"), "seller.tax_id", "uscc_check"),
    (INVOICE, _set("seller.tax_id", "11010519491231002X"), "seller.tax_id", "uscc_region"),
    (INVOICE, _set("buyer.tax_id", "91110000600037341M"), "buyer.tax_id", "uscc_check"),
    (
        INVOICE,
        _all(_set("buyer.id_type", "resident_id"), _set("invoice_type", "ordinary")),
        "buyer.tax_id",
        "resident_id_invalid",
    ),
    (INVOICE, _set("buyer.id_type", "legacy"), "buyer.tax_id", "legacy_id_invalid"),
    (INVOICE, _set("buyer.id_type", "driving_licence"), "buyer.id_type", "value_not_allowed"),
    (
        INVOICE,
        _set("invoice_number", "2631000000000001234"),
        "invoice_number",
        "invoice_number_format",
    ),
    (
        INVOICE,
        _set("invoice_number", "２６310000000000012345"),
        "invoice_number",
        "invoice_number_format",
    ),
    (INVOICE, _set("issued_at", "2026-03-05T10:12:00"), "issued_at", "datetime_format"),
    (INVOICE, _set("issued_at", "2026-02-30T10:12:00+08:00"), "issued_at", "datetime_format"),
    (INVOICE, _set("issued_at", "2026-03-05 10:12:00+08:00"), "issued_at", "datetime_format"),
    (INVOICE, _set("invoice_type", "vat"), "invoice_type", "value_not_allowed"),
    (
        INVOICE,
        _all(_set("buyer.id_type", "resident_id"), _set("buyer.tax_id", "11010519491231002X")),
        "buyer.id_type",
        "special_invoice_buyer",
    ),
    # lines
    (INVOICE, _set("lines.0.name", "软件开发服务"), "lines[0].name", "line_name_format"),
    (INVOICE, _set("lines.0.name", "**软件开发服务"), "lines[0].name", "line_name_format"),
    (
        INVOICE,
        _set("lines.0.tax_code", "304020101000000000"),
        "lines[0].tax_code",
        "tax_code_format",
    ),
    (INVOICE, _set("lines.0.rate", "0.18"), "lines[0].rate", "value_not_allowed"),
    (INVOICE, _set("lines.0.rate", 0.06), "lines[0].rate", "wrong_type"),
    (INVOICE, _set("lines.0.unit_price", "9999.98"), "lines[0].amount", "amount_mismatch"),
    (INVOICE, _set("lines.0.tax", "600.07"), "lines[0].tax", "tax_mismatch"),
    (
        INVOICE,
        _all(_set("lines.2.rate", "exempt"), _set("lines.2.tax", "0.01")),
        "lines[2].tax",
        "tax_mismatch",
    ),
    (
        INVOICE,
        _all(_set("lines.2.unit_price", "-1299.00"), _set("lines.2.amount", "-2598.00")),
        "lines[2].amount",
        "line_sign",
    ),
    (INVOICE, _set("lines.1.amount", "500.00"), "lines[1].amount", "discount_sign"),
    (INVOICE, _swap_lines, "lines[0]", "discount_without_line"),
    (INVOICE, _set("lines.1.amount", "-10000.01"), "lines[1].amount", "discount_exceeds_line"),
    (INVOICE, _set("lines.1.rate", "0.13"), "lines[1].rate", "discount_rate_mismatch"),
    (
        INVOICE,
        _set("lines.1.tax_code", "1090511030000000000"),
        "lines[1].tax_code",
        "discount_tax_code_mismatch",
    ),
    (INVOICE, _set("lines.1.discount", False), "lines[1].discount", "value_not_allowed"),
    (INVOICE, _set("lines.1.quantity", "1"), "lines[1]", "quantity_price_pair"),
    # totals
    (INVOICE, _set("total_amount", "12098.01"), "total_amount", "total_amount_mismatch"),
    (INVOICE, _set("total_tax", "907.75"), "total_tax", "total_tax_mismatch"),
    (INVOICE, _set("total", "13005.75"), "total", "total_mismatch"),
    # red invoices
    (RED, _set("red_of", "26310000000000099999"), "red_of", "red_of_self"),
    (RED, _set("red_of", "2631"), "red_of", "invoice_number_format"),
    (INVOICE, _set("red_of", "26310000000000054321"), "total_amount", "red_total_sign"),
    (INVOICE, _set("red_of", "26310000000000054321"), "lines[0].amount", "line_sign"),
    # payment
    (PAYMENT, _set("amount", "0.00"), "amount", "amount_not_positive"),
    (PAYMENT, _set("amount", 13005.74), "amount", "money_not_string"),
    (PAYMENT, _set("currency", "USD"), "currency", "value_not_allowed"),
    (PAYMENT, _set("value_date", "2026-3-10"), "value_date", "date_format"),
    (PAYMENT, _set("value_date", "2026-02-29"), "value_date", "date_format"),
    (PAYMENT, _set("payment_id", "has space"), "payment_id", "text_format"),
    (PAYMENT, _set("payee.tax_id", "11010519491231002X"), "payee.tax_id", "uscc_region"),
    (PAYMENT, _delete("payer.id_type"), "payer.id_type", "missing_field"),
    (PAYMENT, _set("invoice_number", "x"), "invoice_number", "invoice_number_format"),
    # registration
    (REGISTRATION, _set("status", "closed"), "status", "value_not_allowed"),
    (REGISTRATION, _set("abnormal", "false"), "abnormal", "wrong_type"),
    (REGISTRATION, _set("abnormal", True), "abnormal_reason", "abnormal_reason_missing"),
    (
        REGISTRATION,
        _set("abnormal_reason", "unreachable"),
        "abnormal_reason",
        "abnormal_reason_unexpected",
    ),
    (
        REGISTRATION,
        _all(_set("abnormal", True), _set("abnormal_reason", "vanished")),
        "abnormal_reason",
        "value_not_allowed",
    ),
    (REGISTRATION, _set("uscc", "9144030071526726XZ"), "uscc", "uscc_format"),
    # tax rating
    (RATING, _set("year", 2013), "year", "year_range"),
    (RATING, _set("year", 2999), "year", "rating_not_published"),
    (RATING, _set("year", "2025"), "year", "wrong_type"),
    (RATING, _set("year", True), "year", "wrong_type"),
    (RATING, _set("level", "E"), "level", "value_not_allowed"),
    (RATING, _set("score", 101), "score", "score_range"),
    (RATING, _set("score", 89), "score", "score_band"),
    (RATING, _all(_set("level", "D"), _set("score", 40)), "score", "score_band"),
    (RATING, _set("score", 95.0), "score", "wrong_type"),
    # bank decision
    (DECISION, _set("amount", "0.00"), "amount", "amount_not_positive"),
    (DECISION, _set("decision", "declined"), "amount", "declined_amount"),
    (DECISION, _set("decision", "maybe"), "decision", "value_not_allowed"),
    (DECISION, _set("basis_rating.level", "C"), "basis_rating.level", "basis_level"),
    (DECISION, _set("basis_rating.year", 2000), "basis_rating.year", "year_range"),
    (DECISION, _set("basis_rating.score", 95), "basis_rating.score", "unknown_field"),
    (DECISION, _set("basis_rating", None), "basis_rating", "not_object"),
    (DECISION, _set("decided_on", "2026-05-06T00:00:00+08:00"), "decided_on", "date_format"),
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
    mutation(record)
    with pytest.raises(RecordValidationError, match=re.escape(f"{path}: {rule}:")) as caught:
        validate(key.split("#")[0], record)
    assert (path, rule) in [(p, r) for p, r, _ in caught.value.problems]


@pytest.mark.parametrize("key", [*SCHEMAS, RED])
def test_valid_records_pass_unchanged(make_record: RecordFactory, key: str) -> None:
    record = make_record(key)
    validated = validate(key.split("#")[0], record)
    assert validated.record is record
    assert validated.record == make_record(key)


def test_every_problem_is_reported_at_once(make_record: RecordFactory) -> None:
    record = make_record(INVOICE)
    record["seller"]["tax_id"] = "91310110666007217U"
    record["lines"][0]["tax"] = 600
    record["lines"][2]["rate"] = "0.17"
    record["extra"] = 1
    found = {(path, rule) for path, rule, _ in problems(INVOICE, record)}
    assert found == {
        ("seller.tax_id", "uscc_check"),
        ("lines[0].tax", "money_not_string"),
        ("lines[2].rate", "rate_not_in_force"),
        # 337.74 is 13 % of the line, not 17 %: both rules break, both are said.
        ("lines[2].tax", "tax_mismatch"),
        ("extra", "unknown_field"),
    }


def test_amounts_within_a_cent_are_accepted(make_record: RecordFactory) -> None:
    record = make_record(INVOICE)
    # 3 × 3.333 = 9.999 -> 10.00 is within 0.01; tax at 13 % is 1.30 (±0.01 allowed: 1.29).
    record["lines"] = [
        {
            "name": "*纸制品*复印纸",
            "tax_code": "1070207010000000000",
            "quantity": "3",
            "unit_price": "3.333",
            "amount": "10.00",
            "rate": "0.13",
            "tax": "1.29",
        }
    ]
    record.update(total_amount="10.00", total_tax="1.29", total="11.29")
    validate(INVOICE, record)


def test_line_tax_is_within_six_cents_of_amount_times_rate(make_record: RecordFactory) -> None:
    record = make_record(INVOICE)
    # 0.50 at 3 % is 0.015: 0.02 and 0.00 are within 0.06, 0.08 is not.
    line = {
        "name": "*电子元件*集成电路",
        "tax_code": "1090621000000000000",
        "quantity": "1",
        "unit_price": "0.50",
        "amount": "0.50",
        "rate": "0.03",
        "tax": "0.02",
    }
    record["lines"] = [line]
    record.update(total_amount="0.50", total_tax="0.02", total="0.52")
    validate(INVOICE, record)
    line["tax"] = "0.08"
    record.update(total_tax="0.08", total="0.58")
    assert ("lines[0].tax", "tax_mismatch") in [(p, r) for p, r, _ in problems(INVOICE, record)]


def test_discount_lines_may_carry_quantity_and_price(make_record: RecordFactory) -> None:
    record = make_record(INVOICE)
    record["lines"][1].update(quantity="1", unit_price="-500.00")
    validate(INVOICE, record)


def test_legacy_and_individual_buyers(make_record: RecordFactory) -> None:
    record = make_record(INVOICE)
    record["invoice_type"] = "ordinary"
    record["buyer"].update(id_type="legacy", tax_id="310110666007217")
    validate(INVOICE, record)
    record["buyer"].update(id_type="resident_id", tax_id="11010519491231002X")
    validate(INVOICE, record)


def test_score_is_optional_and_m_has_no_band(make_record: RecordFactory) -> None:
    record = make_record(RATING)
    del record["score"]
    validate(RATING, record)
    record.update(level="M", score=12)
    validate(RATING, record)


def test_declined_decision(make_record: RecordFactory) -> None:
    record = make_record(DECISION)
    record.update(decision="declined", amount="0.00")
    record["basis_rating"]["level"] = "D"
    validate(DECISION, record)


def test_record_must_be_an_object() -> None:
    with pytest.raises(RecordValidationError, match=re.escape("$: not_object:")):
        validate(PAYMENT, ["not", "an", "object"])


def test_unknown_schema_is_its_own_error(make_record: RecordFactory) -> None:
    with pytest.raises(UnknownSchemaError, match=r"unknown schema 'invoice\.issued/v9'"):
        validate("invoice.issued/v9", make_record(INVOICE))
    assert issubclass(UnknownSchemaError, LedgerValueError)
    assert issubclass(RecordValidationError, ValueError)


def test_diagnostics_lists_each_problem(make_record: RecordFactory) -> None:
    record = make_record(PAYMENT)
    record["amount"] = "-1.00"
    record["currency"] = "EUR"
    with pytest.raises(RecordValidationError) as caught:
        validate(PAYMENT, record)
    text = caught.value.diagnostics()
    assert "amount: [amount_not_positive]" in text
    assert "currency: [value_not_allowed]" in text
