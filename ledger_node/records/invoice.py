"""``invoice.issued/v1`` and ``/v2``: a 数电 invoice as the tax bureau attests its issue.

v2 adds the seller's taxpayer type (``general`` or ``small_scale``, which decides the rates
it may use), its identifier type (an individual may sell when the tax bureau issues the
invoice on their behalf, 代开: ``"issued_by": "tax_bureau"``), the drawer (开票人), and for a
red invoice the blue invoice it reverses as an object (a 数电 number, or a pre-digital
invoice code and number, with the blue invoice's issue date) and the number of the
red-letter information confirmation form (红字发票信息确认单). A red invoice may reverse part
of a blue one; it is its own fact and the blue invoice stays issued.

Rules (the rule codes are in docs/record-schemas.md):

- line amount = quantity × unit price within 0.01; line tax = amount × rate within 0.06; the
  line differences summed over the invoice within 1.27 (``tax_drift``);
- a special VAT invoice carries no exempt, not-taxable or export-zero line, and is issued
  to an organisation only;
- a rate must have been in force on the day of the sale: the issue date of a blue invoice,
  the blue invoice's for a red one (so 16 % appears only on a red invoice reversing a sale of
  2018-05-01..2019-03-31); v2 also checks the rate against the seller's taxpayer type;
- the issue time is not after the moment the record is accepted, nor before 数电 invoices
  began (2021-12-01); the invoice number's positions 1–2 are its year of issue.

Discount lines: a line with ``"discount": true`` discounts the ordinary line right before it.
Its amount has the opposite sign of ordinary lines (negative on a blue invoice, positive on
a red one), its magnitude is at most that line's, and it carries the same rate and tax code.
``quantity`` and ``unit_price`` are both given or both omitted (v1 requires them on ordinary
lines). ``"discount": false`` is not accepted: an ordinary line omits the flag.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Final

from ledger_node import _fastpaths
from ledger_node.records import fields as f
from ledger_node.records import identifiers as ids
from ledger_node.records.amounts import (
    GENERAL_RATES,
    INVOICE_TAX_TOLERANCE_CENTS,
    LINE_TAX_TOLERANCE_CENTS,
    NOT_ON_SPECIAL_INVOICES,
    RATE_PER_MILLE,
    SMALL_SCALE_RATES,
    format_money,
    rate_in_force,
    tax_drift,
)
from ledger_node.records.clock import Moment

V1: Final = "invoice.issued/v1"
V2: Final = "invoice.issued/v2"

#: Most lines an invoice may carry.
MAX_LINES: Final = 2000
#: 数电 invoices were first issued in the pilot of December 2021.
DIGITAL_INVOICES_FROM: Final = datetime.date(2021, 12, 1)
#: VAT invoices of the current system exist from the 1994 tax reform.
VAT_INVOICES_FROM: Final = datetime.date(1994, 1, 1)
INVOICE_TYPES: Final = ("special", "ordinary")
TAXPAYER_TYPES: Final = ("general", "small_scale")
ISSUERS: Final = ("seller", "tax_bureau")
RATES: Final = tuple(RATE_PER_MILLE)

_LINE_NAME = re.compile(
    rf"\*[^*\s{f.CTRL}][^*{f.CTRL}]*"
    rf"\*[^*\s{f.CTRL}][^*{f.CTRL}]*"
)
_TAX_CODE = re.compile(r"[0-9]{19}")
# The confirmation form's number: 20 digits on the 数电 platform, 16 on the red-letter
# information form of the earlier system.
_CONFIRMATION = re.compile(r"[0-9]{20}|[0-9]{16}")

_REQUIRED_V1 = frozenset(
    {
        "invoice_number",
        "issued_at",
        "invoice_type",
        "seller",
        "buyer",
        "lines",
        "total_amount",
        "total_tax",
        "total",
    }
)
_OPTIONAL_V1 = frozenset({"remarks", "red_of"})
_REQUIRED_V2 = _REQUIRED_V1 | {"drawer", "issued_by"}
_OPTIONAL_V2 = frozenset({"remarks", "red_of", "confirmation_number"})
_LINE_FIELDS = frozenset({"name", "tax_code", "amount", "rate", "tax"})
_PRICED = frozenset({"quantity", "unit_price"})
_DISCOUNT_FIELDS = _LINE_FIELDS | {"discount"}
_BLUE_DIGITAL = frozenset({"number", "issued_on"})
_BLUE_LEGACY = frozenset({"code", "number", "issued_on"})
_BROKEN: Final = object()


@dataclass(frozen=True, slots=True)
class _Terms:
    """What the lines are checked against."""

    sign: int  # +1 blue, -1 red: the sign of ordinary lines
    special: bool | None  # None if the invoice type is broken
    sale_day: datetime.date | None  # the day whose rates apply
    rates: frozenset[str] | None  # the seller's rates (v2), None for any
    priced: bool  # quantity and unit price required on ordinary lines (v1)


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of an ``invoice.issued/v1`` record."""
    _check(record, out, moment, 1)


