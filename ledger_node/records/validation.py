"""Field rules of the record schemas, checked by hand on plain dicts (this is the hot path).

:func:`validate` reports every problem of a record at once, each as ``(path, rule, message)``
with a JSON-ish path (``lines[2].tax``) and a stable rule code:

==========================  =====================================================================
rule                        meaning
==========================  =====================================================================
not_object                  a JSON object was expected
missing_field               a required field is absent
unknown_field               a field the schema does not define is present
wrong_type                  the JSON type is wrong (``null`` included)
money_not_string            a JSON number where a money string (``"12.30"``) is expected
money_format                not a money string with exactly two decimals (``-0.00`` refused)
decimal_not_string          a JSON number where a decimal string is expected
decimal_format              not a plain decimal string
text_format                 empty, padded, control characters, or too long
uscc_format / uscc_check    not shaped like a USCC / wrong GB 32100 check character
resident_id_invalid         not a resident ID card number (shape, birth date, MOD 11-2)
legacy_id_invalid           not a 15/17/20-character legacy taxpayer number
invoice_number_format       not exactly 20 digits
datetime_format             not ISO 8601 date-time with seconds and a timezone
date_format                 not a real ``YYYY-MM-DD`` date
value_not_allowed           not one of an enumeration's values
line_name_format            line name not of the form ``*类别*名称``
tax_code_format             tax classification code not 19 digits
quantity_price_pair         only one of ``quantity`` / ``unit_price`` given
amount_mismatch             line amount differs from quantity × unit price by more than 0.01
tax_mismatch                line tax differs from round-half-up(amount × rate) by more than 0.01
line_sign                   an ordinary line's amount has the wrong sign (or is zero)
discount_sign               a discount line's amount has the wrong sign (or is zero)
discount_without_line       a discount line does not follow an ordinary line
discount_exceeds_line       a discount is larger than the line it discounts
discount_rate_mismatch      a discount line's rate differs from its line's
discount_tax_code_mismatch  a discount line's tax code differs from its line's
lines_count                 no lines, or more than :data:`MAX_LINES`
total_amount_mismatch       ``total_amount`` is not the sum of line amounts
total_tax_mismatch          ``total_tax`` is not the sum of line taxes
total_mismatch              ``total`` is not ``total_amount + total_tax``
red_of_self                 a red invoice reverses itself
red_total_sign              a red invoice's totals are not negative
special_invoice_buyer       a special VAT invoice issued to an individual
amount_not_positive         a payment or approved loan amount is not positive
declined_amount             a declined decision carries an amount other than ``0.00``
abnormal_reason_missing     ``abnormal`` is true without a reason
abnormal_reason_unexpected  a reason is given while ``abnormal`` is false
year_range                  a year outside 2014 .. next year
score_range / score_band    a score outside 0..100 / outside its level's band
basis_level                 an approval relies on a rating other than A, B or M
==========================  =====================================================================

Values are checked in their canonical spelling and never rewritten: the ledger hashes a
record exactly as its agency sent it, so a record is either canonical or refused.

Discount lines (documented choice): a line with ``"discount": true`` discounts the ordinary
line right before it. Its amount has the opposite sign of ordinary lines (negative on a blue
invoice, positive on a red one), its magnitude is at most that line's, and it carries the same
rate and tax code. ``quantity`` and ``unit_price`` are required on ordinary lines and optional
(both or neither) on discount lines, as on the e-invoice platform. ``"discount": false`` is
not accepted: an ordinary line omits the flag, so each line has one spelling.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from ledger_node import _fastpaths
from ledger_node.canonical import canonical_bytes_of_validated
from ledger_node.errors import RecordValidationError
from ledger_node.hashing import keccak256
from ledger_node.records import schemas
from ledger_node.records.amounts import (
    RATE_PER_MILLE,
    format_money,
    parse_decimal,
    parse_money,
    tax_cents,
)
from ledger_node.records.identifiers import (
    _USCC_VALUE_TABLE,
    is_valid_legacy_taxpayer_id,
    is_valid_resident_id,
    is_valid_uscc,
)
from ledger_node.records.schemas import Schema, get_schema

Problem = tuple[str, str, str]
_T = TypeVar("_T")
_Out = list[Problem]

#: Most lines an invoice may carry.
MAX_LINES: Final = 2000
#: Longest name (company, person, line item) in characters.
MAX_NAME_LENGTH: Final = 200
#: Longest free-text remark in characters.
MAX_REMARKS_LENGTH: Final = 2000
#: First year of tax credit ratings in their current form (the 2014 rating measures).
FIRST_RATING_YEAR: Final = 2014

# Text: no surrounding whitespace, no C0/C1 controls, no lone surrogates (those cannot be
# encoded as UTF-8, so they would have no canonical bytes).
_TEXT = re.compile(
    r"[^\s\x00-\x1f\x7f-\x9f\ud800-\udfff](?:[^\x00-\x1f\x7f-\x9f\ud800-\udfff]*[^\s\x00-\x1f\x7f-\x9f\ud800-\udfff])?"
)
_LINE_NAME = re.compile(
    r"\*[^*\s\x00-\x1f\x7f-\x9f\ud800-\udfff][^*\x00-\x1f\x7f-\x9f\ud800-\udfff]*"
    r"\*[^*\s\x00-\x1f\x7f-\x9f\ud800-\udfff][^*\x00-\x1f\x7f-\x9f\ud800-\udfff]*"
)
_TAX_CODE = re.compile(r"[0-9]{19}")
_INVOICE_NUMBER = re.compile(r"[0-9]{20}")
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PAYMENT_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._:-]{0,63}")

_MISSING: Final = object()
_BROKEN: Final = object()


@dataclass(frozen=True, slots=True)
class ValidatedRecord:
    """A record that satisfies its schema, with the schema it was checked against.

    ``record`` is the caller's dict, unchanged: validation never rewrites a record (see the
    module docstring), so its canonical bytes are the ones the agency meant.
    """

    schema: Schema
    record: dict[str, Any]

    def subject_identifiers(self) -> tuple[tuple[str, str], ...]:
        """``(kind, identifier)`` for every identifier the schema tags."""
        return self.schema.subject_identifiers(self.record)

    def canonical_bytes(self) -> bytes:
        """The record's RFC 8785 bytes, on the fast path validation makes safe."""
        return canonical_bytes_of_validated(self.record)

    def record_hash(self) -> bytes:
        """``keccak256`` of :meth:`canonical_bytes`: what a commitment binds."""
        return keccak256(canonical_bytes_of_validated(self.record))


