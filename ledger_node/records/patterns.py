"""Problems planted in a generated market, by name, with their ground truth.

A pattern changes an honest :class:`~ledger_node.records.economy.Market` so that one
problem appears in it, and says what it touched (which taxpayers, which invoices), what an
audit must report for it (its finding, or none), and which risk indicators must fire on
which taxpayers (``indicators``, ``flagged``). Patterns are registered by name with
:func:`pattern` and planted only when asked (:func:`plant`); each picks facts no earlier
pattern touched, so every planted problem stands alone. A later capability adds its own
patterns the same way (the risk patterns, :mod:`ledger_node.risk.patterns`, register when
that module is imported):

    @pattern("circular_invoicing", "three shells invoice each other in a ring", None,
             indicators=("circular_invoicing",))
    def _ring(market: Market, rng: random.Random, touched: Touched) -> Planting: ...
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger_node.records import schemas
from ledger_node.records.amounts import format_money, parse_money
from ledger_node.records.economy import Company, Market
from ledger_node.records.identifiers import make_uscc

Record = dict[str, Any]


@dataclass(frozen=True)
class GroundTruth:
    """What one planted pattern did: the finding an audit must report (``finding``, about
    ``subject``; None if the audit has nothing to say), every taxpayer and invoice it
    touched, and the risk indicators that must fire on the ``flagged`` taxpayers."""

    pattern: str
    finding: str | None
    subject: str
    what: str
    taxpayers: tuple[str, ...]
    invoices: tuple[str, ...]
    indicators: tuple[str, ...] = ()
    flagged: tuple[str, ...] = ()


@dataclass(frozen=True)
class Planting:
    """A pattern's own account of what it planted: the subject of the finding, the
    taxpayers and invoices it touched, and those of the taxpayers a risk analysis must flag
    (None: all of them)."""

    subject: str
    taxpayers: tuple[str, ...]
    invoices: tuple[str, ...]
    flagged: tuple[str, ...] | None = None


@dataclass
class Touched:
    """Taxpayers and invoices earlier patterns touched; a pattern picks from the rest."""

    taxpayers: set[str] = field(default_factory=set)
    invoices: set[str] = field(default_factory=set)


Plant = Callable[[Market, random.Random, Touched], Planting]


@dataclass(frozen=True)
class Pattern:
    """A named way to plant a problem, the finding it must cause, and how it is planted."""

    name: str
    what: str
    finding: str | None
    plant: Plant
    indicators: tuple[str, ...] = ()


#: Every pattern by name.
PATTERNS: dict[str, Pattern] = {}


def pattern(
    name: str, what: str, finding: str | None, *, indicators: tuple[str, ...] = ()
) -> Callable[[Plant], Plant]:
    """Register the decorated function as the pattern ``name``: ``finding`` is what the
    audit must report (None: nothing), ``indicators`` the risk indicators it must trip."""

    def register(plant_fn: Plant) -> Plant:
        if name in PATTERNS:
            raise ValueError(f"pattern {name!r} is already registered")
        PATTERNS[name] = Pattern(name, what, finding, plant_fn, indicators)
        return plant_fn

    return register


def plant(market: Market, names: Iterable[str], seed: int = 0) -> list[GroundTruth]:
    """Plant the patterns ``names`` in ``market``, in order; their ground truth.

    Raises ``ValueError`` for an unknown name, or when the market is too small to give a
    pattern facts no earlier pattern touched.
    """
    # The market's millions of records are old objects the collector would scan again and
    # again while patterns build their look-ups: keep them out of its sight.
    gc.freeze()
    try:
        return _plant(market, names, seed)
    finally:
        gc.unfreeze()


def _plant(market: Market, names: Iterable[str], seed: int) -> list[GroundTruth]:
    rng = random.Random(f"patterns:{seed}")  # noqa: S311 - sample data, not secrets
    touched = Touched()
    truth = []
    for name in names:
        if name not in PATTERNS:
            raise ValueError(f"unknown pattern {name!r}; expected one of {', '.join(PATTERNS)}")
        chosen = PATTERNS[name]
        done = chosen.plant(market, rng, touched)
        touched.taxpayers.update(done.taxpayers)
        touched.invoices.update(done.invoices)
        flagged = done.taxpayers if done.flagged is None else done.flagged
        truth.append(
            GroundTruth(
                name,
                chosen.finding,
                done.subject,
                chosen.what,
                done.taxpayers,
                done.invoices,
                chosen.indicators if flagged else (),
                flagged if chosen.indicators else (),
            )
        )
    return truth


# --- helpers -------------------------------------------------------------------------------


def paid_once(
    market: Market, touched: Touched, kind: str | None = None
) -> list[tuple[Record, Record]]:
    """B2B blue invoices (no red one against them) between taxpayers no pattern touched,
    paid by exactly one payment that settles only them, of ``kind`` (``special`` or
    ``ordinary``; any if None): ``(invoice, payment)``."""
    reversed_ = {
        r["red_of"]["number"]
        for r in market.records[schemas.INVOICE_ISSUED_V2]
        if "red_of" in r and "number" in r["red_of"]
    }
    payments: dict[str, list[Record]] = {}
    for p in market.records[schemas.PAYMENT_SETTLED_V2]:
        for item in p["settles"]:
            payments.setdefault(item["invoice_number"], []).append(p)
    found = []
    for bill in market.records[schemas.INVOICE_ISSUED_V2]:
        number = bill["invoice_number"]
        paid = payments.get(number, [])
        if (
            "red_of" not in bill
            and number not in reversed_
            and number not in touched.invoices
            and bill["buyer"].get("id_type") == "uscc"
            and not set(parties(bill)) & touched.taxpayers
            and kind in (None, bill["invoice_type"])
            and len(paid) == 1
            and len(paid[0]["settles"]) == 1
        ):
            found.append((bill, paid[0]))
    return found


def pick(rng: random.Random, candidates: Sequence[Any], name: str) -> Any:
    """One of ``candidates``; a market too small to give the pattern ``name`` any says so."""
    if not candidates:
        raise ValueError(f"the market is too small to plant {name!r}; generate more invoices")
    return candidates[rng.randrange(len(candidates))]


def parties(bill: Record) -> tuple[str, ...]:
    """The seller's and the buyer's identifiers of an invoice."""
    return (bill["seller"]["tax_id"], bill["buyer"]["tax_id"])


# --- the demo's patterns -------------------------------------------------------------------


@pattern(
    "unpaid_invoice",
    "an invoice its buyer never paid",
    "payment_missing",
    indicators=("flow_unpaid",),
)
def _unpaid(market: Market, rng: random.Random, touched: Touched) -> Planting:
    bill, paid = pick(rng, paid_once(market, touched), "unpaid_invoice")
    market.records[schemas.PAYMENT_SETTLED_V2].remove(paid)
    return Planting(bill["invoice_number"], parties(bill), (bill["invoice_number"],))


@pattern(
    "half_payment",
    "a payment of half the invoice total",
    "amount_mismatch",
    indicators=("flow_amount_mismatch",),
)
def _half(market: Market, rng: random.Random, touched: Touched) -> Planting:
    bill, paid = pick(rng, paid_once(market, touched), "half_payment")
    half = format_money(max(1, (parse_money(paid["amount"]) or 0) // 2))
    changed = {**paid, "amount": half, "settles": [{**paid["settles"][0], "amount": half}]}
    replace_record(market.records[schemas.PAYMENT_SETTLED_V2], paid, changed)
    return Planting(bill["invoice_number"], parties(bill), (bill["invoice_number"],))


@pattern(
    "third_party_payee",
    "a payment to a company that is not the seller",
    "payee_not_seller",
    indicators=("flow_payee_not_seller",),
)
def _third_party_payee(market: Market, rng: random.Random, touched: Touched) -> Planting:
    return _divert(market, rng, touched, "payee", "third_party_payee")


@pattern(
    "third_party_payer",
    "a payment for an invoice from a company that is not the buyer",
    "payer_not_buyer",
    indicators=("flow_payer_not_buyer",),
)
def _third_party_payer(market: Market, rng: random.Random, touched: Touched) -> Planting:
    return _divert(market, rng, touched, "payer", "third_party_payer")


def _divert(market: Market, rng: random.Random, touched: Touched, role: str, name: str) -> Planting:
    """A paid invoice whose payment's ``role`` (payee or payer) becomes a third company."""
    bill, paid = pick(rng, paid_once(market, touched), name)
    third = pick(
        rng,
        [
            c
            for c in market.companies
            if c.uscc not in parties(bill) and c.uscc not in touched.taxpayers
        ],
        name,
    )
    replace_record(
        market.records[schemas.PAYMENT_SETTLED_V2], paid, {**paid, role: dict(third.party)}
    )
    return Planting(bill["invoice_number"], (*parties(bill), third.uscc), (bill["invoice_number"],))


