"""The demo's records, and the problems planted in them.

Built on a generated market (:func:`ledger_node.records.economy.generate_market`), whose
facts all agree; the problems are planted by name (:mod:`ledger_node.records.patterns`, and
the risk patterns of :mod:`ledger_node.risk.patterns`), each with the finding the audit must
report for it and the taxpayers the risk analysis must flag, and two more are made to the
proof bundles themselves: a record edited after anchoring and a write signed by a stranger.
Agencies attest facts as they happen: each schema's records in the order of their dates, a
fact planted as attested late only after all the others are final, one planted as dated
ahead of its attestation first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger_node.errors import LedgerValueError
from ledger_node.records import schemas
from ledger_node.records.economy import generate_market
from ledger_node.records.patterns import GroundTruth, plant
from ledger_node.risk.facts import fact_moment
from ledger_node.risk.patterns import RISK_PATTERNS

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
#: The record patterns the demo plants, in order: the audit's, then one of each risk pattern.
DEMO_PATTERNS = (
    "unpaid_invoice",
    "half_payment",
    "third_party_payee",
    "third_party_payer",
    "attested_in_error",
    "abnormal_seller",
    *RISK_PATTERNS,
)
#: The smallest market the demo plants every pattern in.
MIN_INVOICES = 600


class ScenarioError(LedgerValueError):
    """The demo's market cannot hold every planted pattern."""


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
    #: Records attested long after their date: submitted once every other record is final.
    late: list[Submission]
    #: (agency, record id, reason): facts attested in error, revoked by their agency.
    revocations: list[tuple[str, str, str]]
    #: (agency, record id): a record whose bundle is edited after anchoring.
    tampered: tuple[str, str]
    #: A record signed by a key that is not a member's.
    forged: Submission
    planted: list[Planted] = field(default_factory=list)
    #: Every planted pattern's ground truth (what the risk analysis must flag).
    truth: list[GroundTruth] = field(default_factory=list)

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
    statuses, ratings, consents and loan decisions, every pattern of :data:`DEMO_PATTERNS`
    planted in it, and two bundles tampered with."""
    if invoices < MIN_INVOICES:
        raise ScenarioError(
            f"the demo plants {len(DEMO_PATTERNS)} patterns, each on facts of its own; give at "
            f"least {MIN_INVOICES} invoices"
        )
    # Enough companies that the peer comparisons of the risk analysis have peers.
    market = generate_market(seed, invoices=invoices, companies=max(120, invoices // 8))
    try:
        truth = plant(market, DEMO_PATTERNS, seed)
    except ValueError as exc:
        raise ScenarioError(f"{exc} (--invoices {invoices} is too few)") from None
    planted = [Planted(t.finding, t.subject, t.what) for t in truth if t.finding is not None]
    records = market.records
    when = {id(record): at for _, record, at in market.timing}

    def submission(schema: str, record: Record) -> Submission:
        return Submission(SUBMITTER[schema], record_id(schema, record), schema, record)

    early = [submission(s, r) for s, r, at in market.timing if at == "early"]
    submissions = early + [
        submission(schema, r)
        for schema in SUBMISSION_ORDER
        for _, r in sorted(
            ((fact_moment(schema, r), r) for r in records[schema]), key=lambda pair: pair[0]
        )
        if id(r) not in when
    ]
    late = [submission(s, r) for s, r, at in market.timing if at == "late"]
    revocations = [
        (SUBMITTER[schema], record_id(schema, record), reason)
        for schema, record, reason in market.revocations
    ]

    # A record edited after anchoring: a tax rating raised to A in its proof bundle; one that
    # is not already A, of a taxpayer no pattern touched and no loan relied on (a loan on a
    # rating that no longer verifies would be a risk of its own).
    touched = {t for p in truth for t in p.taxpayers}
    borrowers = {d["uscc"] for d in records[schemas.BANK_DECISION]}
    rating = next(
        r
        for r in records[schemas.TAX_RATING]
        if r["level"] != "A" and r["uscc"] not in touched | borrowers
    )
    tampered = ("tax-bureau", record_id(schemas.TAX_RATING, rating))
    planted.append(Planted("verification_failed", tampered[1], "a rating edited after anchoring"))

    # A write signed by a key that is not a member's: a forged A rating.
    victim = next(c for c in market.companies if c.uscc not in touched)
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
    return DemoScenario(submissions, late, revocations, tampered, forged, planted, truth)


def tamper(record: Record) -> Record:
    """The edit made to an anchored rating: level raised to A, still a valid record."""
    edited = dict(record)
    edited["level"] = "A"
    if "score" in edited:
        edited["score"] = 95
    return edited
