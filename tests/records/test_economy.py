"""The generated market: valid, coherent, deterministic, and without the shapes a fraud
detector fires on (short trading cycles, a volume spike after registration)."""

from __future__ import annotations

import datetime
from collections import defaultdict

import pytest

from ledger_node.audit.flows import blue_number
from ledger_node.records import problems, schemas
from ledger_node.records.amounts import parse_money
from ledger_node.records.economy import Market, generate_market

SEEDS = (0, 1, 2, 3, 4)


@pytest.fixture(scope="module", params=SEEDS)
def market(request: pytest.FixtureRequest) -> Market:
    return generate_market(request.param, invoices=3000)


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text[:10])


def short_cycles(market: Market, longest: int = 4, window: int = 90) -> list[list[str]]:
    """Trading cycles of at most ``longest`` taxpayers whose invoices all fall within
    ``window`` days: A invoices B, B invoices C, ..., back to A."""
    edges: dict[str, dict[str, list[datetime.date]]] = defaultdict(lambda: defaultdict(list))
    for record in market.records[schemas.INVOICE_ISSUED_V2]:
        buyer = record["buyer"]
        if buyer.get("id_type") == "uscc" and "red_of" not in record:
            edges[record["seller"]["tax_id"]][buyer["tax_id"]].append(_day(record["issued_at"]))
    found = []

    def walk(path: list[str], dates: list[datetime.date]) -> None:
        for nxt, days in edges.get(path[-1], {}).items():
            for day in days:
                span = [*dates, day]
                if (max(span) - min(span)).days > window:
                    continue
                if nxt == path[0]:
                    found.append(path)
                elif nxt not in path and len(path) < longest:
                    walk([*path, nxt], span)

    for start in list(edges):
        walk([start], [])
    return found


def test_every_record_is_valid(market: Market) -> None:
    for name, records in market.records.items():
        for record in records:
            assert problems(name, record) == (), (name, record)


def test_no_trading_cycle_of_four_or_fewer_within_ninety_days(market: Market) -> None:
    assert short_cycles(market) == []


def test_the_cycle_finder_finds_a_planted_ring(market: Market) -> None:
    # The property above would pass vacuously with a broken finder: plant a ring and see it.
    a, b, c = (c.party for c in market.companies[:3])
    bills = market.records[schemas.INVOICE_ISSUED_V2]
    template = next(r for r in bills if r["buyer"].get("id_type") == "uscc")
    ring = [
        {**template, "seller": {**a, "taxpayer_type": "general"}, "buyer": b},
        {**template, "seller": {**b, "taxpayer_type": "general"}, "buyer": c},
        {**template, "seller": {**c, "taxpayer_type": "general"}, "buyer": a},
    ]
    bills.extend(ring)
    try:
        members = {a["tax_id"], b["tax_id"], c["tax_id"]}
        assert any(set(cycle) == members for cycle in short_cycles(market))
    finally:
        del bills[-3:]


def spikes(market: Market) -> tuple[list[str], int]:
    """New companies busier in their first 90 days than afterwards (with slack for chance),
    and how many new companies sold enough to tell."""
    days: dict[str, list[datetime.date]] = defaultdict(list)
    for record in market.records[schemas.INVOICE_ISSUED_V2]:
        days[record["seller"]["tax_id"]].append(_day(record["issued_at"]))
    found, checked = [], 0
    for company in market.companies:
        sold = days[company.uscc]
        life = (market.end - company.registered_on).days
        if company.registered_on < market.start or len(sold) < 20 or life < 180:
            continue  # old, or too few sales to tell a spike from chance
        first = sum(1 for d in sold if (d - company.registered_on).days < 90)
        later_rate = (len(sold) - first) / ((life - 90) / 90)
        checked += 1
        if first > 1.5 * later_rate + 3:
            found.append(company.uscc)
    return found, checked


def test_no_volume_spike_after_registration(market: Market) -> None:
    found, checked = spikes(market)
    assert checked, "some new company sold enough to be checked"
    assert found == []


def test_the_spike_finder_finds_a_burst(market: Market) -> None:
    bills = market.records[schemas.INVOICE_ISSUED_V2]
    new = next(
        c
        for c in market.companies
        if c.registered_on >= market.start and (market.end - c.registered_on).days >= 180
    )
    template = {**bills[0], "seller": new.seller}
    day = new.registered_on + datetime.timedelta(days=10)
    # Far more in its first days than it sells in all the rest of the period.
    size = 3 * sum(1 for r in bills if r["seller"]["tax_id"] == new.uscc) + 30
    burst = [{**template, "issued_at": f"{day.isoformat()}T10:00:00+08:00"} for _ in range(size)]
    bills.extend(burst)
    try:
        assert new.uscc in spikes(market)[0]
    finally:
        del bills[-size:]


