"""``tax.status/v1``: the tax bureau attests a taxpayer's status at the tax bureau.

The tax bureau keeps its own statuses, apart from market regulation's lists: ``normal``,
``abnormal`` (非正常户: unreachable, not filing; 税收征管法实施细则 and 国家税务总局
公告2019年第38号), ``absconded`` (走逃（失联）户) and ``deregistered``, each with the date it
took effect. An abnormal or absconded taxpayer's invoices become abnormal vouchers
(异常凭证, 公告2019年第38号 art. 1): the record lists those entries it causes, each naming
an invoice by its 数电 number or its pre-digital code and number.
"""

from __future__ import annotations

from typing import Final

from ledger_node.records import fields as f
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


fast_v1 = f.no_fast_path
