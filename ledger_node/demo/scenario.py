"""The demo's records, and the problems planted in them.

Built on :func:`ledger_node.records.samples.scenario`, whose facts all agree; every problem
below is planted on purpose and names the finding the audit must report for it.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from typing import Any

from ledger_node.records import schemas
from ledger_node.records.amounts import format_money, parse_money
from ledger_node.records.samples import (
    company,
    invoice,
    payment_for,
    red_invoice,
    registration,
    scenario,
    tax_rating,
)

Record = dict[str, Any]

#: Which agency submits each schema.
SUBMITTER = {
    schemas.REGISTRATION_STATUS: "market-regulator",
    schemas.TAX_RATING: "tax-bureau",
    schemas.INVOICE_ISSUED: "tax-bureau",
    schemas.PAYMENT_SETTLED: "bank",
    schemas.BANK_DECISION: "bank",
}
#: The order agencies submit in: a regulator registers before a bureau invoices.
SUBMISSION_ORDER = (
    schemas.REGISTRATION_STATUS,
    schemas.TAX_RATING,
    schemas.INVOICE_ISSUED,
    schemas.PAYMENT_SETTLED,
    schemas.BANK_DECISION,
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
    #: (agency, record id, reason): a blue invoice reversed by a red one.
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
    if schema == schemas.INVOICE_ISSUED:
        return f"INV-{record['invoice_number']}"
    if schema == schemas.PAYMENT_SETTLED:
        return f"PAY-{record['payment_id']}"
    if schema == schemas.REGISTRATION_STATUS:
        return f"REG-{record['uscc']}-{record['as_of']}"
    if schema == schemas.TAX_RATING:
        return f"RAT-{record['uscc']}-{record['year']}"
    return f"DEC-{record['uscc']}-{record['decided_on']}"


def build_scenario(invoices: int = 1000, *, seed: int = 2026, year: int = 2026) -> DemoScenario:
    """A scenario of ``invoices`` invoices with their payments, registrations and ratings,
    and seven planted problems."""
    if invoices < 5:
        raise ValueError("the demo plants problems on five invoices; give at least 5")
    rng = random.Random(f"demo:{seed}")  # noqa: S311 - sample data, not secrets
    base = scenario(seed, companies=max(12, invoices // 20), invoices=invoices, year=year)
    records = {name: list(items) for name, items in base.records.items()}
    # Every company starts registered, active and off the abnormal list: the only standing
    # problem is the one planted below.
    records[schemas.REGISTRATION_STATUS] = [
        {**r, "status": "active"} for r in records[schemas.REGISTRATION_STATUS]
    ]
    planted: list[Planted] = []
    bills = records[schemas.INVOICE_ISSUED]
    payments = {p["invoice_number"]: p for p in records[schemas.PAYMENT_SETTLED]}

    # (1) An unpaid invoice: its payment never happened.
    unpaid = bills[0]
    records[schemas.PAYMENT_SETTLED].remove(payments[unpaid["invoice_number"]])
    planted.append(Planted("payment_missing", unpaid["invoice_number"], "an unpaid invoice"))

    # (2) An amount mismatch: the buyer paid half.
    short = payments[bills[1]["invoice_number"]]
    cents = parse_money(short["amount"]) or 0
    short["amount"] = format_money(max(1, cents // 2))
    planted.append(
        Planted("amount_mismatch", bills[1]["invoice_number"], "a payment of half the total")
    )

    # (3) A payee who is not the seller: the money went to a third company.
    diverted = payments[bills[2]["invoice_number"]]
    third = next(
        c
        for c in base.companies
        if c.uscc not in (bills[2]["seller"]["tax_id"], bills[2]["buyer"]["tax_id"])
    )
    diverted["payee"] = {"name": third.name, "tax_id": third.uscc}
    planted.append(
        Planted("payee_not_seller", bills[2]["invoice_number"], "a payment to a third party")
    )

    # (4) A red invoice: the blue one is revoked on chain and a red one reverses it.
    blue = bills[3]
    issued_on = datetime.date.fromisoformat(blue["issued_at"][:10])
    red = red_invoice(rng, blue, min(issued_on + datetime.timedelta(days=3), _last_day(year)))
    bills.append(red)
    planted.append(
        Planted("invoice_revoked", blue["invoice_number"], "a blue invoice reversed by a red one")
    )

    # (5) A seller on the abnormal-operations list, with one invoice of its own.
    shady = company(rng)
    records[schemas.REGISTRATION_STATUS].append(
        registration(rng, shady, datetime.date(year, 1, 1), abnormal=True)
    )
    records[schemas.TAX_RATING].append(tax_rating(rng, shady, year - 1, level="C"))
    buyer = base.companies[0]
    shady_bill = invoice(rng, shady, buyer, datetime.date(year, 6, 1))
    bills.append(shady_bill)
    records[schemas.PAYMENT_SETTLED].append(
        payment_for(rng, shady_bill, datetime.date(year, 6, 10))
    )
    planted.append(
        Planted(
            "seller_abnormal",
            shady_bill["invoice_number"],
            "a seller on the abnormal-operations list",
        )
    )

    submissions = [
        Submission(SUBMITTER[schema], record_id(schema, r), schema, r)
        for schema in SUBMISSION_ORDER
        for r in records[schema]
    ]

    # (6) A record edited after anchoring: a tax rating raised to A in its proof bundle.
    rating = records[schemas.TAX_RATING][1]
    tampered = ("tax-bureau", record_id(schemas.TAX_RATING, rating))
    planted.append(Planted("verification_failed", tampered[1], "a rating edited after anchoring"))

    # (7) A write signed by a key that is not a member's: a forged A rating.
    victim = base.companies[2]
    forged_rating = {"uscc": victim.uscc, "year": year - 1, "level": "A", "score": 98}
    forged = Submission(
        "unknown-signer",
        f"FORGED-{record_id(schemas.TAX_RATING, forged_rating)}",
        schemas.TAX_RATING,
        forged_rating,
    )
    planted.append(
        Planted("verification_failed", forged.record_id, "a write signed by a non-member key")
    )

    revocations = [("tax-bureau", record_id(schemas.INVOICE_ISSUED, blue), "red invoice issued")]
    return DemoScenario(submissions, revocations, tampered, forged, planted)


def tamper(record: Record) -> Record:
    """The edit made to an anchored rating: level raised to A, still a valid record."""
    edited = dict(record)
    edited["level"] = "A"
    if "score" in edited:
        edited["score"] = 95
    return edited


def _last_day(year: int) -> datetime.date:
    return datetime.date(year, 12, 31)