def test_payments_settle_what_is_due(market: Market) -> None:
    due: dict[str, int] = {}
    for record in market.records[schemas.INVOICE_ISSUED_V2]:
        cents = parse_money(record["total"]) or 0
        if "red_of" in record:
            key = blue_number(record["red_of"])
            due[key] = due.get(key, 0) + cents
        elif record["buyer"].get("id_type") != "none":
            due[record["invoice_number"]] = due.get(record["invoice_number"], 0) + cents
    paid: dict[str, int] = defaultdict(int)
    days = []
    for payment in market.records[schemas.PAYMENT_SETTLED_V2]:
        for part in payment["settles"]:
            paid[part["invoice_number"]] += parse_money(part["amount"]) or 0
        days.append(payment["value_date"])
    anonymous = {
        r["invoice_number"]
        for r in market.records[schemas.INVOICE_ISSUED_V2]
        if r["buyer"].get("id_type") == "none"
    }
    assert {n: c for n, c in due.items() if c and n not in anonymous} == dict(paid)
    settled = [len(p["settles"]) for p in market.records[schemas.PAYMENT_SETTLED_V2]]
    assert max(settled) > 1  # some payments settle several invoices
    instalments = [
        p for p in market.records[schemas.PAYMENT_SETTLED_V2] if "-" in p["payment_id"][14:]
    ]
    assert instalments  # some invoices are paid in instalments


def test_red_invoices_reverse_part_or_all_of_a_blue_one(market: Market) -> None:
    bills = {r["invoice_number"]: r for r in market.records[schemas.INVOICE_ISSUED_V2]}
    reds = [r for r in bills.values() if "red_of" in r]
    assert reds
    for red in reds:
        blue = bills[red["red_of"]["number"]]
        assert red["red_of"]["issued_on"] == blue["issued_at"][:10]
        assert 0 < -(parse_money(red["total"]) or 0) <= (parse_money(blue["total"]) or 0)


def test_returns_agree_with_invoices(market: Market) -> None:
    sold: dict[tuple[str, str], int] = defaultdict(int)
    for record in market.records[schemas.INVOICE_ISSUED_V2]:
        sold[(record["seller"]["tax_id"], record["issued_at"][:7])] += (
            parse_money(record["total_tax"]) or 0
        )
    declared: dict[tuple[str, str], int] = defaultdict(int)
    for ret in market.records[schemas.TAX_DECLARATION]:
        declared[(ret["uscc"], ret["period"])] += parse_money(ret["output_tax"]) or 0
        assert ret["taxpayer_type"] == next(
            c.taxpayer_type for c in market.companies if c.uscc == ret["uscc"]
        )
    for (uscc, period), tax in declared.items():
        if "Q" in period:
            year, quarter = period.split("-Q")
            months = [f"{year}-{3 * (int(quarter) - 1) + k:02d}" for k in (1, 2, 3)]
        else:
            months = [period]
        assert tax == sum(sold.get((uscc, m), 0) for m in months), (uscc, period)
    # Every month of the period with a sale is declared.
    for uscc, month in sold:
        assert any(u == uscc and (p == month or p.startswith(month[:4])) for u, p in declared)


def test_ratings_are_published_and_consents_precede_decisions(market: Market) -> None:
    for rating in market.records[schemas.TAX_RATING]:
        assert datetime.date(rating["year"] + 1, 4, 1) <= datetime.date.today()
    consents = {c["taxpayer"]: c for c in market.records[schemas.CONSENT_GRANTED]}
    for decision in market.records[schemas.BANK_DECISION]:
        assert decision["uscc"] in consents
        assert decision["decided_on"] >= consents[decision["uscc"]]["valid_from"] or any(
            c["valid_from"] <= decision["decided_on"]
            for c in market.records[schemas.CONSENT_GRANTED]
            if c["taxpayer"] == decision["uscc"]
        )


def test_taxpayers_use_their_rates(market: Market) -> None:
    kinds = {c.taxpayer_type for c in market.companies}
    assert kinds == {"general", "small_scale"}
    for record in market.records[schemas.INVOICE_ISSUED_V2]:
        rates = {line["rate"] for line in record["lines"]}
        if record["seller"]["taxpayer_type"] == "small_scale":
            assert rates <= {"0.01", "0.03"}
        else:
            assert rates <= {"0.13", "0.09", "0.06"}


def test_the_market_is_the_same_for_the_same_seed() -> None:
    first = generate_market(7, invoices=300)
    again = generate_market(7, invoices=300)
    assert first.records == again.records
    assert generate_market(8, invoices=300).records != first.records


def test_the_period_must_leave_room_for_payments() -> None:
    with pytest.raises(ValueError, match="must end 181 days before today"):
        generate_market(0, invoices=10, end=datetime.date.today())
