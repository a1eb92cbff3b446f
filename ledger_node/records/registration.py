"""``registration.status/v1``: a market regulator attests a company's registration status
and whether it is on the abnormal-operations list (经营异常名录)."""

from __future__ import annotations

import datetime
import operator
import re
from typing import Any, Final

from ledger_node import _fastpaths
from ledger_node.records import fields as f
from ledger_node.records.clock import Moment

V1: Final = "registration.status/v1"

#: The USCC exists from GB 32100-2015's entry into force (三证合一, 2015-10-01).
USCC_FROM: Final = datetime.date(2015, 10, 1)
STATUSES: Final = ("active", "revoked", "cancelled", "suspended")
ABNORMAL_REASONS: Final = ("no_annual_report", "no_disclosure", "false_disclosure", "unreachable")
_REQUIRED = frozenset({"uscc", "name", "status", "abnormal", "as_of"})
_OPTIONAL = frozenset({"abnormal_reason"})


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``registration.status/v1`` record."""
    if not f.fields(record, "", _REQUIRED, _OPTIONAL, out):
        return
    assert type(record) is dict
    f.uscc(record, "", "uscc", out)
    f.text(record, "", "name", f.MAX_NAME_LENGTH, out)
    f.choice(record, "", "status", STATUSES, out)
    abnormal = f.boolean(record, "", "abnormal", out)
    has_reason = "abnormal_reason" in record
    if has_reason:
        f.choice(record, "", "abnormal_reason", ABNORMAL_REASONS, out)
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
    f.date(record, "", "as_of", out, moment, USCC_FROM)


# --- fast path -----------------------------------------------------------------------------
# In the form fields.py describes for the fast predicates; the USCC by the compiled check.

_FAST = re.compile(
    "\x00".join(
        (
            f.text_pattern(f.MAX_NAME_LENGTH),
            f.alternatives(STATUSES),
            f.DATE_PATTERN.pattern,
        )
    )
)
_GET = operator.itemgetter("uscc", "name", "status", "abnormal", "as_of")
_REASONS: Final = frozenset(ABNORMAL_REASONS)
_FLOOR = USCC_FROM.isoformat()
_uscc_ok = _fastpaths.uscc


def fast_v1(r: Any, moment: Moment) -> bool:
    """True only if the record certainly satisfies :func:`check_v1`."""
    if type(r) is not dict:
        return False
    try:
        uscc, name, status, abnormal, as_of = _GET(r)
    except KeyError:
        return False
    has_reason = "abnormal_reason" in r
    if len(r) != 5 + has_reason:
        return False
    if (
        not (type(name) is type(status) is type(as_of) is str)
        or type(abnormal) is not bool
        or abnormal is not has_reason
        or (
            has_reason
            and not (type(r["abnormal_reason"]) is str and r["abnormal_reason"] in _REASONS)
        )
        or _FAST.fullmatch(f"{name}\x00{status}\x00{as_of}") is None
        or not _FLOOR <= as_of <= moment.date_text
        or not _uscc_ok(uscc)
    ):
        return False
    return f.is_real_date(as_of)