# Frozen dataclasses set each field through object.__setattr__; the slot descriptors are
# twice as fast on the hot path of validate().
_new_object = object.__new__
_set_schema = vars(ValidatedRecord)["schema"].__set__
_set_record = vars(ValidatedRecord)["record"].__set__


def validate(schema_name: str, record: object) -> ValidatedRecord:
    """Check ``record`` against the schema ``schema_name``.

    Raises :class:`~ledger_node.errors.UnknownSchemaError` for an unknown schema and
    :class:`~ledger_node.errors.RecordValidationError` listing every problem found.
    """
    schema = get_schema(schema_name)
    if _FAST_CHECKS[schema_name](record):
        validated = _new_object(ValidatedRecord)
        _set_schema(validated, schema)
        _set_record(validated, record)
        return validated
    out: _Out = []
    _CHECKS[schema_name](record, out)
    if out:
        raise RecordValidationError(schema_name, tuple(out))
    assert isinstance(record, dict)
    return ValidatedRecord(schema, record)


def problems(schema_name: str, record: object) -> tuple[Problem, ...]:
    """Every problem of ``record`` under ``schema_name``; empty if it is valid."""
    get_schema(schema_name)
    if _FAST_CHECKS[schema_name](record):
        return ()
    out: _Out = []
    _CHECKS[schema_name](record, out)
    return tuple(out)


# --- structure -----------------------------------------------------------------------------


