"""``tax.status/v1``: the tax bureau attests a taxpayer's status at the tax bureau.

The tax bureau keeps its own statuses, apart from market regulation's lists: ``normal``,
``abnormal`` (非正常户: unreachable, not filing; 税收征管法实施细则 and 国家税务总局
公告2019年第38号), ``absconded`` (走逃（失联）户) and ``deregistered``, each with the date it
took effect. An abnormal or absconded taxpayer's invoices become abnormal vouchers
(异常凭证, 公告2019年第38号 art. 1): the record lists those entries it causes, each naming
an invoice by its 数电 number or its pre-digital code and number.
"""

from __future__ import annotations

import operator
import re
from typing import Any, Final

from ledger_node import _fastpaths
from ledger_node.records import fields as f
from ledger_node.records import identifiers as ids
from ledger_node.records.clock import Moment
from ledger_node.records.registration import USCC_FROM

V1: Final = "tax.status/v1"

STATUSES: Final = ("normal", "abnormal", "absconded", "deregistered")
#: Statuses that turn the taxpayer's invoices into abnormal vouchers.
VOUCHER_CAUSES: Final = frozenset({"abnormal", "absconded"})
#: Most abnormal-voucher entries one status record lists.
MAX_VOUCHERS: Final = 10_000
_REQUIRED = frozenset({"uscc", "status", "since"})
_OPTIONAL = frozenset({"abnormal_vouchers"})


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``tax.status/v1`` record."""
    if not f.fields(record, "", _REQUIRED, _OPTIONAL, out):
        return
    assert type(record) is dict
    f.uscc(record, "", "uscc", out)
    status = f.choice(record, "", "status", STATUSES, out)
    f.date(record, "", "since", out, moment, USCC_FROM)
    if "abnormal_vouchers" not in record:
        return
    if status is not None and status not in VOUCHER_CAUSES:
        out.append(
            (
                "abnormal_vouchers",
                "vouchers_not_caused",
                f"a {status} taxpayer's invoices are not abnormal vouchers; only an abnormal or "
                "absconded taxpayer's are",
            )
        )
    vouchers = f.array(record, "", "abnormal_vouchers", 1, MAX_VOUCHERS, out)
    seen: set[tuple[str, ...]] = set()
    for index, item in enumerate(vouchers or ()):
        prefix = f"abnormal_vouchers[{index}]"
        reference = f.invoice_reference(item, prefix, out)
        if reference is None:
            continue
        pre_digital, ref = reference
        if not pre_digital:
            f.invoice_number(ref, prefix, "number", out)
        key = tuple(str(ref.get(k)) for k in ("code", "number"))
        if key in seen:
            out.append((prefix, "duplicate_voucher", "this invoice is listed twice"))
        seen.add(key)


# --- fast path -----------------------------------------------------------------------------
# In the form fields.py describes for the fast predicates; the USCC by the compiled check.

_FAST = re.compile("\x00".join((f.alternatives(STATUSES), f.DATE_PATTERN.pattern)))
_GET = operator.itemgetter("uscc", "status", "since")
_FLOOR = USCC_FROM.isoformat()
_uscc_ok = _fastpaths.uscc


def fast_v1(r: Any, moment: Moment) -> bool:
    """True only if the record certainly satisfies :func:`check_v1`."""
    fetched = f.fetch(r, _GET)
    if fetched is None:
        return False
    uscc, status, since = fetched
    vouchers = r.get("abnormal_vouchers", f.MISSING)
    if (
        len(r) != 3 + (vouchers is not f.MISSING)
        or not (type(status) is type(since) is str)
        or _FAST.fullmatch(f"{status}\x00{since}") is None
        or not _FLOOR <= since <= moment.date_text
        or not f.is_real_date(since)
        or not _uscc_ok(uscc)
    ):
        return False
    return vouchers is f.MISSING or (status in VOUCHER_CAUSES and _vouchers_fit(vouchers))


def _vouchers_fit(vouchers: object) -> bool:
    """Whether the abnormal-voucher entries are 1..MAX_VOUCHERS distinct invoices, each a
    数电 number or a pre-digital code and number."""
    if type(vouchers) is not list or not 1 <= len(vouchers) <= MAX_VOUCHERS:
        return False
    seen: set[tuple[object, object]] = set()
    for item in vouchers:
        if type(item) is not dict:
            return False
        number = item.get("number")
        code = item.get("code")
        if type(number) is not str or len(item) != 1 + (code is not None):
            return False
        if code is None:
            if ids.invoice_number_problem(number, None) is not None:
                return False
        elif not (
            type(code) is str
            and ids.is_valid_legacy_invoice_code(code)
            and ids.is_valid_legacy_invoice_number(number)
        ):
            return False
        seen.add((code, number))
    return len(seen) == len(vouchers)