@pattern(
    "attested_in_error",
    "an invoice attested in error and revoked by the tax bureau",
    "invoice_revoked",
)
def _in_error(market: Market, rng: random.Random, touched: Touched) -> Planting:
    # The sale never happened, so nobody paid: the bureau revokes the fact it attested. An
    # ordinary invoice: nobody deducted its tax, so no return leans on the revoked fact.
    bill, paid = pick(rng, paid_once(market, touched, "ordinary"), "attested_in_error")
    market.records[schemas.PAYMENT_SETTLED_V2].remove(paid)
    market.revocations.append((schemas.INVOICE_ISSUED_V2, bill, "attested in error"))
    return Planting(bill["invoice_number"], parties(bill), (bill["invoice_number"],))


@pattern(
    "abnormal_seller",
    "a seller on the abnormal-operations list invoicing a company",
    "seller_abnormal",
    indicators=("flow_seller_standing",),
)
def _abnormal_seller(market: Market, rng: random.Random, touched: Touched) -> Planting:
    bill, paid = pick(rng, paid_once(market, touched), "abnormal_seller")
    # A new company, listed as unreachable at its address, takes over an honest sale.
    shady = Company(
        "深圳市瑞丰贸易有限公司",
        make_uscc("9", "1", "440300", f"{rng.randrange(10**8):08d}"),
        "wholesaler",
        # It issues the honest seller's invoice, rates and all: so its taxpayer type too.
        bill["seller"]["taxpayer_type"],
        1.0,
        market.start,
    )
    market.companies.append(shady)
    as_of = market.start.isoformat()
    market.records[schemas.REGISTRATION_STATUS].append(
        {
            "uscc": shady.uscc,
            "name": shady.name,
            "status": "active",
            "abnormal": True,
            "abnormal_reason": "unreachable",
            "as_of": as_of,
        }
    )
    market.records[schemas.TAX_STATUS].append(
        {"uscc": shady.uscc, "status": "normal", "since": as_of}
    )
    changed = {**bill, "seller": dict(shady.seller)}
    replace_record(market.records[schemas.INVOICE_ISSUED_V2], bill, changed)
    replace_record(
        market.records[schemas.PAYMENT_SETTLED_V2], paid, {**paid, "payee": dict(shady.party)}
    )
    # The honest seller's return still declares the sale: it is touched too, though it did
    # nothing wrong (declaring more than it invoiced is no risk).
    return Planting(
        bill["invoice_number"],
        (shady.uscc, *parties(bill)),
        (bill["invoice_number"],),
        flagged=(shady.uscc, bill["buyer"]["tax_id"]),
    )


def replace_record(records: list[Record], old: Record, new: Record) -> None:
    """Put ``new`` where ``old`` (that very object) was in ``records``."""
    records[next(i for i, r in enumerate(records) if r is old)] = new