def _at(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _fields(
    obj: object, prefix: str, required: frozenset[str], optional: frozenset[str], out: _Out
) -> bool:
    """Check that ``obj`` is an object with the required and only the known fields.

    Returns whether ``obj`` is an object, i.e. whether its fields can be checked further.
    """
    if type(obj) is not dict:
        out.append((prefix or "$", "not_object", f"expected a JSON object, got {_kind(obj)}"))
        return False
    keys = obj.keys()
    if keys == required:
        return True
    for key in sorted(required - keys):
        out.append((_at(prefix, key), "missing_field", "required field is missing"))
    for key in sorted(keys - required - optional, key=str):
        out.append((_at(prefix, str(key)), "unknown_field", "field is not defined by the schema"))
    return True


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- scalar checks: each returns the parsed value, or None after reporting a problem --------


def _text(obj: dict[str, Any], prefix: str, key: str, limit: int, out: _Out) -> str | None:
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    if type(value) is not str:
        out.append((_at(prefix, key), "wrong_type", f"expected a string, got {_kind(value)}"))
        return None
    if len(value) > limit or _TEXT.fullmatch(value) is None:
        out.append(
            (
                _at(prefix, key),
                "text_format",
                f"must be 1..{limit} characters without surrounding whitespace or control "
                "characters",
            )
        )
        return None
    return value


def _string(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> str | None:
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    if type(value) is not str:
        out.append((_at(prefix, key), "wrong_type", f"expected a string, got {_kind(value)}"))
        return None
    return value


def _pattern(
    obj: dict[str, Any],
    prefix: str,
    key: str,
    pattern: re.Pattern[str],
    rule: str,
    expected: str,
    out: _Out,
) -> str | None:
    value = _string(obj, prefix, key, out)
    if value is None:
        return None
    if pattern.fullmatch(value) is None:
        out.append((_at(prefix, key), rule, f"expected {expected}, got {value!r}"))
        return None
    return value


def _choice(
    obj: dict[str, Any], prefix: str, key: str, allowed: tuple[str, ...], out: _Out
) -> str | None:
    value = _string(obj, prefix, key, out)
    if value is None:
        return None
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        out.append((_at(prefix, key), "value_not_allowed", f"{value!r} is not one of {listed}"))
        return None
    return value


def _exactly(
    obj: dict[str, Any], prefix: str, key: str, out: _Out, expected: type, noun: str
) -> Any:
    """The field if its type is exactly ``expected`` (so a bool is not an int), else None."""
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    if type(value) is not expected:
        out.append((_at(prefix, key), "wrong_type", f"expected {noun}, got {_kind(value)}"))
        return None
    return value


def _boolean(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> bool | None:
    value: bool | None = _exactly(obj, prefix, key, out, bool, "a boolean")
    return value


def _integer(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> int | None:
    value: int | None = _exactly(obj, prefix, key, out, int, "an integer")
    return value


def _parsed(
    obj: dict[str, Any],
    prefix: str,
    key: str,
    out: _Out,
    parse: Callable[[str], _T | None],
    what: str,
    rule: str,
    expected: str,
) -> _T | None:
    """A string field parsed by ``parse``, or its problem: ``rule`` if the string does not
    parse, the not-a-string rules of ``what`` if it is not a string."""
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        return None
    if type(value) is str:
        parsed = parse(value)
        if parsed is None:
            out.append((_at(prefix, key), rule, f"expected {expected}, got {value!r}"))
        return parsed
    _not_a_string(value, _at(prefix, key), what, out)
    return None


def _money(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> int | None:
    """Integer cents of a money field."""
    return _parsed(
        obj,
        prefix,
        key,
        out,
        parse_money,
        "money",
        "money_format",
        'an amount with exactly two decimals like "1234.50"',
    )


def _decimal(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> tuple[int, int] | None:
    """``(units, scale)`` of a decimal string field."""
    return _parsed(
        obj,
        prefix,
        key,
        out,
        parse_decimal,
        "decimal",
        "decimal_format",
        'a plain decimal like "3" or "12.5"',
    )


def _not_a_string(value: object, path: str, what: str, out: _Out) -> None:
    # A JSON number where an exact decimal is expected gets its own rule: it is the
    # commonest mistake, and floats would silently lose cents.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out.append(
            (
                path,
                f"{what}_not_string",
                f"got a JSON number ({_kind(value)} {value!r}); {what} must be a string "
                'like "1234.50" so it stays exact',
            )
        )
    else:
        out.append((path, "wrong_type", f"expected a {what} string, got {_kind(value)}"))


def _date(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> datetime.date | None:
    value = _string(obj, prefix, key, out)
    if value is None:
        return None
    if _DATE.fullmatch(value) is not None:
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    out.append((_at(prefix, key), "date_format", f"expected a real YYYY-MM-DD date, got {value!r}"))
    return None


def _datetime(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> None:
    value = _string(obj, prefix, key, out)
    if value is None:
        return
    if _DATETIME.fullmatch(value) is not None:
        try:
            datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return
    out.append(
        (
            _at(prefix, key),
            "datetime_format",
            "expected ISO 8601 with seconds and a timezone like "
            f'"2026-03-05T10:12:00+08:00", got {value!r}',
        )
    )


def _uscc(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> str | None:
    value = _string(obj, prefix, key, out)
    if value is None:
        return None
    if is_valid_uscc(value):
        return value
    if len(value) != 18 or _USCC_SHAPE.fullmatch(value) is None:
        out.append(
            (
                _at(prefix, key),
                "uscc_format",
                f"{value!r} is not 18 characters of 0-9A-HJ-NP-RTUWXY with digits at 3-8",
            )
        )
    else:
        out.append((_at(prefix, key), "uscc_check", f"{value!r} has a wrong check character"))
    return None


def _invoice_number(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> str | None:
    return _pattern(obj, prefix, key, _INVOICE_NUMBER, "invoice_number_format", "20 digits", out)


def _year(obj: dict[str, Any], prefix: str, key: str, out: _Out) -> int | None:
    year = _integer(obj, prefix, key, out)
    if year is None:
        return None
    latest = datetime.date.today().year + 1
    if not FIRST_RATING_YEAR <= year <= latest:
        out.append(
            (_at(prefix, key), "year_range", f"{year} is outside {FIRST_RATING_YEAR}..{latest}")
        )
        return None
    return year


# --- parties -------------------------------------------------------------------------------

_COMPANY_FIELDS = frozenset({"name", "tax_id"})
_PARTY_FIELDS = frozenset({"name", "tax_id", "id_type"})
_NONE: frozenset[str] = frozenset()
ID_TYPES: Final = ("uscc", "resident_id", "legacy")


def _company(obj: dict[str, Any], key: str, out: _Out) -> None:
    """A party identified by USCC (seller, payee)."""
    party = obj.get(key, _MISSING)
    if party is _MISSING or not _fields(party, key, _COMPANY_FIELDS, _NONE, out):
        return
    _text(party, key, "name", MAX_NAME_LENGTH, out)
    _uscc(party, key, "tax_id", out)


def _party(obj: dict[str, Any], key: str, out: _Out) -> str | None:
    """A party that may be a company, an individual or a legacy taxpayer (buyer, payer).

    Returns its ``id_type`` when valid.
    """
    party = obj.get(key, _MISSING)
    if party is _MISSING or not _fields(party, key, _PARTY_FIELDS, _NONE, out):
        return None
    _text(party, key, "name", MAX_NAME_LENGTH, out)
    id_type = _choice(party, key, "id_type", ID_TYPES, out)
    tax_id = _string(party, key, "tax_id", out)
    if id_type is None or tax_id is None:
        return id_type
    if id_type == "uscc":
        _uscc(party, key, "tax_id", out)
    elif id_type == "resident_id":
        if not is_valid_resident_id(tax_id):
            out.append(
                (
                    f"{key}.tax_id",
                    "resident_id_invalid",
                    f"{tax_id!r} is not a resident ID number (18 characters, real birth date, "
                    "ISO 7064 MOD 11-2 check)",
                )
            )
    elif not is_valid_legacy_taxpayer_id(tax_id):
        out.append(
            (
                f"{key}.tax_id",
                "legacy_id_invalid",
                f"{tax_id!r} is not 15, 17 or 20 upper-case letters and digits",
            )
        )
    return id_type


# --- invoice.issued/v1 ---------------------------------------------------------------------

_INVOICE_REQUIRED = frozenset(
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
_INVOICE_OPTIONAL = frozenset({"remarks", "red_of"})
_LINE_REQUIRED = frozenset({"name", "tax_code", "quantity", "unit_price", "amount", "rate", "tax"})
_DISCOUNT_REQUIRED = frozenset({"name", "tax_code", "amount", "rate", "tax", "discount"})
_DISCOUNT_OPTIONAL = frozenset({"quantity", "unit_price"})
INVOICE_TYPES: Final = ("special", "ordinary")
RATES: Final = tuple(RATE_PER_MILLE)


def _check_invoice(record: object, out: _Out) -> None:
    if not _fields(record, "", _INVOICE_REQUIRED, _INVOICE_OPTIONAL, out):
        return
    assert type(record) is dict
    number = _invoice_number(record, "", "invoice_number", out)
    _datetime(record, "", "issued_at", out)
    invoice_type = _choice(record, "", "invoice_type", INVOICE_TYPES, out)
    _company(record, "seller", out)
    buyer_type = _party(record, "buyer", out)
    if invoice_type == "special" and buyer_type == "resident_id":
        out.append(
            (
                "buyer.id_type",
                "special_invoice_buyer",
                "a special VAT invoice cannot be issued to an individual",
            )
        )
    if "remarks" in record:
        _text(record, "", "remarks", MAX_REMARKS_LENGTH, out)
    red = "red_of" in record
    if red:
        red_of = _invoice_number(record, "", "red_of", out)
        if red_of is not None and red_of == number:
            out.append(("red_of", "red_of_self", "a red invoice cannot reverse itself"))
    sums = _check_lines(record, -1 if red else 1, out)
    total_amount = _money(record, "", "total_amount", out)
    total_tax = _money(record, "", "total_tax", out)
    total = _money(record, "", "total", out)
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


def _check_lines(record: dict[str, Any], sign: int, out: _Out) -> tuple[int, int] | None:
    """Check every line; return the sums of amounts and taxes if all of them parsed.

    ``sign`` is +1 on a blue invoice and -1 on a red one: ordinary lines carry that sign,
    discount lines the opposite.
    """
    lines = record.get("lines", _MISSING)
    if lines is _MISSING:
        return None
    if type(lines) is not list:
        out.append(("lines", "wrong_type", f"expected an array, got {_kind(lines)}"))
        return None
    if not 1 <= len(lines) <= MAX_LINES:
        out.append(("lines", "lines_count", f"must have 1..{MAX_LINES} lines, has {len(lines)}"))
        return None
    complete = True
    amount_sum = 0
    tax_sum = 0
    # What a discount line may discount: the ordinary line just before it as
    # (amount, rate, tax code), None if there is none, _BROKEN if that line is itself invalid
    # (already reported, so the discount is not blamed for it).
    previous: tuple[int, str, str] | object | None = None
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        discount = type(line) is dict and "discount" in line
        before = len(out)
        if discount:
            well_formed = _fields(line, prefix, _DISCOUNT_REQUIRED, _DISCOUNT_OPTIONAL, out)
            if line["discount"] is not True:
                out.append(
                    (
                        f"{prefix}.discount",
                        "value_not_allowed",
                        "must be true; an ordinary line omits the flag",
                    )
                )
            if ("quantity" in line) != ("unit_price" in line):
                out.append(
                    (prefix, "quantity_price_pair", "give both quantity and unit_price, or neither")
                )
        else:
            well_formed = _fields(line, prefix, _LINE_REQUIRED, _NONE, out)
        amount, tax, rate, code = _check_line(line, prefix, out) if well_formed else _UNPARSED
        if len(out) != before:
            complete = False
        if amount is None or rate is None or code is None:
            previous = None if discount else _BROKEN
            continue
        amount_sum += amount
        tax_sum += tax or 0
        if not discount:
            if amount * sign <= 0:
                out.append(
                    (
                        f"{prefix}.amount",
                        "line_sign",
                        (
                            "an ordinary line must be positive; mark a discount with "
                            '"discount": true'
                            if sign > 0
                            else "an ordinary line of a red invoice must be negative"
                        ),
                    )
                )
            previous = (amount, rate, code)
            continue
        _check_discount(line, prefix, amount, rate, code, sign, previous, out)
        previous = None
    return (amount_sum, tax_sum) if complete else None


def _check_discount(
    line: dict[str, Any],
    prefix: str,
    amount: int,
    rate: str,
    code: str,
    sign: int,
    previous: tuple[int, str, str] | object | None,
    out: _Out,
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


_LineValues = tuple[int | None, int | None, str | None, str | None]
_UNPARSED: _LineValues = (None, None, None, None)


def _check_line(line: dict[str, Any], prefix: str, out: _Out) -> _LineValues:
    """Check one line's fields; return ``(amount, tax, rate, tax_code)``, each ``None`` if it
    did not parse (its problem is reported), for the checks across lines."""
    name = line.get("name")
    if type(name) is not str or len(name) > MAX_NAME_LENGTH or _LINE_NAME.fullmatch(name) is None:
        if type(name) is str:
            out.append(
                (
                    f"{prefix}.name",
                    "line_name_format",
                    f"expected *类别*名称 (category and name between asterisks), got {name!r}",
                )
            )
        else:
            out.append((f"{prefix}.name", "wrong_type", f"expected a string, got {_kind(name)}"))
    code = _pattern(line, prefix, "tax_code", _TAX_CODE, "tax_code_format", "19 digits", out)
    rate = _choice(line, prefix, "rate", RATES, out)
    amount = _money(line, prefix, "amount", out)
    tax = _money(line, prefix, "tax", out)
    quantity = _decimal(line, prefix, "quantity", out) if "quantity" in line else None
    price = _decimal(line, prefix, "unit_price", out) if "unit_price" in line else None
    if amount is not None and quantity is not None and price is not None:
        # |q·p − amount| ≤ 0.01, scaled to integers: q·p has scale sq+sp, amount scale 2.
        scale = quantity[1] + price[1]
        product = quantity[0] * price[0]
        if abs(product * 100 - amount * 10**scale) > 10**scale:
            out.append(
                (
                    f"{prefix}.amount",
                    "amount_mismatch",
                    f"{line['amount']} differs from quantity × unit_price "
                    f"({line['quantity']} × {line['unit_price']}) by more than 0.01",
                )
            )
    if amount is not None and tax is not None and rate is not None:
        expected = tax_cents(amount, RATE_PER_MILLE[rate])
        exact_zero = RATE_PER_MILLE[rate] == 0
        if (tax != 0) if exact_zero else abs(tax - expected) > 1:
            out.append(
                (
                    f"{prefix}.tax",
                    "tax_mismatch",
                    f"{line['tax']} but {line['amount']} at rate {rate} gives "
                    f"{format_money(expected)}" + ("" if exact_zero else " (±0.01)"),
                )
            )
    return amount, tax, rate, code


# --- payment.settled/v1 --------------------------------------------------------------------

_PAYMENT_FIELDS = frozenset(
    {"payment_id", "invoice_number", "payer", "payee", "amount", "currency", "value_date"}
)
CURRENCIES: Final = ("CNY",)


def _check_payment(record: object, out: _Out) -> None:
    if not _fields(record, "", _PAYMENT_FIELDS, _NONE, out):
        return
    assert type(record) is dict
    _pattern(
        record,
        "",
        "payment_id",
        _PAYMENT_ID,
        "text_format",
        "1..64 of A-Z a-z 0-9 . _ : - starting with a letter or digit",
        out,
    )
    _invoice_number(record, "", "invoice_number", out)
    _party(record, "payer", out)
    _company(record, "payee", out)
    amount = _money(record, "", "amount", out)
    if amount is not None and amount <= 0:
        out.append(("amount", "amount_not_positive", f"must be > 0, got {record['amount']}"))
    _choice(record, "", "currency", CURRENCIES, out)
    _date(record, "", "value_date", out)


# --- registration.status/v1 ----------------------------------------------------------------

_REGISTRATION_REQUIRED = frozenset({"uscc", "name", "status", "abnormal", "as_of"})
_REGISTRATION_OPTIONAL = frozenset({"abnormal_reason"})
REGISTRATION_STATUSES: Final = ("active", "revoked", "cancelled", "suspended")
ABNORMAL_REASONS: Final = ("no_annual_report", "no_disclosure", "false_disclosure", "unreachable")


def _check_registration(record: object, out: _Out) -> None:
    if not _fields(record, "", _REGISTRATION_REQUIRED, _REGISTRATION_OPTIONAL, out):
        return
    assert type(record) is dict
    _uscc(record, "", "uscc", out)
    _text(record, "", "name", MAX_NAME_LENGTH, out)
    _choice(record, "", "status", REGISTRATION_STATUSES, out)
    abnormal = _boolean(record, "", "abnormal", out)
    has_reason = "abnormal_reason" in record
    if has_reason:
        _choice(record, "", "abnormal_reason", ABNORMAL_REASONS, out)
    if abnormal is True and not has_reason:
        out.append(
            (
                "abnormal_reason",
                "abnormal_reason_missing",
                "required when abnormal is true: one of " + ", ".join(ABNORMAL_REASONS),
            )
        )
    elif abnormal is False and has_reason:
        out.append(
            ("abnormal_reason", "abnormal_reason_unexpected", "only allowed when abnormal is true")
        )
    _date(record, "", "as_of", out)


# --- credit.tax-rating/v1 ------------------------------------------------------------------

_RATING_REQUIRED = frozenset({"uscc", "year", "level"})
_RATING_OPTIONAL = frozenset({"score"})
RATING_LEVELS: Final = ("A", "B", "M", "C", "D")
#: Score band of each level, inclusive; M (new or no-revenue enterprise) has none.
SCORE_BANDS: Final = {"A": (90, 100), "B": (70, 89), "C": (40, 69), "D": (0, 39)}


def _check_rating(record: object, out: _Out) -> None:
    if not _fields(record, "", _RATING_REQUIRED, _RATING_OPTIONAL, out):
        return
    assert type(record) is dict
    _uscc(record, "", "uscc", out)
    _year(record, "", "year", out)
    level = _choice(record, "", "level", RATING_LEVELS, out)
    if "score" not in record:
        return
    score = _integer(record, "", "score", out)
    if score is None:
        return
    if not 0 <= score <= 100:
        out.append(("score", "score_range", f"must be 0..100, got {score}"))
    elif level in SCORE_BANDS:
        low, high = SCORE_BANDS[level]
        if not low <= score <= high:
            out.append(
                (
                    "score",
                    "score_band",
                    f"level {level} needs a score in {low}..{high}, got {score}",
                )
            )


# --- credit.bank-decision/v1 ---------------------------------------------------------------

_DECISION_FIELDS = frozenset({"uscc", "decision", "amount", "decided_on", "basis_rating"})
_BASIS_FIELDS = frozenset({"year", "level"})
DECISIONS: Final = ("approved", "declined")
#: Levels a bank may lend on without collateral under 银税互动.
LENDABLE_LEVELS: Final = ("A", "B", "M")


def _check_decision(record: object, out: _Out) -> None:
    if not _fields(record, "", _DECISION_FIELDS, _NONE, out):
        return
    assert type(record) is dict
    _uscc(record, "", "uscc", out)
    decision = _choice(record, "", "decision", DECISIONS, out)
    amount = _money(record, "", "amount", out)
    if amount is not None and decision == "approved" and amount <= 0:
        out.append(
            (
                "amount",
                "amount_not_positive",
                f"an approved loan must be > 0, got {record['amount']}",
            )
        )
    elif amount is not None and decision == "declined" and amount != 0:
        out.append(
            ("amount", "declined_amount", f'must be "0.00" when declined, got {record["amount"]}')
        )
    _date(record, "", "decided_on", out)
    basis = record.get("basis_rating", _MISSING)
    if basis is _MISSING or not _fields(basis, "basis_rating", _BASIS_FIELDS, _NONE, out):
        return
    _year(basis, "basis_rating", "year", out)
    level = _choice(basis, "basis_rating", "level", RATING_LEVELS, out)
    if decision == "approved" and level is not None and level not in LENDABLE_LEVELS:
        out.append(
            (
                "basis_rating.level",
                "basis_level",
                f"an approval must rely on a rating of A, B or M, got {level}",
            )
        )


_CHECKS = {
    schemas.INVOICE_ISSUED: _check_invoice,
    schemas.PAYMENT_SETTLED: _check_payment,
    schemas.REGISTRATION_STATUS: _check_registration,
    schemas.TAX_RATING: _check_rating,
    schemas.BANK_DECISION: _check_decision,
}


# --- fast path -----------------------------------------------------------------------------
#
# One predicate per schema that answers "certainly valid?" as cheaply as possible. Invoices
# and payments, most of the traffic, are checked by compiled code (``ledger_node/_fastpaths.c``,
# built with the package): it restates the rules above field by field, on integer cents. The
# three small schemas are checked here: fields are fetched with one itemgetter call, their
# exact types checked in one chained comparison, and their formats with ONE regular
# expression over the fields joined by NUL (which every field pattern excludes, so each
# field is matched on its own). A predicate never raises and never reports: when it says
# False :func:`validate` runs the full, error-collecting checks above, so errors, their
# paths, rules and messages are exactly theirs. A predicate may refuse a valid record (that
# only costs time) but must never accept an invalid one; ``tests/records/test_fastpath.py``
# checks that with generated and mutated records.

_CTRL = r"\x00-\x1f\x7f-\x9f\ud800-\udfff"


def _fast_text(limit: int) -> str:
    # _TEXT with the length limit folded in: 1 char, or 2..limit with non-space ends.
    return rf"[^\s{_CTRL}](?:[^{_CTRL}]{{0,{limit - 2}}}[^\s{_CTRL}])?"


_F_NAME = _fast_text(MAX_NAME_LENGTH)
# "-0.00" has no valid spelling: refused by a lookahead (what follows the two decimals can
# only be the separator or the end, or the field would not be money anyway).
_F_MONEY = r"(?!-0\.00)-?(?:0|[1-9][0-9]{0,15})\.[0-9]{2}"
_F_USCC = r"[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}"
_F_DATE = _DATE.pattern


def _joined(*patterns: str) -> re.Pattern[str]:
    return re.compile("\x00".join(patterns))


_FAST_REGISTRATION = _joined(
    _F_USCC, _F_NAME, "(?:" + "|".join(REGISTRATION_STATUSES) + ")", _F_DATE
)
_FAST_DECISION = _joined(_F_USCC, "(?:approved|declined)", _F_MONEY, _F_DATE)
_FAST_USCC = re.compile(_F_USCC)

# USCC check by integer parsing: with base 34 ≡ 3 (mod 31), int(reversed body, 34) is
# Σ value_i · 3^i (mod 31), the GB 32100 weighted sum, in one C call. The alphabet's letters
# after H skip I, O, S and V, so they are renamed to the base-34 digits with their values
# first (bytes.translate: the shape check made the code ASCII).
_USCC_TO_BASE34 = bytes.maketrans(b"JKLMNPQRTUWXY", b"IJKLMNOPQRSTU")


def _uscc_checksum_ok(code: str) -> bool:
    """The GB 32100 check of a code already known to have the USCC shape."""
    raw = code.encode()
    total = int(raw[16::-1].translate(_USCC_TO_BASE34), 34)
    return (total + _USCC_VALUE_TABLE[raw[17]]) % 31 == 0


_fromisoformat_date = datetime.date.fromisoformat
#: The fast path's latest rating year, fixed at import. The full check uses today's year + 1,
#: which can only have grown since, so accepting up to this one is always safe.
_FAST_LATEST_YEAR: Final = datetime.date.today().year + 1


_GET_REGISTRATION = operator.itemgetter("uscc", "name", "status", "abnormal", "as_of")
_ABNORMAL_REASON_SET: Final = frozenset(ABNORMAL_REASONS)


def _fast_registration(r: Any) -> bool:
    if type(r) is not dict:
        return False
    try:
        uscc, name, status, abnormal, as_of = _GET_REGISTRATION(r)
    except KeyError:
        return False
    has_reason = "abnormal_reason" in r
    if len(r) != 5 + has_reason:
        return False
    if (
        not (type(uscc) is type(name) is type(status) is type(as_of) is str)
        or type(abnormal) is not bool
        or abnormal is not has_reason
        or (has_reason and not _is_abnormal_reason(r["abnormal_reason"]))
        or _FAST_REGISTRATION.fullmatch(f"{uscc}\x00{name}\x00{status}\x00{as_of}") is None
        or not _uscc_checksum_ok(uscc)
    ):
        return False
    try:
        _fromisoformat_date(as_of)
    except ValueError:
        return False
    return True


def _is_abnormal_reason(value: object) -> bool:
    # The exact type first: a set lookup would accept an equal str subclass, or raise on an
    # unhashable value.
    return type(value) is str and value in _ABNORMAL_REASON_SET


_RATING_LEVEL_SET: Final = frozenset(RATING_LEVELS)
_LENDABLE_SET: Final = frozenset(LENDABLE_LEVELS)
_GET_RATING = operator.itemgetter("uscc", "year", "level")


def _fast_rating(r: Any) -> bool:
    if type(r) is not dict:
        return False
    try:
        uscc, year, level = _GET_RATING(r)
    except KeyError:
        return False
    has_score = "score" in r
    if len(r) != 3 + has_score:
        return False
    if (
        type(uscc) is not str
        or type(year) is not int
        or type(level) is not str
        or not FIRST_RATING_YEAR <= year <= _FAST_LATEST_YEAR
        or level not in _RATING_LEVEL_SET
        or len(uscc) != 18
        or _FAST_USCC.fullmatch(uscc) is None
        or not _uscc_checksum_ok(uscc)
    ):
        return False
    if has_score:
        score = r["score"]
        if type(score) is not int or level == "M":
            return False
        low, high = SCORE_BANDS[level]
        if not low <= score <= high:
            return False
    return True


_GET_DECISION = operator.itemgetter("uscc", "decision", "amount", "decided_on", "basis_rating")
_GET_BASIS = operator.itemgetter("year", "level")


def _fast_decision(r: Any) -> bool:
    if type(r) is not dict or len(r) != 5:
        return False
    try:
        uscc, decision, amount, decided_on, basis = _GET_DECISION(r)
        if type(basis) is not dict or len(basis) != 2:
            return False
        year, level = _GET_BASIS(basis)
    except KeyError:
        return False
    if (
        not (type(uscc) is type(decision) is type(amount) is type(decided_on) is str)
        or type(year) is not int
        or type(level) is not str
        or not FIRST_RATING_YEAR <= year <= _FAST_LATEST_YEAR
        or level not in _RATING_LEVEL_SET
        or _FAST_DECISION.fullmatch(f"{uscc}\x00{decision}\x00{amount}\x00{decided_on}") is None
        or not _uscc_checksum_ok(uscc)
    ):
        return False
    if decision == "approved":
        if amount[0] == "-" or amount == "0.00" or level not in _LENDABLE_SET:
            return False
    elif amount != "0.00":
        return False
    try:
        _fromisoformat_date(decided_on)
    except ValueError:
        return False
    return True


#: Schema name -> "certainly valid?" predicate (see the fast path section).
_FAST_CHECKS: dict[str, Callable[[object], bool]] = {
    schemas.INVOICE_ISSUED: _fastpaths.invoice,
    schemas.PAYMENT_SETTLED: _fastpaths.payment,
    schemas.REGISTRATION_STATUS: _fast_registration,
    schemas.TAX_RATING: _fast_rating,
    schemas.BANK_DECISION: _fast_decision,
}
