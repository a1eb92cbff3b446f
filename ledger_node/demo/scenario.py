"""The demo's records, and the problems planted in them.

Built on a generated market (:func:`ledger_node.records.economy.generate_market`), whose
facts all agree; the problems are planted by name (:mod:`ledger_node.records.patterns`),
each with the finding the audit must report for it, and two more are made to the proof
bundles themselves: a record edited after anchoring and a write signed by a stranger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger_node.records import schemas
from ledger_node.records.economy import generate_market
from ledger_node.records.patterns import plant

Record = dict[str, Any]

#: Which agency submits each schema.
SUBMITTER = {
    schemas.REGISTRATION_STATUS: "market-regulator",
    schemas.TAX_STATUS: "tax-bureau",
    schemas.TAX_RATING: "tax-bureau",
    schemas.CONSENT_GRANTED: "tax-bureau",
    schemas.INVOICE_ISSUED_V2: "tax-bureau",
    schemas.PAYMENT_SETTLED_V2: "bank",
    schemas.TAX_DECLARATION: "tax-bureau",
    schemas.BANK_DECISION: "bank",
}
#: The order agencies submit in: a regulator registers before a bureau invoices.
SUBMISSION_ORDER = tuple(SUBMITTER)
#: The record patterns the demo plants, in order.
DEMO_PATTERNS = (
    "unpaid_invoice",
    "half_payment",
    "third_party_payee",
    "attested_in_error",
    "abnormal_seller",
)


@dataclass(frozen=True)
class Submission:
    """One record an agency submits through its gateway, under a client id."""

    agency: str
    record_id: str
    schema: str
    record: Record


@dataclass(frozen=True)
class Planted:
    """A planted problem and the finding the audit must report for it."""

    code: str
    subject: str
    what: str


@dataclass
class DemoScenario:
    """Everything the demo submits, revokes, tampers with and forges."""

    submissions: list[Submission]
    #: (agency, record id, reason): facts attested in error, revoked by their agency.
    revocations: list[tuple[str, str, str]]
    #: (agency, record id): a record whose bundle is edited after anchoring.
    tampered: tuple[str, str]
    #: A record signed by a key that is not a member's.
    forged: Submission
    planted: list[Planted] = field(default_factory=list)

    def by_agency(self, agency: str) -> list[Submission]:
        return [s for s in self.submissions if s.agency == agency]


def record_id(schema: str, record: Record) -> str:
    """A client id an agency's own system would use for the record."""
    if schema in schemas.INVOICE_SCHEMAS:
        return f"INV-{record['invoice_number']}"
    if schema in schemas.PAYMENT_SCHEMAS:
        return f"PAY-{record['payment_id']}"
    if schema == schemas.REGISTRATION_STATUS:
        return f"REG-{record['uscc']}-{record['as_of']}"
    if schema == schemas.TAX_STATUS:
        return f"TST-{record['uscc']}-{record['since']}"
    if schema == schemas.TAX_RATING:
        return f"RAT-{record['uscc']}-{record['year']}"
    if schema == schemas.TAX_DECLARATION:
        return f"DCL-{record['uscc']}-{record['period']}"
    if schema == schemas.CONSENT_GRANTED:
        return str(record["consent_id"])
    if schema == schemas.DISCLOSURE_MADE:
        return str(record["disclosure_id"])
    return f"DEC-{record['uscc']}-{record['decided_on']}"


def build_scenario(invoices: int = 1000, *, seed: int = 2026) -> DemoScenario:
    """A market of about ``invoices`` invoices with their payments, returns, registrations,
    statuses, ratings, consents and loan decisions, and seven planted problems."""
    if invoices < 20:
        raise ValueError("the demo plants problems on five invoices of a market; give at least 20")
    market = generate_market(seed, invoices=invoices, companies=max(10, invoices // 20))
    truth = plant(market, DEMO_PATTERNS, seed)
    planted = [Planted(t.finding, t.subject, t.what) for t in truth]
    records = market.records
    submissions = [
        Submission(SUBMITTER[schema], record_id(schema, r), schema, r)
        for schema in SUBMISSION_ORDER
        for r in records[schema]
    ]
    revocations = [
        (SUBMITTER[schema], record_id(schema, record), reason)
        for schema, record, reason in market.revocations
    ]

    # A record edited after anchoring: a tax rating raised to A in its proof bundle.
    rating = records[schemas.TAX_RATING][1]
    tampered = ("tax-bureau", record_id(schemas.TAX_RATING, rating))
    planted.append(Planted("verification_failed", tampered[1], "a rating edited after anchoring"))

    # A write signed by a key that is not a member's: a forged A rating.
    victim = market.companies[2]
    latest = max(r["year"] for r in records[schemas.TAX_RATING])
    forged_rating = {"uscc": victim.uscc, "year": latest, "level": "A", "score": 98}
    forged = Submission(
        "unknown-signer",
        f"FORGED-{record_id(schemas.TAX_RATING, forged_rating)}",
        schemas.TAX_RATING,
        forged_rating,
    )
    planted.append(
        Planted("verification_failed", forged.record_id, "a write signed by a non-member key")
    )
    return DemoScenario(submissions, revocations, tampered, forged, planted)


def tamper(record: Record) -> Record:
    """The edit made to an anchored rating: level raised to A, still a valid record."""
    edited = dict(record)
    edited["level"] = "A"
    if "score" in edited:
        edited["score"] = 95
    return edited
