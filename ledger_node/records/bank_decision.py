"""``credit.bank-decision/v1`` and ``/v2``: a bank attests a loan decision under 银税互动.

v1 names the rating it relied on by year and level. v2 cites the facts themselves: the
commitment of the ``credit.tax-rating`` fact it relied on and of the taxpayer's
``consent.granted`` fact, so an auditor can check the level and the consent on the ledger
instead of trusting a copied level.
"""

from __future__ import annotations

import datetime
import operator
import re
from typing import Any, Final

from ledger_node import _fastpaths
from ledger_node.records import fields as f
from ledger_node.records.clock import Moment, rating_published_on
from ledger_node.records.rating import FIRST_RATING_YEAR, LEVELS, rating_year

V1: Final = "credit.bank-decision/v1"
V2: Final = "credit.bank-decision/v2"

#: 银税互动 began in 2015 (税总发〔2015〕96号).
DECISIONS_FROM: Final = datetime.date(2015, 1, 1)
DECISIONS: Final = ("approved", "declined")
#: Levels a bank may lend on without collateral under 银税互动.
LENDABLE_LEVELS: Final = ("A", "B", "M")
_FIELDS_V1 = frozenset({"uscc", "decision", "amount", "decided_on", "basis_rating"})
_BASIS_FIELDS = frozenset({"year", "level"})
_FIELDS_V2 = frozenset({"uscc", "decision", "amount", "decided_on", "rating", "consent"})


def _decision(
    record: dict[str, Any], out: f.Out, moment: Moment
) -> tuple[str | None, datetime.date | None]:
    f.uscc(record, "", "uscc", out)
    decision = f.choice(record, "", "decision", DECISIONS, out)
    amount = f.money(record, "", "amount", out)
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
    decided = f.date(record, "", "decided_on", out, moment, DECISIONS_FROM)
    return decision, decided


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``credit.bank-decision/v1`` record."""
    if not f.fields(record, "", _FIELDS_V1, f.NO_FIELDS, out):
        return
    assert type(record) is dict
    decision, decided = _decision(record, out, moment)
    basis = record.get("basis_rating", f.MISSING)
    if basis is f.MISSING or not f.fields(basis, "basis_rating", _BASIS_FIELDS, f.NO_FIELDS, out):
        return
    year = rating_year(basis, "basis_rating", "year", out, moment)
    if year is not None and decided is not None and decided < rating_published_on(year):
        out.append(
            (
                "basis_rating.year",
                "basis_not_published",
                f"a decision of {decided.isoformat()} cannot rely on the {year} rating, "
                f"published from {rating_published_on(year).isoformat()}",
            )
        )
    level = f.choice(basis, "basis_rating", "level", LEVELS, out)
    if decision == "approved" and level is not None and level not in LENDABLE_LEVELS:
        out.append(
            (
                "basis_rating.level",
                "basis_level",
                f"an approval must rely on a rating of A, B or M, got {level}",
            )
        )


def check_v2(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``credit.bank-decision/v2`` record."""
    if not f.fields(record, "", _FIELDS_V2, f.NO_FIELDS, out):
        return
    assert type(record) is dict
    _decision(record, out, moment)
    f.hash32(record, "", "rating", out)
    f.hash32(record, "", "consent", out)


# --- fast path -----------------------------------------------------------------------------

_FAST_V1 = re.compile("\x00".join(("(?:approved|declined)", f.MONEY_TEXT, f.DATE_PATTERN.pattern)))
_FAST_V2 = re.compile(
    "\x00".join(
        (
            "(?:approved|declined)",
            f.MONEY_TEXT,
            f.DATE_PATTERN.pattern,
            f.HASH_PATTERN.pattern,
            f.HASH_PATTERN.pattern,
        )
    )
)
_GET_V1 = operator.itemgetter("uscc", "decision", "amount", "decided_on", "basis_rating")
_GET_V2 = operator.itemgetter("uscc", "decision", "amount", "decided_on", "rating", "consent")
_GET_BASIS = operator.itemgetter("year", "level")
_LEVELS: Final = frozenset(LEVELS)
_LENDABLE: Final = frozenset(LENDABLE_LEVELS)
_FLOOR = DECISIONS_FROM.isoformat()
_uscc_ok = _fastpaths.uscc


def _amount_fits(decision: str, amount: str) -> bool:
    if decision == "approved":
        return amount[0] != "-" and amount != "0.00"
    return amount == "0.00"


def fast_v1(r: Any, moment: Moment) -> bool:
    """True only if the record certainly satisfies :func:`check_v1`."""
    if type(r) is not dict or len(r) != 5:
        return False
    try:
        uscc, decision, amount, decided_on, basis = _GET_V1(r)
        if type(basis) is not dict or len(basis) != 2:
            return False
        year, level = _GET_BASIS(basis)
    except KeyError:
        return False
    if (
        not (type(decision) is type(amount) is type(decided_on) is str)
        or type(year) is not int
        or type(level) is not str
        or not FIRST_RATING_YEAR <= year <= moment.rating_year
        or level not in _LEVELS
        or _FAST_V1.fullmatch(f"{decision}\x00{amount}\x00{decided_on}") is None
        or not max(_FLOOR, f"{year + 1}-04-01") <= decided_on <= moment.date_text
        or not _amount_fits(decision, amount)
        or (decision == "approved" and level not in _LENDABLE)
        or not _uscc_ok(uscc)
    ):
        return False
    return f.is_real_date(decided_on)


def fast_v2(r: Any, moment: Moment) -> bool:
    """True only if the record certainly satisfies :func:`check_v2`."""
    if type(r) is not dict or len(r) != 6:
        return False
    try:
        uscc, decision, amount, decided_on, rating, consent = _GET_V2(r)
    except KeyError:
        return False
    if (
        not (
            type(decision)
            is type(amount)
            is type(decided_on)
            is type(rating)
            is type(consent)
            is str
        )
        or _FAST_V2.fullmatch(f"{decision}\x00{amount}\x00{decided_on}\x00{rating}\x00{consent}")
        is None
        or not _FLOOR <= decided_on <= moment.date_text
        or not _amount_fits(decision, amount)
        or not _uscc_ok(uscc)
    ):
        return False
    return f.is_real_date(decided_on)
