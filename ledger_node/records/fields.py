"""Field checks shared by the schema modules, on plain dicts (this is the hot path).

Each check appends ``(path, rule, message)`` problems to ``out`` and returns the parsed
value, or None when the field is absent (its absence is reported by :func:`fields`) or
broken (its problem is reported). Values are checked in their canonical spelling and never
rewritten: the ledger hashes a record exactly as its agency sent it, so a record is either
canonical or refused.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Callable
from typing import Any, Final, TypeVar

from ledger_node.records import identifiers as ids
from ledger_node.records.amounts import MONEY_PATTERN, parse_decimal, parse_money
from ledger_node.records.clock import CHINA_TIME, Moment

Problem = tuple[str, str, str]
Out = list[Problem]
_T = TypeVar("_T")

#: Longest name (company, person, line item, drawer) in characters.
MAX_NAME_LENGTH: Final = 200
#: Longest free-text remark in characters.
MAX_REMARKS_LENGTH: Final = 2000
NO_FIELDS: Final[frozenset[str]] = frozenset()
MISSING: Final = object()

# Text: no surrounding whitespace, no C0/C1 controls, no lone surrogates (those cannot be
# encoded as UTF-8, so they would have no canonical bytes).
CTRL: Final = r"\x00-\x1f\x7f-\x9f\ud800-\udfff"
_TEXT = re.compile(rf"[^\s{CTRL}](?:[^{CTRL}]*[^\s{CTRL}])?")
DATETIME_PATTERN: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
DATE_PATTERN: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
IDENTIFIER_PATTERN: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z._:-]{0,63}")
HASH_PATTERN: Final = re.compile(r"0x[0-9a-f]{64}")


def at(prefix: str, key: str) -> str:
    """The path of ``key`` inside the object at ``prefix``."""
    return f"{prefix}.{key}" if prefix else key


def kind(value: object) -> str:
    """How a message names the JSON type of ``value``."""
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


def fields(
    obj: object, prefix: str, required: frozenset[str], optional: frozenset[str], out: Out
) -> bool:
    """Check that ``obj`` is an object with the required and only the known fields.

    Returns whether ``obj`` is an object, i.e. whether its fields can be checked further.
    """
    if type(obj) is not dict:
        out.append((prefix or "$", "not_object", f"expected a JSON object, got {kind(obj)}"))
        return False
    keys = obj.keys()
    if keys == required:
        return True
    for key in sorted(required - keys):
        out.append((at(prefix, key), "missing_field", "required field is missing"))
    for key in sorted(keys - required - optional, key=str):
        out.append((at(prefix, str(key)), "unknown_field", "field is not defined by the schema"))
    return True


def string(obj: dict[str, Any], prefix: str, key: str, out: Out) -> str | None:
    """The field if it is a string."""
    value = obj.get(key, MISSING)
    if value is MISSING:
        return None
    if type(value) is not str:
        out.append((at(prefix, key), "wrong_type", f"expected a string, got {kind(value)}"))
        return None
    return value


def text(obj: dict[str, Any], prefix: str, key: str, limit: int, out: Out) -> str | None:
    """A free text of 1..``limit`` characters without padding or control characters."""
    value = string(obj, prefix, key, out)
    if value is None:
        return None
    if len(value) > limit or _TEXT.fullmatch(value) is None:
        out.append(
            (
                at(prefix, key),
                "text_format",
                f"must be 1..{limit} characters without surrounding whitespace or control "
                "characters",
            )
        )
        return None
    return value


def pattern(
    obj: dict[str, Any],
    prefix: str,
    key: str,
    regex: re.Pattern[str],
    rule: str,
    expected: str,
    out: Out,
) -> str | None:
    """A string matching ``regex`` entirely, or ``rule``."""
    value = string(obj, prefix, key, out)
    if value is None:
        return None
    if regex.fullmatch(value) is None:
        out.append((at(prefix, key), rule, f"expected {expected}, got {value!r}"))
        return None
    return value


def identifier(obj: dict[str, Any], prefix: str, key: str, out: Out) -> str | None:
    """An agency's own id of a record (payment, consent, disclosure)."""
    return pattern(
        obj,
        prefix,
        key,
        IDENTIFIER_PATTERN,
        "text_format",
        "1..64 of A-Z a-z 0-9 . _ : - starting with a letter or digit",
        out,
    )


