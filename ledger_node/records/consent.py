"""``consent.granted/v1``: the tax bureau records a taxpayer's authorisation, given in the
e-tax bureau, for an agency to receive its facts (银税互动: a bank reads the tax credit
rating with the taxpayer's consent).

A consent names the agency granted, the schemas and the purpose it covers and its validity.
The taxpayer may withdraw it: the tax bureau then revokes the consent fact on the ledger,
from that block on it covers nothing.
"""

from __future__ import annotations

import datetime
import operator
import re
from typing import Any, Final

from ledger_node import _fastpaths
from ledger_node.purposes import Purpose
from ledger_node.records import fields as f
from ledger_node.records.clock import Moment

V1: Final = "consent.granted/v1"

#: Purposes of a read, by label, from the one table that numbers them.
PURPOSES: Final = tuple(purpose.label for purpose in Purpose)
#: 银税互动 and its consents began in 2015 (税总发〔2015〕96号).
CONSENTS_FROM: Final = datetime.date(2015, 1, 1)
#: The fields of a consent, in the order the fast predicate fetches them.
_FIELD_ORDER = (
    "consent_id",
    "taxpayer",
    "grantee",
    "schemas",
    "purpose",
    "granted_at",
    "valid_from",
    "valid_until",
)
_FIELDS = frozenset(_FIELD_ORDER)


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``consent.granted/v1`` record."""
    if not f.fields(record, "", _FIELDS, f.NO_FIELDS, out):
        return
    assert type(record) is dict
    f.identifier(record, "", "consent_id", out)
    f.uscc(record, "", "taxpayer", out)
    f.agency_name(record, "", "grantee", out)
    f.schema_names(record, "", "schemas", out)
    f.choice(record, "", "purpose", PURPOSES, out)
    granted = f.date_time(record, "", "granted_at", out, moment, CONSENTS_FROM)
    start = f.date(record, "", "valid_from", out)
    end = f.date(record, "", "valid_until", out)
    if (
        granted is not None
        and start is not None
        and start < datetime.date.fromisoformat(record["granted_at"][:10])
    ):
        out.append(
            (
                "valid_from",
                "valid_before_granted",
                "a consent cannot take effect before it is given",
            )
        )
    if start is not None and end is not None and end < start:
        out.append(("valid_until", "validity_order", "must not be before valid_from"))


# --- fast path -----------------------------------------------------------------------------
# In the form fields.py describes for the fast predicates; the USCC by the compiled check.

_FAST = re.compile(
    "\x00".join(
        (
            f.IDENTIFIER_PATTERN.pattern,
            f.text_pattern(f.MAX_NAME_LENGTH),
            f.alternatives(PURPOSES),
            f.DATETIME_PATTERN.pattern,
            f.DATE_PATTERN.pattern,
            f.DATE_PATTERN.pattern,
        )
    )
)
_GET = operator.itemgetter(*_FIELD_ORDER)
_EARLIEST = f.start_of_day(CONSENTS_FROM)
_uscc_ok = _fastpaths.uscc


def fast_v1(r: Any, moment: Moment) -> bool:
    """True only if the record certainly satisfies :func:`check_v1`."""
    fetched = f.fetch(r, _GET)
    if fetched is None or len(r) != len(_FIELDS):
        return False
    consent_id, taxpayer, grantee, schemas, purpose, granted_at, start, end = fetched
    return (
        type(consent_id)
        is type(grantee)
        is type(purpose)
        is type(granted_at)
        is type(start)
        is type(end)
        is str
        and _FAST.fullmatch(
            f"{consent_id}\x00{grantee}\x00{purpose}\x00{granted_at}\x00{start}\x00{end}"
        )
        is not None
        # Dates of one spelling compare as strings; the consent's own date as written.
        and granted_at[:10] <= start <= end
        and f.is_real_date(start)
        and f.is_real_date(end)
        and f.date_time_fits(granted_at, moment, _EARLIEST)
        and f.schema_names_fit(schemas)
        and _uscc_ok(taxpayer)
    )