def check_v2(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of an ``invoice.issued/v2`` record."""
    _check(record, out, moment, 2)


def _check(record: object, out: f.Out, moment: Moment, version: int) -> None:
    required, optional = (
        (_REQUIRED_V1, _OPTIONAL_V1) if version == 1 else (_REQUIRED_V2, _OPTIONAL_V2)
    )
    if not f.fields(record, "", required, optional, out):
        return
    assert type(record) is dict
    issued = f.date_time(record, "", "issued_at", out, moment, DIGITAL_INVOICES_FROM)
    issued_day = None if issued is None else datetime.date.fromisoformat(record["issued_at"][:10])
    number = f.invoice_number(
        record, "", "invoice_number", out, None if issued_day is None else issued_day.year
    )
    invoice_type = f.choice(record, "", "invoice_type", INVOICE_TYPES, out)
    rates = _seller(record, out, moment) if version == 2 else _seller_v1(record, out)
    _, buyer_type = f.party(record, "buyer", out, moment)
    if invoice_type == "special" and buyer_type not in (None, *f.ORGANISATION_ID_TYPES):
        out.append(
            (
                "buyer.id_type",
                "special_invoice_buyer",
                "a special VAT invoice is issued to an organisation (uscc or legacy), "
                f"not to {buyer_type!r}",
            )
        )
    if "remarks" in record:
        f.text(record, "", "remarks", f.MAX_REMARKS_LENGTH, out)
    red = "red_of" in record
    sale_day = issued_day
    if red:
        sale_day = _red_of(record, number, issued_day, out, version)
    if version == 2:
        f.text(record, "", "drawer", f.MAX_NAME_LENGTH, out)
        if red:
            f.pattern(
                record,
                "",
                "confirmation_number",
                _CONFIRMATION,
                "confirmation_format",
                "the 20-digit (or 16-digit) number of the red-letter confirmation form",
                out,
            )
            if "confirmation_number" not in record:
                out.append(
                    (
                        "confirmation_number",
                        "missing_field",
                        "a red invoice cites its red-letter information confirmation form",
                    )
                )
        elif "confirmation_number" in record:
            out.append(
                (
                    "confirmation_number",
                    "confirmation_without_red",
                    "only a red invoice carries a confirmation form number",
                )
            )
    terms = _Terms(
        -1 if red else 1,
        None if invoice_type is None else invoice_type == "special",
        sale_day,
        rates,
        version == 1,
    )
    _totals(record, _lines(record, terms, out), red, out)


def _seller_v1(record: dict[str, Any], out: f.Out) -> frozenset[str] | None:
    f.company(record, "seller", out)
    return None


def _seller(record: dict[str, Any], out: f.Out, moment: Moment) -> frozenset[str] | None:
    """The v2 seller and who issued the invoice; returns the rates the seller may use."""
    issued_by = f.choice(record, "", "issued_by", ISSUERS, out)
    seller, id_type = f.party(
        record, "seller", out, moment, allowed=f.IDENTIFIED, extra=frozenset({"taxpayer_type"})
    )
    if seller is None:
        return None
    taxpayer_type = f.choice(seller, "seller", "taxpayer_type", TAXPAYER_TYPES, out)
    if id_type in ids.PERSONAL_ID_TYPES:
        if issued_by == "seller":
            out.append(
                (
                    "issued_by",
                    "seller_individual",
                    "an individual's sale is invoiced by the tax bureau on their behalf "
                    '(代开): "issued_by" must be "tax_bureau"',
                )
            )
        if taxpayer_type == "general":
            out.append(
                (
                    "seller.taxpayer_type",
                    "individual_taxpayer_type",
                    "an individual is taxed as a small-scale taxpayer (VAT regulations' "
                    'implementing rules, art. 29): must be "small_scale"',
                )
            )
    if taxpayer_type is None:
        return None
    return GENERAL_RATES if taxpayer_type == "general" else SMALL_SCALE_RATES


def _red_of(
    record: dict[str, Any],
    number: str | None,
    issued_day: datetime.date | None,
    out: f.Out,
    version: int,
) -> datetime.date | None:
    """Check the blue invoice a red one reverses; return the day whose rates apply."""
    if version == 1:
        # v1 names a 数电 invoice only, so the sale was in the 数电 era: today's rates.
        blue = f.invoice_number(record, "", "red_of", out)
        if blue is not None and blue == number:
            out.append(("red_of", "red_of_self", "a red invoice cannot reverse itself"))
        return issued_day
    blue_ref = record["red_of"]
    legacy = type(blue_ref) is dict and "code" in blue_ref
    if not f.fields(
        blue_ref, "red_of", _BLUE_LEGACY if legacy else _BLUE_DIGITAL, f.NO_FIELDS, out
    ):
        return None
    floor = VAT_INVOICES_FROM if legacy else DIGITAL_INVOICES_FROM
    blue_day = f.date(blue_ref, "red_of", "issued_on", out, None, floor)
    if legacy:
        code = f.string(blue_ref, "red_of", "code", out)
        if code is not None and not ids.is_valid_legacy_invoice_code(code):
            out.append(
                (
                    "red_of.code",
                    "invoice_code_format",
                    f"{code!r} is not a 10- or 12-digit invoice code of a province",
                )
            )
        blue_number = f.string(blue_ref, "red_of", "number", out)
        if blue_number is not None and not ids.is_valid_legacy_invoice_number(blue_number):
            out.append(
                (
                    "red_of.number",
                    "invoice_number_format",
                    f"expected 8 digits, got {blue_number!r}",
                )
            )
    else:
        blue_number = f.invoice_number(
            blue_ref, "red_of", "number", out, None if blue_day is None else blue_day.year
        )
        if blue_number is not None and blue_number == number:
            out.append(("red_of.number", "red_of_self", "a red invoice cannot reverse itself"))
    if blue_day is not None and issued_day is not None and blue_day > issued_day:
        out.append(
            (
                "red_of.issued_on",
                "red_before_blue",
                f"the blue invoice of {blue_day.isoformat()} is later than this red invoice "
                f"of {issued_day.isoformat()}",
            )
        )
    return blue_day


def _lines(record: dict[str, Any], terms: _Terms, out: f.Out) -> tuple[int, int] | None:
    """Check every line; return the sums of amounts and taxes if all of them parsed."""
    lines = record.get("lines", f.MISSING)
    if lines is f.MISSING:
        return None
    if type(lines) is not list:
        out.append(("lines", "wrong_type", f"expected an array, got {f.kind(lines)}"))
        return None
    if not 1 <= len(lines) <= MAX_LINES:
        out.append(("lines", "lines_count", f"must have 1..{MAX_LINES} lines, has {len(lines)}"))
        return None
    complete = True
    amount_sum = tax_sum = drift = 0
    # What a discount line may discount: the ordinary line just before it as
    # (amount, rate, tax code), None if there is none, _BROKEN if that line is itself invalid
    # (already reported, so the discount is not blamed for it).
    previous: tuple[int, str, str] | object | None = None
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        discount = type(line) is dict and "discount" in line
        before = len(out)
        if discount:
            well_formed = f.fields(line, prefix, _DISCOUNT_FIELDS, _PRICED, out)
            if line["discount"] is not True:
                out.append(
                    (
                        f"{prefix}.discount",
                        "value_not_allowed",
                        "must be true; an ordinary line omits the flag",
                    )
                )
        else:
            required = _LINE_FIELDS | _PRICED if terms.priced else _LINE_FIELDS
            well_formed = f.fields(line, prefix, required, _PRICED, out)
        if (
            (discount or not terms.priced)
            and type(line) is dict
            and ("quantity" in line) != ("unit_price" in line)
        ):
            out.append(
                (prefix, "quantity_price_pair", "give both quantity and unit_price, or neither")
            )
        parsed = _line(line, prefix, terms, out) if well_formed else None
        if len(out) != before:
            complete = False
        if parsed is None:
            previous = None if discount else _BROKEN
            continue
        amount, tax, rate, code = parsed
        amount_sum += amount
        if tax is not None:
            tax_sum += tax
            drift += tax_drift(amount, tax, RATE_PER_MILLE[rate])
        if not discount:
            if amount * terms.sign <= 0:
                out.append(
                    (
                        f"{prefix}.amount",
                        "line_sign",
                        (
                            "an ordinary line must be positive; mark a discount with "
                            '"discount": true'
                            if terms.sign > 0
                            else "an ordinary line of a red invoice must be negative"
                        ),
                    )
                )
            previous = (amount, rate, code)
            continue
        _discount(line, prefix, amount, rate, code, terms.sign, previous, out)
        previous = None
    if complete and abs(drift) > INVOICE_TAX_TOLERANCE_CENTS * 1000:
        out.append(
            (
                "total_tax",
                "tax_drift",
                f"the line taxes differ from amount × rate by {drift / 100_000:+.2f} in all; "
                f"at most ±{format_money(INVOICE_TAX_TOLERANCE_CENTS)} is allowed",
            )
        )
    return (amount_sum, tax_sum) if complete else None


def _line(
    line: dict[str, Any], prefix: str, terms: _Terms, out: f.Out
) -> tuple[int, int | None, str, str] | None:
    """Check one line's fields; ``(amount, tax, rate, tax_code)`` if amount, rate and code
    parsed (tax None if it did not)."""
    name = line.get("name")
    if type(name) is not str or len(name) > f.MAX_NAME_LENGTH or _LINE_NAME.fullmatch(name) is None:
        if type(name) is str:
            out.append(
                (
                    f"{prefix}.name",
                    "line_name_format",
                    f"expected *类别*名称 (category and name between asterisks), got {name!r}",
                )
            )
        else:
            out.append((f"{prefix}.name", "wrong_type", f"expected a string, got {f.kind(name)}"))
    code = f.pattern(line, prefix, "tax_code", _TAX_CODE, "tax_code_format", "19 digits", out)
    rate = f.choice(line, prefix, "rate", RATES, out)
    if rate is not None:
        _rate_rules(rate, prefix, terms, out)
    amount = f.money(line, prefix, "amount", out)
    tax = f.money(line, prefix, "tax", out)
    quantity = f.decimal(line, prefix, "quantity", out) if "quantity" in line else None
    price = f.decimal(line, prefix, "unit_price", out) if "unit_price" in line else None
    if amount is not None and quantity is not None and price is not None:
        # |q·p − amount| ≤ 0.01, scaled to integers: q·p has scale sq+sp, amount scale 2.
        scale = quantity[1] + price[1]
        if abs(quantity[0] * price[0] * 100 - amount * 10**scale) > 10**scale:
            out.append(
                (
                    f"{prefix}.amount",
                    "amount_mismatch",
                    f"{line['amount']} differs from quantity × unit_price "
                    f"({line['quantity']} × {line['unit_price']}) by more than 0.01",
                )
            )
    if amount is not None and tax is not None and rate is not None:
        per_mille = RATE_PER_MILLE[rate]
        exact_zero = per_mille == 0
        off = tax_drift(amount, tax, per_mille)
        if (tax != 0) if exact_zero else abs(off) > LINE_TAX_TOLERANCE_CENTS * 1000:
            expected = "0.00" if exact_zero else f"{amount * per_mille / 100_000:.5f}".rstrip("0")
            out.append(
                (
                    f"{prefix}.tax",
                    "tax_mismatch",
                    f"{line['tax']} but {line['amount']} at rate {rate} gives {expected}"
                    + ("" if exact_zero else f" (±{format_money(LINE_TAX_TOLERANCE_CENTS)})"),
                )
            )
    if amount is None or rate is None or code is None:
        return None
    return amount, tax, rate, code


def _rate_rules(rate: str, prefix: str, terms: _Terms, out: f.Out) -> None:
    path = f"{prefix}.rate"
    if terms.special and rate in NOT_ON_SPECIAL_INVOICES:
        out.append(
            (
                path,
                "special_invoice_rate",
                f"a special VAT invoice carries no {rate!r} line (exempt, not taxable and "
                "export zero-rated sales are invoiced on ordinary invoices)",
            )
        )
    if terms.rates is not None and rate not in terms.rates:
        out.append(
            (
                path,
                "rate_taxpayer_type",
                f"{rate!r} is not a rate of this seller's taxpayer type; allowed: "
                + ", ".join(sorted(terms.rates)),
            )
        )
    if terms.sale_day is not None and not rate_in_force(rate, terms.sale_day):
        out.append(
            (
                path,
                "rate_not_in_force",
                f"{rate!r} was not a VAT rate on {terms.sale_day.isoformat()}, the day of the "
                "sale (a red invoice carries the rates of the blue invoice it reverses)",
            )
        )


def _discount(
    line: dict[str, Any],
    prefix: str,
    amount: int,
    rate: str,
    code: str,
    sign: int,
    previous: tuple[int, str, str] | object | None,
    out: f.Out,
) -> None:
    if amount * sign >= 0:
        out.append(
            (
                f"{prefix}.amount",
                "discount_sign",
                "a discount line must be "
                + ("negative" if sign > 0 else "positive on a red invoice"),
            )
        )
    if previous is None:
        out.append(
            (prefix, "discount_without_line", "a discount line must follow an ordinary line")
        )
    if not isinstance(previous, tuple):
        return
    line_amount, line_rate, line_code = previous
    if abs(amount) > abs(line_amount):
        out.append(
            (
                f"{prefix}.amount",
                "discount_exceeds_line",
                f"discount {line['amount']} exceeds the line it discounts "
                f"({format_money(line_amount)})",
            )
        )
    if rate != line_rate:
        out.append(
            (
                f"{prefix}.rate",
                "discount_rate_mismatch",
                f"must equal the discounted line's rate {line_rate!r}",
            )
        )
    if code != line_code:
        out.append(
            (
                f"{prefix}.tax_code",
                "discount_tax_code_mismatch",
                f"must equal the discounted line's tax code {line_code!r}",
            )
        )


def _totals(record: dict[str, Any], sums: tuple[int, int] | None, red: bool, out: f.Out) -> None:
    total_amount = f.money(record, "", "total_amount", out)
    total_tax = f.money(record, "", "total_tax", out)
    total = f.money(record, "", "total", out)
    if sums is not None:
        amount_sum, tax_sum = sums
        if total_amount is not None and total_amount != amount_sum:
            out.append(
                (
                    "total_amount",
                    "total_amount_mismatch",
                    f"is {record['total_amount']} but the lines sum to {format_money(amount_sum)}",
                )
            )
        if total_tax is not None and total_tax != tax_sum:
            out.append(
                (
                    "total_tax",
                    "total_tax_mismatch",
                    f"is {record['total_tax']} but the line taxes sum to {format_money(tax_sum)}",
                )
            )
    if (
        total is not None
        and total_amount is not None
        and total_tax is not None
        and total != total_amount + total_tax
    ):
        out.append(
            (
                "total",
                "total_mismatch",
                f"is {record['total']} but total_amount + total_tax is "
                f"{format_money(total_amount + total_tax)}",
            )
        )
    if red:
        for key, value in (("total_amount", total_amount), ("total", total)):
            if value is not None and value >= 0:
                out.append(
                    (key, "red_total_sign", "a red invoice reverses its blue one: must be < 0")
                )


# --- fast path -----------------------------------------------------------------------------
# Compiled (ledger_node/_fastpaths.c): the same rules on integer cents, given the latest
# instant a fact may carry.

_compiled_v1 = _fastpaths.invoice_v1
_compiled_v2 = _fastpaths.invoice_v2


def fast_v1(record: object, moment: Moment) -> bool:
    """True only if the ``invoice.issued/v1`` record certainly satisfies :func:`check_v1`."""
    return _compiled_v1(record, moment.seconds)


def fast_v2(record: object, moment: Moment) -> bool:
    """True only if the ``invoice.issued/v2`` record certainly satisfies :func:`check_v2`."""
    return _compiled_v2(record, moment.seconds)
