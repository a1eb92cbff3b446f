"""Exact decimal arithmetic on the strings records carry, with integers instead of ``Decimal``.

Money is a string with exactly two decimal places (``"1234.50"``, ``"-12.00"``) and is parsed
to integer cents; quantities and unit prices are decimal strings of any scale and are parsed
to ``(units, scale)`` meaning ``units / 10**scale``. Integers keep validation exact and several
times faster than ``decimal.Decimal`` on the hot path.
"""

from __future__ import annotations

import re

#: At most 16 integer digits: far above any invoice, and it keeps values exact as float-free
#: integers in every consumer (JavaScript tools included, 10^18 cents < 2^63).
MONEY_PATTERN = re.compile(r"-?(?:0|[1-9][0-9]{0,15})\.[0-9]{2}")
#: Quantities and unit prices: up to 16 integer and 13 fractional digits, as the e-invoice
#: platform allows for unit prices.
DECIMAL_PATTERN = re.compile(r"-?(?:0|[1-9][0-9]{0,15})(?:\.([0-9]{1,13}))?")

#: Tax and levy rates, in thousandths, keyed by their record spelling.
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
}


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
