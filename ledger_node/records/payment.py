"""``payment.settled/v1`` and ``/v2``: a bank attests that a payer paid a payee.

v1 settles one invoice in CNY. v2 is any ISO 4217 currency, in that currency's minor units,
with the CNY amount beside it when it is not CNY, and may settle several invoices, each with
the CNY amount it receives; those amounts add up to the payment's CNY amount.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Final

from ledger_node import _fastpaths
from ledger_node.records import fields as f
from ledger_node.records.amounts import format_money
from ledger_node.records.clock import Moment

V1: Final = "payment.settled/v1"
V2: Final = "payment.settled/v2"

#: Payments may precede the invoices they settle (advances): a year before 数电 invoices.
PAYMENTS_FROM: Final = datetime.date(2021, 1, 1)
#: Most invoices one payment may settle.
MAX_SETTLED: Final = 1000

#: ISO 4217 active currency codes with their minor unit (decimal places) when it is not 2.
_ZERO_DECIMALS = (
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
)  # fmt: skip
_TWO_DECIMALS = (
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR",
    "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU",
    "UZS", "VES", "WST", "XCD", "YER", "ZAR", "ZMW", "ZWG",
)  # fmt: skip
_MINOR_UNITS_NOT_2 = {
    **dict.fromkeys(_ZERO_DECIMALS, 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
#: ISO 4217 code -> its minor unit.
CURRENCIES: Final[dict[str, int]] = {**dict.fromkeys(_TWO_DECIMALS, 2), **_MINOR_UNITS_NOT_2}
_CURRENCY_CODES: Final = tuple(sorted(CURRENCIES))
_AMOUNT = {
    minor: re.compile(r"(?:0|[1-9][0-9]{0,17})" + (rf"\.[0-9]{{{minor}}}" if minor else ""))
    for minor in set(CURRENCIES.values())
}

_FIELDS_V1 = frozenset(
    {"payment_id", "invoice_number", "payer", "payee", "amount", "currency", "value_date"}
)
_REQUIRED_V2 = frozenset(
    {"payment_id", "payer", "payee", "amount", "currency", "value_date", "settles"}
)
_OPTIONAL_V2 = frozenset({"amount_cny"})
_SETTLED_FIELDS = frozenset({"invoice_number", "amount"})


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``payment.settled/v1`` record."""
    if not f.fields(record, "", _FIELDS_V1, f.NO_FIELDS, out):
        return
    assert type(record) is dict
    f.identifier(record, "", "payment_id", out)
    f.invoice_number(record, "", "invoice_number", out)
    f.party(record, "payer", out, moment, allowed=f.IDENTIFIED)
    f.company(record, "payee", out)
    f.positive_money(record, "", "amount", out)
    f.choice(record, "", "currency", ("CNY",), out)
    f.date(record, "", "value_date", out, moment, PAYMENTS_FROM)


def check_v2(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``payment.settled/v2`` record."""
    if not f.fields(record, "", _REQUIRED_V2, _OPTIONAL_V2, out):
        return
    assert type(record) is dict
    f.identifier(record, "", "payment_id", out)
    f.party(record, "payer", out, moment, allowed=f.IDENTIFIED)
    f.party(record, "payee", out, moment, allowed=f.IDENTIFIED)
    currency = f.choice(record, "", "currency", _CURRENCY_CODES, out)
    amount = _amount(record, currency, out)
    if currency == "CNY":
        cny = amount
        if "amount_cny" in record:
            out.append(
                ("amount_cny", "amount_cny_unexpected", "a CNY payment has no separate CNY amount")
            )
    elif "amount_cny" in record:
        cny = f.positive_money(record, "", "amount_cny", out)
    else:
        cny = None
        if currency is not None:
            out.append(
                (
                    "amount_cny",
                    "missing_field",
                    f"a payment in {currency} gives its CNY amount beside it",
                )
            )
    f.date(record, "", "value_date", out, moment, PAYMENTS_FROM)
    settled = _settles(record, out)
    if settled is not None and cny is not None and settled != cny:
        out.append(
            (
                "settles",
                "settles_sum_mismatch",
                f"the settled invoices receive {format_money(settled)} but the payment is "
                f"{format_money(cny)} CNY",
            )
        )


def _amount(record: dict[str, Any], currency: str | None, out: f.Out) -> int | None:
    """The amount in the currency's minor units (cents for CNY)."""
    value = f.string(record, "", "amount", out)
    if value is None or currency is None:
        return None
    minor = CURRENCIES[currency]
    if _AMOUNT[minor].fullmatch(value) is None:
        out.append(
            (
                "amount",
                "money_format",
                f"expected an amount in {currency} with exactly {minor} decimal place(s), "
                f"got {value!r}",
            )
        )
        return None
    units = int(value.replace(".", ""))
    if units <= 0:
        out.append(("amount", "amount_not_positive", f"must be > 0, got {value}"))
        return None
    return units


def _settles(record: dict[str, Any], out: f.Out) -> int | None:
    """The invoices a payment settles; the sum of their amounts if every one is valid."""
    items = f.array(record, "", "settles", 1, MAX_SETTLED, out)
    if items is None:
        return None
    total: int | None = 0
    seen: set[str] = set()
    for index, item in enumerate(items):
        prefix = f"settles[{index}]"
        if not f.fields(item, prefix, _SETTLED_FIELDS, f.NO_FIELDS, out):
            total = None
            continue
        number = f.invoice_number(item, prefix, "invoice_number", out)
        if number is not None:
            if number in seen:
                out.append(
                    (
                        f"{prefix}.invoice_number",
                        "settles_duplicate",
                        f"invoice {number} is listed twice; give it one amount",
                    )
                )
            seen.add(number)
        cents = f.positive_money(item, prefix, "amount", out)
        total = None if total is None or cents is None else total + cents
    return total


# --- fast path -----------------------------------------------------------------------------

_compiled_v1 = _fastpaths.payment_v1
_compiled_v2 = _fastpaths.payment_v2


def fast_v1(record: object, moment: Moment) -> bool:
    """True only if the ``payment.settled/v1`` record certainly satisfies :func:`check_v1`."""
    return _compiled_v1(record, moment.seconds)


#: Currencies other than CNY whose amounts the compiled check reads (two minor digits).
_FOREIGN_TWO_DECIMALS: Final = frozenset(c for c, minor in CURRENCIES.items() if minor == 2) - {
    "CNY"
}


def fast_v2(record: object, moment: Moment) -> bool:
    """True only if the ``payment.settled/v2`` record certainly satisfies :func:`check_v2`.

    The compiled check decides payments in CNY and in currencies with two minor digits; the
    others take the full checks.
    """
    return _compiled_v2(record, moment.seconds, _FOREIGN_TWO_DECIMALS)