def hash32(obj: dict[str, Any], prefix: str, key: str, out: Out) -> str | None:
    """A 32-byte hash or commitment, ``0x`` and 64 lowercase hex digits."""
    return pattern(
        obj, prefix, key, HASH_PATTERN, "hash_format", "0x and 64 lowercase hex digits", out
    )


def choice(
    obj: dict[str, Any], prefix: str, key: str, allowed: tuple[str, ...], out: Out
) -> str | None:
    """One of the ``allowed`` strings."""
    value = string(obj, prefix, key, out)
    if value is None:
        return None
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        out.append((at(prefix, key), "value_not_allowed", f"{value!r} is not one of {listed}"))
        return None
    return value


def exactly(obj: dict[str, Any], prefix: str, key: str, out: Out, expected: type, noun: str) -> Any:
    """The field if its type is exactly ``expected`` (so a bool is not an int), else None."""
    value = obj.get(key, MISSING)
    if value is MISSING:
        return None
    if type(value) is not expected:
        out.append((at(prefix, key), "wrong_type", f"expected {noun}, got {kind(value)}"))
        return None
    return value


def boolean(obj: dict[str, Any], prefix: str, key: str, out: Out) -> bool | None:
    """A JSON boolean."""
    value: bool | None = exactly(obj, prefix, key, out, bool, "a boolean")
    return value


def integer(obj: dict[str, Any], prefix: str, key: str, out: Out) -> int | None:
    """A JSON integer (not a boolean)."""
    value: int | None = exactly(obj, prefix, key, out, int, "an integer")
    return value


def array(
    obj: dict[str, Any], prefix: str, key: str, low: int, high: int, out: Out
) -> list[Any] | None:
    """A JSON array of ``low``..``high`` items (``items_count`` otherwise)."""
    value = obj.get(key, MISSING)
    if value is MISSING:
        return None
    if type(value) is not list:
        out.append((at(prefix, key), "wrong_type", f"expected an array, got {kind(value)}"))
        return None
    if not low <= len(value) <= high:
        out.append(
            (at(prefix, key), "items_count", f"must have {low}..{high} items, has {len(value)}")
        )
        return None
    return value


