"""Planted patterns: by name, only when asked, each standing alone with its ground truth."""

from __future__ import annotations

import random

import pytest

from ledger_node.records import problems, schemas
from ledger_node.records.economy import Market, generate_market
from ledger_node.records.patterns import PATTERNS, Planting, Touched, pattern, plant

DEMO = (
    "unpaid_invoice",
    "half_payment",
    "third_party_payee",
    "attested_in_error",
    "abnormal_seller",
)


@pytest.fixture
def market() -> Market:
    return generate_market(3, invoices=400)


def _payments_for(market: Market, number: str) -> list[dict[str, object]]:
    return [
        p
        for p in market.records[schemas.PAYMENT_SETTLED_V2]
        if any(s["invoice_number"] == number for s in p["settles"])
    ]


def test_nothing_is_planted_unless_asked(market: Market) -> None:
    honest = generate_market(3, invoices=400)
    assert market.records == honest.records
    assert plant(market, []) == []
    assert market.revocations == []


def test_each_pattern_plants_its_problem_with_ground_truth(market: Market) -> None:
    truth = plant(market, DEMO, seed=1)
    assert [t.pattern for t in truth] == list(DEMO)
    assert [t.finding for t in truth] == [
        "payment_missing",
        "amount_mismatch",
        "payee_not_seller",
        "invoice_revoked",
        "seller_abnormal",
    ]
    # Each stands alone: distinct invoices, each naming what it touched.
    assert len({t.subject for t in truth}) == len(truth)
    for t in truth:
        assert t.invoices == (t.subject,)
        assert t.taxpayers
    unpaid, half, third, in_error, abnormal = truth
    assert _payments_for(market, unpaid.subject) == []
    (paid,) = _payments_for(market, half.subject)
    bill = next(
        r for r in market.records[schemas.INVOICE_ISSUED_V2] if r["invoice_number"] == half.subject
    )
    assert int(paid["amount"].replace(".", "")) == int(bill["total"].replace(".", "")) // 2
    (diverted,) = _payments_for(market, third.subject)
    assert diverted["payee"]["tax_id"] == third.taxpayers[2] != bill["seller"]["tax_id"]
    assert [(s, r["invoice_number"], why) for s, r, why in market.revocations] == [
        (schemas.INVOICE_ISSUED_V2, in_error.subject, "attested in error")
    ]
    assert _payments_for(market, in_error.subject) == []
    listed = [r for r in market.records[schemas.REGISTRATION_STATUS] if r["abnormal"]]
    assert [r["uscc"] for r in listed] == [abnormal.taxpayers[0]]
    # The planted market is still made of valid records.
    for name, records in market.records.items():
        for record in records:
            assert problems(name, record) == ()


def test_unknown_pattern_is_refused(market: Market) -> None:
    with pytest.raises(
        ValueError, match="unknown pattern 'circular'; expected one of unpaid_invoice"
    ):
        plant(market, ["circular"])


def test_a_market_too_small_says_so() -> None:
    tiny = generate_market(0, invoices=20, companies=20)
    with pytest.raises(ValueError, match="too small to plant 'unpaid_invoice'"):
        plant(tiny, ["unpaid_invoice"] * 40)


def test_a_later_capability_registers_its_own_pattern(market: Market) -> None:
    @pattern("test_ring", "a ring of invoices", "circular_invoicing")
    def _ring(m: Market, rng: random.Random, touched: Touched) -> Planting:
        a, b = m.companies[:2]
        return Planting(a.uscc, (a.uscc, b.uscc), ())

    try:
        (truth,) = plant(market, ["test_ring"])
        assert (truth.pattern, truth.finding, truth.subject) == (
            "test_ring",
            "circular_invoicing",
            market.companies[0].uscc,
        )
        with pytest.raises(ValueError, match="pattern 'test_ring' is already registered"):
            pattern("test_ring", "again", "x")(_ring)
    finally:
        del PATTERNS["test_ring"]
