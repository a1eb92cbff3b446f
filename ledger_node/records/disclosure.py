"""``disclosure.made/v1``: a member agency attests that it disclosed facts to another.

Every answer a gateway gives another agency is such a fact: which schemas about which
subject (by its pseudonymous tag) went to which agency, for which purpose, under which
consent (the commitment of a ``consent.granted`` fact, where the read policy requires one),
with the hashes of the request and of the response, so a taxpayer can learn through the
tax bureau who saw what about it, when and why.
"""

from __future__ import annotations

import datetime
import operator
import re
from typing import Any, Final

from ledger_node.records import fields as f
from ledger_node.records.clock import Moment
from ledger_node.records.consent import PURPOSES

V1: Final = "disclosure.made/v1"

DISCLOSURES_FROM: Final = datetime.date(2015, 1, 1)
_REQUIRED = frozenset(
    {
        "disclosure_id",
        "discloser",
        "recipient",
        "subject_tag",
        "schemas",
        "purpose",
        "request_hash",
        "response_hash",
        "disclosed_at",
    }
)
_OPTIONAL = frozenset({"consent"})


def check_v1(record: object, out: f.Out, moment: Moment) -> None:
    """Every problem of a ``disclosure.made/v1`` record."""
    if not f.fields(record, "", _REQUIRED, _OPTIONAL, out):
        return
    assert type(record) is dict
    f.identifier(record, "", "disclosure_id", out)
    discloser = f.agency_name(record, "", "discloser", out)
    recipient = f.agency_name(record, "", "recipient", out)
    if discloser is not None and discloser == recipient:
        out.append(
            ("recipient", "disclosure_to_self", "an agency reading its own facts discloses nothing")
        )
    f.hash32(record, "", "subject_tag", out)
    f.schema_names(record, "", "schemas", out)
    f.choice(record, "", "purpose", PURPOSES, out)
    if "consent" in record:
        f.hash32(record, "", "consent", out)
    f.hash32(record, "", "request_hash", out)
    f.hash32(record, "", "response_hash", out)
    f.date_time(record, "", "disclosed_at", out, moment, DISCLOSURES_FROM)


# --- fast path -----------------------------------------------------------------------------
# In the form fields.py describes for the fast predicates.

_FIELD_PATTERNS = (
    f.IDENTIFIER_PATTERN.pattern,
    f.text_pattern(f.MAX_NAME_LENGTH),
    f.text_pattern(f.MAX_NAME_LENGTH),
    f.HASH_PATTERN.pattern,
    f.alternatives(PURPOSES),
    f.HASH_PATTERN.pattern,
    f.HASH_PATTERN.pattern,
    f.DATETIME_PATTERN.pattern,
)
_FAST = re.compile("\x00".join(_FIELD_PATTERNS))
_FAST_CONSENTED = re.compile("\x00".join((*_FIELD_PATTERNS, f.HASH_PATTERN.pattern)))
_GET = operator.itemgetter(
    "disclosure_id",
    "discloser",
    "recipient",
    "subject_tag",
    "purpose",
    "request_hash",
    "response_hash",
    "disclosed_at",
)
_EARLIEST = f.start_of_day(DISCLOSURES_FROM)


def fast_v1(r: Any, moment: Moment) -> bool:
    """True only if the record certainly satisfies :func:`check_v1`."""
    values = f.fetch(r, _GET)
    if values is None or "schemas" not in r:
        return False
    schemas = r["schemas"]
    consent = r.get("consent")
    if consent is not None:
        values = (*values, consent)
    if len(r) != len(_REQUIRED) + (consent is not None) or not all(
        type(value) is str for value in values
    ):
        return False
    _, discloser, recipient, _, _, _, _, disclosed_at, *_ = values
    return (
        (_FAST if consent is None else _FAST_CONSENTED).fullmatch("\x00".join(values)) is not None
        and discloser != recipient
        and f.date_time_fits(disclosed_at, moment, _EARLIEST)
        and f.schema_names_fit(schemas)
    )