def _parsed(
    obj: dict[str, Any],
    prefix: str,
    key: str,
    out: Out,
    parse: Callable[[str], _T | None],
    what: str,
    rule: str,
    expected: str,
) -> _T | None:
    """A string field parsed by ``parse``, or its problem: ``rule`` if the string does not
    parse, the not-a-string rules of ``what`` if it is not a string."""
    value = obj.get(key, MISSING)
    if value is MISSING:
        return None
    if type(value) is str:
        parsed = parse(value)
        if parsed is None:
            out.append((at(prefix, key), rule, f"expected {expected}, got {value!r}"))
        return parsed
    # A JSON number where an exact decimal is expected gets its own rule: it is the
    # commonest mistake, and floats would silently lose cents.
    path = at(prefix, key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out.append(
            (
                path,
                f"{what}_not_string",
                f"got a JSON number ({kind(value)} {value!r}); {what} must be a string "
                'like "1234.50" so it stays exact',
            )
        )
    else:
        out.append((path, "wrong_type", f"expected a {what} string, got {kind(value)}"))
    return None


def money(obj: dict[str, Any], prefix: str, key: str, out: Out) -> int | None:
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


def positive_money(obj: dict[str, Any], prefix: str, key: str, out: Out) -> int | None:
    """Integer cents of a money field that must be > 0 (``amount_not_positive``)."""
    cents = money(obj, prefix, key, out)
    if cents is not None and cents <= 0:
        out.append((at(prefix, key), "amount_not_positive", f"must be > 0, got {obj[key]}"))
        return None
    return cents


def decimal(obj: dict[str, Any], prefix: str, key: str, out: Out) -> tuple[int, int] | None:
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


def date(
    obj: dict[str, Any],
    prefix: str,
    key: str,
    out: Out,
    moment: Moment | None = None,
    floor: datetime.date | None = None,
) -> datetime.date | None:
    """A real ``YYYY-MM-DD`` date; not after ``moment`` (``date_in_future``) and not before
    ``floor`` (``date_too_early``) when they are given."""
    value = string(obj, prefix, key, out)
    if value is None:
        return None
    parsed = None
    if DATE_PATTERN.fullmatch(value) is not None:
        with contextlib.suppress(ValueError):
            parsed = datetime.date.fromisoformat(value)
    if parsed is None:
        out.append(
            (at(prefix, key), "date_format", f"expected a real YYYY-MM-DD date, got {value!r}")
        )
        return None
    return _dated(parsed, at(prefix, key), value, out, moment, floor)


def _dated(
    day: datetime.date,
    path: str,
    value: str,
    out: Out,
    moment: Moment | None,
    floor: datetime.date | None,
) -> datetime.date | None:
    if moment is not None and day > moment.date:
        out.append(
            (
                path,
                "date_in_future",
                f"{value} is after the moment the record is accepted ({moment.date_text}, "
                "China Standard Time)",
            )
        )
        return None
    if floor is not None and day < floor:
        out.append((path, "date_too_early", f"{value} is before {floor.isoformat()}"))
        return None
    return day


def parse_date_time(value: str) -> datetime.datetime | None:
    """The instant ``value`` spells as ISO 8601 with seconds and a timezone, or None."""
    if DATETIME_PATTERN.fullmatch(value) is None:
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None


def start_of_day(day: datetime.date) -> float:
    """The POSIX instant ``day`` begins in China Standard Time."""
    return datetime.datetime.combine(day, datetime.time(), CHINA_TIME).timestamp()


def date_time(
    obj: dict[str, Any],
    prefix: str,
    key: str,
    out: Out,
    moment: Moment | None = None,
    floor: datetime.date | None = None,
) -> datetime.datetime | None:
    """An ISO 8601 date-time with seconds and a timezone; not after ``moment`` and its
    China Standard Time date not before ``floor``."""
    value = string(obj, prefix, key, out)
    if value is None:
        return None
    parsed = parse_date_time(value)
    if parsed is None:
        out.append(
            (
                at(prefix, key),
                "datetime_format",
                "expected ISO 8601 with seconds and a timezone like "
                f'"2026-03-05T10:12:00+08:00", got {value!r}',
            )
        )
        return None
    # Compared as POSIX instants: converting an extreme date-time (year 1 at +08:00) to
    # another zone would overflow.
    instant = parsed.timestamp()
    if moment is not None and instant > moment.seconds:
        out.append(
            (
                at(prefix, key),
                "date_in_future",
                f"{value} is after the moment the record is accepted (with "
                "a few minutes' clock skew)",
            )
        )
        return None
    if floor is not None and instant < start_of_day(floor):
        out.append((at(prefix, key), "date_too_early", f"{value} is before {floor.isoformat()}"))
        return None
    return parsed


def uscc(obj: dict[str, Any], prefix: str, key: str, out: Out) -> str | None:
    """A USCC right in every part (see :func:`ledger_node.records.identifiers.uscc_problem`)."""
    value = string(obj, prefix, key, out)
    if value is None:
        return None
    problem = ids.uscc_problem(value)
    if problem is None:
        return value
    out.append((at(prefix, key), *problem))
    return None


def invoice_number(
    obj: dict[str, Any], prefix: str, key: str, out: Out, year: int | None = None
) -> str | None:
    """A 数电 invoice number; positions 1–2 must be ``year`` when given."""
    value = string(obj, prefix, key, out)
    if value is None:
        return None
    problem = ids.invoice_number_problem(value, year)
    if problem is None:
        return value
    out.append((at(prefix, key), *problem))
    return None


# --- parties -------------------------------------------------------------------------------

#: Identifier types of a party. ``none``: an individual who gave no ID number (ordinary
#: invoices only; the party then has no ``tax_id``).
ID_TYPES: Final = (
    "uscc",
    "resident_id",
    "legacy",
    "passport",
    "hkmo_permit",
    "taiwan_permit",
    "foreign_permanent_resident",
    "none",
)
#: Identifier types of a taxpayer that is an organisation (may receive a special invoice).
ORGANISATION_ID_TYPES: Final = frozenset({"uscc", "legacy"})
#: Every identifier type but ``none``: a payer, a payee, a seller are always identified.
IDENTIFIED: Final = frozenset(ID_TYPES) - {"none"}
COMPANY_FIELDS: Final = frozenset({"name", "tax_id"})
PARTY_FIELDS: Final = frozenset({"name", "tax_id", "id_type"})
_ANONYMOUS_FIELDS: Final = frozenset({"name", "id_type"})


def company(obj: dict[str, Any], key: str, out: Out) -> None:
    """A party ``{name, tax_id}`` identified by USCC (a v1 seller or payee)."""
    party_obj = obj.get(key, MISSING)
    if party_obj is MISSING or not fields(party_obj, key, COMPANY_FIELDS, NO_FIELDS, out):
        return
    text(party_obj, key, "name", MAX_NAME_LENGTH, out)
    uscc(party_obj, key, "tax_id", out)


def party(
    obj: dict[str, Any],
    key: str,
    out: Out,
    moment: Moment,
    *,
    allowed: frozenset[str] = frozenset(ID_TYPES),
    extra: frozenset[str] = NO_FIELDS,
) -> tuple[dict[str, Any] | None, str | None]:
    """A party ``{name, id_type, tax_id}`` that may be a company, an individual or a legacy
    taxpayer, with ``extra`` required fields (checked by the caller).

    Returns the party object (None if it is not one) and its ``id_type`` when allowed.
    """
    party_obj = obj.get(key, MISSING)
    if party_obj is MISSING:
        return None, None
    anonymous = type(party_obj) is dict and party_obj.get("id_type") == "none"
    required = (_ANONYMOUS_FIELDS if anonymous else PARTY_FIELDS) | extra
    if not fields(party_obj, key, required, NO_FIELDS, out):
        return None, None
    text(party_obj, key, "name", MAX_NAME_LENGTH, out)
    id_type = choice(party_obj, key, "id_type", ID_TYPES, out)
    if id_type is not None and id_type not in allowed:
        out.append(
            (
                f"{key}.id_type",
                "id_type_not_allowed",
                f"{id_type!r} is not allowed here; expected one of "
                + ", ".join(repr(t) for t in ID_TYPES if t in allowed),
            )
        )
        return party_obj, None
    tax_id = string(party_obj, key, "tax_id", out)
    if id_type is None or tax_id is None:
        return party_obj, id_type
    problem = _id_problem(id_type, tax_id, moment)
    if problem is not None:
        out.append((f"{key}.tax_id", *problem))
    return party_obj, id_type


def _id_problem(id_type: str, tax_id: str, moment: Moment) -> tuple[str, str] | None:
    if id_type == "uscc":
        return ids.uscc_problem(tax_id)
    if id_type == "resident_id":
        if ids.is_valid_resident_id(tax_id, moment.date):
            return None
        return (
            "resident_id_invalid",
            f"{tax_id!r} is not a resident ID number (18 characters, a division code, a "
            "birth date from 1900 to today, ISO 7064 MOD 11-2 check)",
        )
    if id_type == "legacy":
        if ids.is_valid_legacy_taxpayer_id(tax_id):
            return None
        return (
            "legacy_id_invalid",
            f"{tax_id!r} is not 15, 17 or 20 upper-case letters and digits",
        )
    if id_type == "passport":
        if ids.is_valid_passport(tax_id):
            return None
        return ("passport_invalid", f"{tax_id!r} is not 5..20 upper-case letters and digits")
    if id_type == "hkmo_permit":
        if ids.is_valid_hkmo_permit(tax_id):
            return None
        return ("permit_invalid", f"{tax_id!r} is not H or M and 8 (or 10) digits")
    if id_type == "taiwan_permit":
        if ids.is_valid_taiwan_permit(tax_id):
            return None
        return ("permit_invalid", f"{tax_id!r} is not 8 (or 10) digits")
    if ids.is_valid_foreign_permanent_resident_id(tax_id, moment.date):
        return None
    return (
        "foreign_id_invalid",
        f"{tax_id!r} is not a foreign permanent resident ID (3 letters and 12 digits, or "
        "18 digits starting with 9 with a birth date and the MOD 11-2 check)",
    )


_DIGITAL_REF: Final = frozenset({"number"})
_LEGACY_REF: Final = frozenset({"code", "number"})


def invoice_reference(
    obj: object, prefix: str, out: Out, extra: frozenset[str] = NO_FIELDS
) -> tuple[bool, dict[str, Any]] | None:
    """An invoice named by its 数电 number ``{number}`` or, for a pre-digital invoice, by
    its code and number ``{code, number}``, with ``extra`` required fields (checked by the
    caller). Returns ``(pre_digital, reference)``; the 数电 number's year is checked by the
    caller, who knows the issue date."""
    pre_digital = type(obj) is dict and "code" in obj
    if not fields(
        obj, prefix, (_LEGACY_REF if pre_digital else _DIGITAL_REF) | extra, NO_FIELDS, out
    ):
        return None
    assert type(obj) is dict
    if pre_digital:
        code = string(obj, prefix, "code", out)
        if code is not None and not ids.is_valid_legacy_invoice_code(code):
            out.append(
                (
                    at(prefix, "code"),
                    "invoice_code_format",
                    f"{code!r} is not a 10- or 12-digit invoice code of a province",
                )
            )
        number = string(obj, prefix, "number", out)
        if number is not None and not ids.is_valid_legacy_invoice_number(number):
            out.append(
                (
                    at(prefix, "number"),
                    "invoice_number_format",
                    f"expected 8 digits, got {number!r}",
                )
            )
    return pre_digital, obj


def agency_name(obj: dict[str, Any], prefix: str, key: str, out: Out) -> str | None:
    """The name of a member agency as the deployment lists it."""
    return text(obj, prefix, key, MAX_NAME_LENGTH, out)


def schema_names(obj: dict[str, Any], prefix: str, key: str, out: Out) -> list[str] | None:
    """A list of distinct known schema names (what a consent or a disclosure covers)."""
    # Imported here: the registry imports every schema module, this one included.
    from ledger_node.records.schemas import SCHEMAS

    names = array(obj, prefix, key, 1, len(SCHEMAS), out)
    if names is None:
        return None
    seen: set[str] = set()
    for index, name in enumerate(names):
        path = f"{at(prefix, key)}[{index}]"
        if type(name) is not str:
            out.append((path, "wrong_type", f"expected a string, got {kind(name)}"))
        elif name not in SCHEMAS:
            out.append((path, "unknown_schema", f"{name!r} is not a schema of the ledger"))
        elif name in seen:
            out.append((path, "duplicate_schema", f"{name!r} is listed twice"))
        seen.add(str(name))
    return names


# --- helpers of the fast predicates ----------------------------------------------------------
# A schema module's fast predicate answers "certainly valid?" without collecting problems: it
# fetches its fields with one itemgetter call, matches their formats with ONE regular
# expression over the string fields joined by NUL (which every field pattern excludes, so each
# field is matched on its own), and then checks what a pattern cannot. These helpers restate
# the checks above in that form; tests/records/test_fastpath.py holds every predicate to them.


#: The regular expression of what :func:`money` accepts ("-0.00" is refused).
MONEY_TEXT: Final = r"(?!-0\.00)" + MONEY_PATTERN.pattern


def text_pattern(limit: int) -> str:
    """The regular expression of what :func:`text` accepts with ``limit``."""
    return rf"[^\s{CTRL}](?:[^{CTRL}]{{0,{limit - 2}}}[^\s{CTRL}])?"


def alternatives(allowed: tuple[str, ...]) -> str:
    """The regular expression of what :func:`choice` accepts from ``allowed``."""
    return "(?:" + "|".join(re.escape(value) for value in allowed) + ")"


def fetch(record: object, getter: Callable[[dict[str, Any]], Any]) -> Any:
    """What ``getter`` (an ``operator.itemgetter``) fetches from ``record``, or None unless
    ``record`` is an object holding every field it fetches."""
    if type(record) is not dict:
        return None
    try:
        return getter(record)
    except KeyError:
        return None


def is_real_date(value: str) -> bool:
    """Whether a string of :data:`DATE_PATTERN` is a real date (what :func:`date` parses)."""
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def date_time_fits(value: str, moment: Moment, earliest: float) -> bool:
    """Whether :func:`date_time` accepts the string ``value`` at ``moment`` with a floor that
    begins at the POSIX instant ``earliest`` (:func:`start_of_day`)."""
    parsed = parse_date_time(value)
    return parsed is not None and earliest <= parsed.timestamp() <= moment.seconds


def all_cents(values: list[Any]) -> list[int] | None:
    """What :func:`money` returns for each of the field values ``values`` (at least one),
    None if any of them has a problem."""
    if not all(type(value) is str for value in values):
        return None
    joined = "\x00".join(values)
    if _MONEY_LIST.fullmatch(joined) is None:
        return None
    return [int(value.replace(".", "")) for value in joined.split("\x00")]


_MONEY_LIST = re.compile(rf"{MONEY_TEXT}(?:\x00{MONEY_TEXT})*")


def schema_names_fit(names: object) -> bool:
    """Whether :func:`schema_names` accepts the field value ``names``."""
    from ledger_node.records.schemas import SCHEMAS

    return (
        type(names) is list
        and 1 <= len(names) <= len(SCHEMAS)
        and all(type(name) is str and name in SCHEMAS for name in names)
        and len(set(names)) == len(names)
    )
