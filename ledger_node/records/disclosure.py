"""``disclosure.made/v1``: a member agency attests that it disclosed facts to another.

Every answer a gateway gives another agency is such a fact: which schemas about which
subject (by its pseudonymous tag) went to which agency, for which purpose, under which
consent (the commitment of a ``consent.granted`` fact, where the read policy requires one),
with the hashes of the request and of the response, so a taxpayer can learn through the
tax bureau who saw what about it, when and why.
"""

from __future__ import annotations

import datetime
from typing import Final

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


fast_v1 = f.no_fast_path
