"""Exact decimal arithmetic on the strings records carry, with integers instead of ``Decimal``.

Money is a string with exactly two decimal places (``"1234.50"``, ``"-12.00"``) and is parsed
to integer cents; quantities and unit prices are decimal strings of any scale and are parsed
to ``(units, scale)`` meaning ``units / 10**scale``. Integers keep validation exact and several
times faster than ``decimal.Decimal`` on the hot path.
"""

from __future__ import annotations

import datetime
import re

#: At most 16 integer digits: far above any invoice, and it keeps values exact as float-free
#: integers in every consumer (JavaScript tools included, 10^18 cents < 2^63).
MONEY_PATTERN = re.compile(r"-?(?:0|[1-9][0-9]{0,15})\.[0-9]{2}")
#: Quantities and unit prices: up to 16 integer and 13 fractional digits, as the e-invoice
#: platform allows for unit prices.
DECIMAL_PATTERN = re.compile(r"-?(?:0|[1-9][0-9]{0,15})(?:\.([0-9]{1,13}))?")

#: Tax and levy rates, in thousandths, keyed by their record spelling. 0.17, 0.11, 0.16 and
#: 0.10 are retired (see :data:`RATES_IN_FORCE`).
RATE_PER_MILLE: dict[str, int] = {
    "0.13": 130,
    "0.09": 90,
    "0.06": 60,
    "0.05": 50,
    "0.03": 30,
    "0.01": 10,
    "0.015": 15,
    "0.005": 5,
    "0": 0,
    "exempt": 0,
    "not_taxable": 0,
    "0.17": 170,
    "0.11": 110,
    "0.16": 160,
    "0.10": 100,
}

#: Rates that were not always in force: ``(first day, last day)`` of each period, None for
#: open ends. 财税〔2017〕37号 dropped 13 % from 2017-07-01 (11 % took its goods);
#: 财税〔2018〕32号 replaced 17 % and 11 % by 16 % and 10 % from 2018-05-01; 财政部 税务总局
#: 海关总署公告2019年第39号 replaced those by 13 % and 9 % from 2019-04-01.
RATES_IN_FORCE: dict[str, tuple[tuple[datetime.date | None, datetime.date | None], ...]] = {
    "0.17": ((None, datetime.date(2018, 4, 30)),),
    "0.11": ((None, datetime.date(2018, 4, 30)),),
    "0.16": ((datetime.date(2018, 5, 1), datetime.date(2019, 3, 31)),),
    "0.10": ((datetime.date(2018, 5, 1), datetime.date(2019, 3, 31)),),
    "0.13": ((None, datetime.date(2017, 6, 30)), (datetime.date(2019, 4, 1), None)),
    "0.09": ((datetime.date(2019, 4, 1), None),),
}

#: Rates a general taxpayer's invoice may carry: the tax rates, the export zero rate, the
#: levy rates of the simplified method (5 %, 3 %, 5 % reduced to 1.5 % for housing rental,
#: 3 % reduced to 0.5 % for used cars), exempt and not-taxable lines, and the retired rates.
GENERAL_RATES: frozenset[str] = frozenset(RATE_PER_MILLE) - {"0.01"}
#: Rates a small-scale taxpayer's invoice may carry: levy rates only (including the 1 %
#: reduced rate), exempt and not-taxable lines; its exports are exempt, not zero-rated.
SMALL_SCALE_RATES: frozenset[str] = frozenset(
    {"0.05", "0.03", "0.01", "0.015", "0.005", "exempt", "not_taxable"}
)
#: Rates a special VAT invoice may not carry (专票 never shows exempt, not-taxable or
#: export-zero lines).
NOT_ON_SPECIAL_INVOICES: frozenset[str] = frozenset({"0", "exempt", "not_taxable"})
#: A line's tax may differ from amount × rate by at most 0.06 yuan, and the differences
#: summed over an invoice by at most 1.27 yuan (the tax-control tolerances).
LINE_TAX_TOLERANCE_CENTS = 6
INVOICE_TAX_TOLERANCE_CENTS = 127


def rate_in_force(rate: str, day: datetime.date) -> bool:
    """Whether ``rate`` was a rate of VAT on ``day``."""
    periods = RATES_IN_FORCE.get(rate)
    if periods is None:
        return True
    return any(
        (start is None or start <= day) and (end is None or day <= end) for start, end in periods
    )


def tax_drift(amount_cents: int, tax_cents_value: int, rate_per_mille: int) -> int:
    """How far a line's tax is from amount × rate, in thousandths of a cent (signed)."""
    return tax_cents_value * 1000 - amount_cents * rate_per_mille


def parse_money(text: str) -> int | None:
    """Integer cents of a canonical money string, or ``None`` if it is not one.

    ``"-0.00"`` is refused: zero has one spelling, so one fact has one hash.
    """
    if MONEY_PATTERN.fullmatch(text) is None or text == "-0.00":
        return None
    return int(text.replace(".", "", 1))


def format_money(cents: int) -> str:
    """The canonical money string of ``cents`` (inverse of :func:`parse_money`)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def parse_decimal(text: str) -> tuple[int, int] | None:
    """``(units, scale)`` with ``value = units / 10**scale``, or ``None`` if ``text`` is not a
    plain decimal (no exponent, no ``+``, no leading zeros, no ``-0``)."""
    match = DECIMAL_PATTERN.fullmatch(text)
    if match is None:
        return None
    frac = match.group(1)
    units = int(text.replace(".", "", 1))
    if units == 0 and text[0] == "-":
        return None
    return units, (len(frac) if frac else 0)


def format_decimal(units: int, scale: int) -> str:
    """The decimal string of ``units / 10**scale`` (inverse of :func:`parse_decimal`)."""
    if scale == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}"


def round_half_up_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero (``ROUND_HALF_UP`` in
    ``decimal`` terms), symmetric so a red invoice's tax is exactly its blue one's negated."""
    quotient = (abs(numerator) * 2 + denominator) // (2 * denominator)
    return -quotient if numerator < 0 else quotient


def tax_cents(amount_cents: int, rate_per_mille: int) -> int:
    """Tax on ``amount_cents`` at ``rate_per_mille`` thousandths, rounded half-up to a cent."""
    return round_half_up_div(amount_cents * rate_per_mille, 1000)
