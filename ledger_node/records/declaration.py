"""``tax.declaration/v1``: the tax bureau attests a taxpayer's VAT return for a period.

Monthly (``2026-03``) or quarterly (``2026-Q1``) periods: general taxpayers file monthly,
small-scale ones mostly quarterly, banks and some financial institutions quarterly
(增值税暂行条例 art. 23; 财税〔2016〕36号 annex 1 art. 47). Sales are declared by rate, each
with its output tax; the balance is the return's: output tax − input tax − credit brought
forward = tax payable − credit carried forward, neither of the two negative nor both
positive. A small-scale taxpayer deducts no input tax (simplified method). Periods start
from April 2019, when the current rates took effect (公告2019年第39号).
"""

from __future__ import annotations

import calendar
import datetime
import re
from typing import Any, Final

from ledger_node import _fastpaths
from ledger_node.records import fields as f
from ledger_node.records.amounts import (
    GENERAL_RATES,
    RATE_PER_MILLE,
    SMALL_SCALE_RATES,
    format_money,
    rate_in_force,
)
from ledger_node.records.clock import Moment

V1: Final = "tax.declaration/v1"

FIRST_PERIOD: Final = datetime.date(2019, 4, 1)
TAXPAYER_TYPES: Final = ("general", "small_scale")
_PERIOD = re.compile(r"([0-9]{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))")
_FIELDS = frozenset(
    {
        "uscc",
        "period",
        "taxpayer_type",
        "sales",
        "output_tax",
        "input_tax",
        "credit_brought_forward",
        "tax_payable",
        "credit_carried_forward",
        "filed_on",
    }
)
_SALES_FIELDS = frozenset({"rate", "amount", "tax"})
_RATES: Final = tuple(RATE_PER_MILLE)


def period_bounds(period: str) -> tuple[datetime.date, datetime.date] | None:
    """First and last day of a ``YYYY-MM`` or ``YYYY-Qn`` period, None if not one."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        return None
    year = int(match.group(1))
    if year < datetime.MINYEAR:
        return None
    first_month = int(match.group(2)) if match.group(2) else 3 * int(match.group(3)) - 2
    last_month = first_month + (0 if match.group(2) else 2)
    # The last day from the calendar, not as the day before the next period: December 9999
    # has no next period.
    last_day = calendar.monthrange(year, last_month)[1]
    return datetime.date(year, first_month, 1), datetime.date(year, last_month, last_day)


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``tax.declaration/v1`` record."""
    if not f.fields(record, "", _FIELDS, f.NO_FIELDS, out):
        return
    assert type(record) is dict
    f.uscc(record, "", "uscc", out)
    period = f.string(record, "", "period", out)
    bounds = None if period is None else period_bounds(period)
    if period is not None and bounds is None:
        out.append(("period", "period_format", f'expected "YYYY-MM" or "YYYY-Qn", got {period!r}'))
    elif bounds is not None and bounds[0] < FIRST_PERIOD:
        out.append(("period", "date_too_early", f"{period} is before {FIRST_PERIOD:%Y-%m}"))
        bounds = None
    taxpayer_type = f.choice(record, "", "taxpayer_type", TAXPAYER_TYPES, out)
    filed = f.date(record, "", "filed_on", out, moment, FIRST_PERIOD)
    if filed is not None and bounds is not None and filed <= bounds[1]:
        out.append(
            (
                "filed_on",
                "filed_before_period_end",
                f"a return for {period} is filed after the period ends ({bounds[1].isoformat()})",
            )
        )
    allowed = (
        None
        if taxpayer_type is None
        else (GENERAL_RATES if taxpayer_type == "general" else SMALL_SCALE_RATES)
    )
    output = _sales(record, allowed, None if bounds is None else bounds[0], out)
    declared = f.money(record, "", "output_tax", out)
    if output is not None and declared is not None and output != declared:
        out.append(
            (
                "output_tax",
                "output_tax_mismatch",
                f"is {record['output_tax']} but the sales' taxes sum to {format_money(output)}",
            )
        )
    amounts = {
        key: _non_negative(record, key, out)
        for key in ("input_tax", "credit_brought_forward", "tax_payable", "credit_carried_forward")
    }
    if taxpayer_type == "small_scale":
        for key in ("input_tax", "credit_brought_forward"):
            if amounts[key]:
                out.append(
                    (
                        key,
                        "small_scale_input",
                        "a small-scale taxpayer uses the simplified method and deducts no input "
                        "tax",
                    )
                )
    values = [declared, *amounts.values()]
    if all(v is not None for v in values):
        out_tax, input_tax, brought, payable, carried = (int(v or 0) for v in values)
        if payable and carried:
            out.append(
                (
                    "tax_payable",
                    "payable_and_credit",
                    "a return has tax payable or a credit carried forward, not both",
                )
            )
        elif out_tax - input_tax - brought != payable - carried:
            out.append(
                (
                    "tax_payable",
                    "payable_mismatch",
                    f"output {format_money(out_tax)} − input {format_money(input_tax)} − brought "
                    f"forward {format_money(brought)} is "
                    f"{format_money(out_tax - input_tax - brought)}, "
                    f"but payable − carried forward is {format_money(payable - carried)}",
                )
            )


def _non_negative(record: dict[str, Any], key: str, out: f.Out) -> int | None:
    cents = f.money(record, "", key, out)
    if cents is not None and cents < 0:
        out.append((key, "amount_negative", f"must be ≥ 0, got {record[key]}"))
        return None
    return cents


def _sales(
    record: dict[str, Any], allowed: frozenset[str] | None, start: datetime.date | None, out: f.Out
) -> int | None:
    """Check the sales by rate; the sum of their taxes if every one parsed."""
    sales = f.array(record, "", "sales", 1, len(_RATES), out)
    if sales is None:
        return None
    total: int | None = 0
    seen: set[str] = set()
    for index, item in enumerate(sales):
        prefix = f"sales[{index}]"
        if not f.fields(item, prefix, _SALES_FIELDS, f.NO_FIELDS, out):
            total = None
            continue
        rate = f.choice(item, prefix, "rate", _RATES, out)
        if rate is not None:
            if rate in seen:
                out.append(
                    (f"{prefix}.rate", "sales_duplicate_rate", f"rate {rate!r} is declared twice")
                )
            seen.add(rate)
            if allowed is not None and rate not in allowed:
                out.append(
                    (
                        f"{prefix}.rate",
                        "rate_taxpayer_type",
                        f"{rate!r} is not a rate of this taxpayer type",
                    )
                )
            if start is not None and not rate_in_force(rate, start):
                out.append(
                    (
                        f"{prefix}.rate",
                        "rate_not_in_force",
                        f"{rate!r} was not a VAT rate in {record['period']}",
                    )
                )
        f.money(item, prefix, "amount", out)
        tax = f.money(item, prefix, "tax", out)
        if tax is not None and rate is not None and RATE_PER_MILLE[rate] == 0 and tax != 0:
            out.append(
                (
                    f"{prefix}.tax",
                    "tax_mismatch",
                    f"sales at {rate!r} carry no tax, got {item['tax']}",
                )
            )
        total = None if total is None or tax is None else total + tax
    return total


# --- fast path -----------------------------------------------------------------------------
# Compiled (ledger_node/_fastpaths.c): the same rules on integer cents and day numbers, given
# the latest instant a fact may carry.

_compiled_v1 = _fastpaths.declaration_v1


def fast_v1(record: object, moment: Moment) -> bool:
    """True only if the record certainly satisfies :func:`check_v1`."""
    return _compiled_v1(record, moment.seconds)
