"""Risk patterns planted in a generated market, by name, with their ground truth.

Each registers in the records' pattern registry (:mod:`ledger_node.records.patterns`) when
this module is imported, names the risk indicators it must trip and the taxpayers they must
flag, and touches only facts no earlier pattern touched. New companies (shells) get their
registration and tax status like any other; patterns that add sales do not add them to the
seller's returns (the facts a shell would not declare), which the returns indicators then
see too. Every planted record is valid under its schema: the analysis, not validation, must
find the problem.

The names, what they plant, and the indicators they must trip are listed in
:data:`RISK_PATTERNS`.
"""

from __future__ import annotations

import datetime
import random
import time
from collections import defaultdict
from typing import Any, Final

from ledger_node.records import schemas
from ledger_node.records.amounts import RATE_PER_MILLE, format_money, parse_money, tax_cents
from ledger_node.records.clock import CHINA_TIME, now, rating_published_on
from ledger_node.records.economy import PRODUCTS, Company, Market, Product
from ledger_node.records.identifiers import make_uscc
from ledger_node.records.patterns import (
    Planting,
    Touched,
    paid_once,
    pattern,
    pick,
    replace_record,
)
from ledger_node.records.rating import SCORE_BANDS
from ledger_node.records.samples import consent

Record = dict[str, Any]

INVOICES, PAYMENTS = schemas.INVOICE_ISSUED_V2, schemas.PAYMENT_SETTLED_V2

#: What the ring's shells trade: copper, the bulk commodity of many 虚开 cases.
_COPPER = PRODUCTS["raw"][1]
_CONSULTING = PRODUCTS["service"][2]


# --- reading the market ------------------------------------------------------------------------


def _cents(text: str) -> int:
    return parse_money(text) or 0


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text[:10])


def _free(market: Market, touched: Touched, *taken: str) -> list[Company]:
    """Companies no pattern touched yet."""
    return [c for c in market.companies if c.uscc not in touched.taxpayers and c.uscc not in taken]


def _blues(market: Market) -> list[Record]:
    return [r for r in market.records[INVOICES] if "red_of" not in r]


def _reversed(market: Market) -> set[str]:
    return {r["red_of"]["number"] for r in market.records[INVOICES] if "red_of" in r}


def _template(market: Market, schema: str) -> Record:
    return market.records[schema][0]


# --- building records ----------------------------------------------------------------------------


def _shell(market: Market, rng: random.Random, name: str, registered: datetime.date) -> Company:
    """A new company of the market, registered and in good standing from ``registered``."""
    region = ("440300", "310115", "320505")[rng.randrange(3)]
    shell = Company(
        name,
        make_uscc("9", "1", region, f"{rng.randrange(10**8):08d}"),
        "raw",
        "general",
        1.0,
        registered,
    )
    market.companies.append(shell)
    day = registered.isoformat()
    market.records[schemas.REGISTRATION_STATUS].append(
        {"uscc": shell.uscc, "name": name, "status": "active", "abnormal": False, "as_of": day}
    )
    market.records[schemas.TAX_STATUS].append(
        {"uscc": shell.uscc, "status": "normal", "since": day}
    )
    return shell


def _line(product: Product, rate: str, quantity: int, price: int) -> Record:
    amount = quantity * price
    return {
        "name": product.line_name,
        "tax_code": product.tax_code,
        "quantity": str(quantity),
        "unit_price": format_money(price),
        "amount": format_money(amount),
        "rate": rate,
        "tax": format_money(tax_cents(amount, RATE_PER_MILLE[rate])),
    }


def _totalled(record: Record) -> Record:
    amount = sum(_cents(x["amount"]) for x in record["lines"])
    tax = sum(_cents(x["tax"]) for x in record["lines"])
    return {
        **record,
        "total_amount": format_money(amount),
        "total_tax": format_money(tax),
        "total": format_money(amount + tax),
    }


def _bill(
    market: Market,
    rng: random.Random,
    seller: Record,
    buyer: Record,
    day: datetime.date,
    lines: list[Record],
    *,
    special: bool = True,
) -> Record:
    """A blue 数电 invoice of ``seller`` (its v2 seller object) to ``buyer``, added to the
    market."""
    number = f"{day.year % 100:02d}{seller['tax_id'][2:4]}1{rng.randrange(10**15):015d}"
    record = _totalled(
        {
            **_template(market, INVOICES),
            "invoice_number": number,
            "issued_at": f"{day.isoformat()}T{rng.randrange(9, 17):02d}:{rng.randrange(60):02d}"
            f":{rng.randrange(60):02d}+08:00",
            "invoice_type": "special" if special else "ordinary",
            "seller": seller,
            "buyer": buyer,
            "lines": lines,
            "issued_by": "seller",
        }
    )
    record.pop("red_of", None)
    record.pop("confirmation_number", None)
    market.records[INVOICES].append(record)
    return record


def _copper_lines(rng: random.Random, total_cents: int) -> list[Record]:
    """Copper at its going price, enough of it to come to about ``total_cents`` with tax."""
    price = rng.randrange(_COPPER.low, _COPPER.high)
    quantity = max(1, round(total_cents / 1.13 / price))
    return [_line(_COPPER, _COPPER.rate, quantity, price)]


def _red(
    rng: random.Random, blue: Record, day: datetime.date, lines: list[Record], **changes: Any
) -> Record:
    """A red invoice reversing ``blue`` with the (negative) ``lines``, on ``day``."""
    number = f"{day.year % 100:02d}{blue['invoice_number'][2:4]}2{rng.randrange(10**15):015d}"
    return _totalled(
        {
            **blue,
            "invoice_number": number,
            "issued_at": f"{day.isoformat()}{blue['issued_at'][10:]}",
            "lines": lines,
            "red_of": {"number": blue["invoice_number"], "issued_on": blue["issued_at"][:10]},
            "confirmation_number": f"{number[:4]}{rng.randrange(10**16):016d}",
            **changes,
        }
    )


def _negated(line: Record, share: float = 1.0) -> Record:
    """A line of a red invoice returning ``share`` of ``line``'s quantity."""
    quantity = -max(1, round(int(line["quantity"]) * share))
    amount = quantity * _cents(line["unit_price"])
    return {
        **line,
        "quantity": str(quantity),
        "amount": format_money(amount),
        "tax": format_money(tax_cents(amount, RATE_PER_MILLE[line["rate"]])),
    }


def _pay(
    market: Market,
    rng: random.Random,
    payer: Record,
    payee: Record,
    bills: list[Record],
    day: datetime.date,
) -> Record:
    """A payment from ``payer`` to ``payee`` of ``bills`` in full, added to the market."""
    total = sum(_cents(b["total"]) for b in bills)
    record = {
        **_template(market, PAYMENTS),
        "payment_id": f"ICBC-{day:%Y%m%d}-R{rng.randrange(10**9)}",
        "payer": payer,
        "payee": payee,
        "amount": format_money(total),
        "currency": "CNY",
        "value_date": day.isoformat(),
        "settles": [{"invoice_number": b["invoice_number"], "amount": b["total"]} for b in bills],
    }
    record.pop("amount_cny", None)
    market.records[PAYMENTS].append(record)
    return record


def _party(seller: Record) -> Record:
    return {k: seller[k] for k in ("name", "tax_id", "id_type")}


def _refiled(declaration: Record, *, sales_share: float = 1.0, extra_input: int = 0) -> Record:
    """``declaration`` with its sales scaled by ``sales_share`` and ``extra_input`` more
    input tax claimed, its tax payable and credit carried recomputed."""
    sales = [
        {
            "rate": row["rate"],
            "amount": format_money(round(_cents(row["amount"]) * sales_share)),
            "tax": format_money(round(_cents(row["tax"]) * sales_share)),
        }
        for row in declaration["sales"]
    ]
    output = sum(_cents(row["tax"]) for row in sales)
    input_tax = _cents(declaration["input_tax"]) + extra_input
    balance = output - input_tax - _cents(declaration["credit_brought_forward"])
    return {
        **declaration,
        "sales": sales,
        "output_tax": format_money(output),
        "input_tax": format_money(input_tax),
        "tax_payable": format_money(max(0, balance)),
        "credit_carried_forward": format_money(max(0, -balance)),
    }


def _returns(market: Market) -> dict[str, list[Record]]:
    """Every taxpayer's VAT returns, in period order (read once: a market has millions)."""
    found: dict[str, list[Record]] = defaultdict(list)
    for d in market.records[schemas.TAX_DECLARATION]:
        found[d["uscc"]].append(d)
    return found


def _sellers(market: Market) -> dict[str, list[Record]]:
    sold: dict[str, list[Record]] = defaultdict(list)
    for bill in _blues(market):
        sold[bill["seller"]["tax_id"]].append(bill)
    return sold


# --- 三流一致 and funds ---------------------------------------------------------------------------


@pattern(
    "funds_returned",
    "a seller pays most of a buyer's payment back, citing an invoice that does not exist",
    "invoice_missing",
    indicators=("funds_returned",),
)
def _funds_returned(market: Market, rng: random.Random, touched: Touched) -> Planting:
    bill, paid = pick(rng, paid_once(market, touched, "special"), "funds_returned")
    seller, buyer = bill["seller"], bill["buyer"]
    paid_on = _day(paid["value_date"])
    # The money goes back as a "refund" for an invoice number no tax bureau issued.
    day = min(paid_on + datetime.timedelta(days=rng.randrange(3, 20)), now().date)
    ghost = f"{day.year % 100:02d}{seller['tax_id'][2:4]}1{rng.randrange(10**15):015d}"
    back = format_money(round(_cents(paid["amount"]) * rng.uniform(0.9, 0.98)))
    refund = {
        **paid,
        "payment_id": f"ICBC-{day:%Y%m%d}-R{rng.randrange(10**9)}",
        "payer": _party(seller),
        "payee": buyer,
        "amount": back,
        "value_date": day.isoformat(),
        "settles": [{"invoice_number": ghost, "amount": back}],
    }
    market.records[PAYMENTS].append(refund)
    return Planting(ghost, (seller["tax_id"], buyer["tax_id"]), (bill["invoice_number"],))


def _consulting_lines(
    rng: random.Random, total_cents: int, taxpayer_type: str = "general"
) -> list[Record]:
    """One consulting engagement priced to about ``total_cents`` with tax (6 %, or the 3 %
    levy of a small-scale seller)."""
    rate = _CONSULTING.rate if taxpayer_type == "general" else "0.03"
    price = round(total_cents * 1000 / (1000 + RATE_PER_MILLE[rate]))
    return [_line(_CONSULTING, rate, 1, price)]


# --- circular invoicing and new companies -------------------------------------------------------


@pattern(
    "circular_invoicing",
    "three new companies invoice copper around a ring within weeks",
    None,
    indicators=("circular_invoicing",),
)
def _ring(market: Market, rng: random.Random, touched: Touched) -> Planting:
    registered = market.start + datetime.timedelta(days=rng.randrange(30, 150))
    names = ("深圳市鑫隆贸易有限公司", "上海恒晟金属材料有限公司", "苏州聚源物资有限公司")
    ring = [_shell(market, rng, name, registered) for name in names]
    amount = rng.randrange(30_000_000, 80_000_000)
    bills = []
    for k, (a, b) in enumerate(zip(ring, ring[1:] + ring[:1], strict=True)):
        day = registered + datetime.timedelta(days=20 + 10 * k + rng.randrange(5))
        bill = _bill(
            market,
            rng,
            a.seller,
            b.party,
            day,
            _copper_lines(rng, round(amount * rng.uniform(0.95, 1.05))),
        )
        _pay(market, rng, b.party, _party(a.seller), [bill], day + datetime.timedelta(days=3))
        bills.append(bill["invoice_number"])
    return Planting(" → ".join(c.uscc for c in ring), tuple(c.uscc for c in ring), tuple(bills))


def _main_codes(market: Market) -> dict[str, str]:
    """Each established seller's industry: the tax classification category (5 digits) of
    most of its sales, as the engine reckons it."""
    by_code: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for bill in _blues(market):
        for line in bill["lines"]:
            by_code[bill["seller"]["tax_id"]][line["tax_code"][:5]] += abs(_cents(line["amount"]))
    established = {c.uscc for c in market.companies if c.registered_on < market.start}
    return {
        uscc: max(codes.items(), key=lambda kv: kv[1])[0]
        for uscc, codes in by_code.items()
        if uscc in established
    }


@pattern(
    "new_company_spike",
    "a new company invoices copper far above its peers, then stops",
    None,
    indicators=("new_company_spike",),
)
def _spike(market: Market, rng: random.Random, touched: Touched) -> Planting:
    # The shell trades the goods of the industry with the most established companies, so it
    # has peers to be compared with, at the price its largest makers charge.
    codes = _main_codes(market)
    counts: dict[str, int] = defaultdict(int)
    for code in codes.values():
        counts[code] += 1
    code = max(sorted(counts), key=lambda c: counts[c])
    product = max(
        (p for ps in PRODUCTS.values() for p in ps if p.tax_code.startswith(code)),
        key=lambda p: p.high * p.quantity[1],
    )
    period = (market.end - market.start).days + 1
    sold = _sellers(market)
    volumes = sorted(
        sum(_cents(b["total"]) for b in sold[uscc]) * 90 // period
        for uscc, main in codes.items()
        if main == code
    )
    target = max(8 * volumes[int(len(volumes) * 0.9)], 300_000_000)
    registered = market.start + datetime.timedelta(days=rng.randrange(40, 150))
    shell = _shell(market, rng, "广州市瑞通商贸有限公司", registered)
    buyers = [c for c in _free(market, touched) if c.registered_on < registered]
    chosen = [pick(rng, buyers, "new_company_spike") for _ in range(3)]
    bills = []
    for k in range(6):
        buyer = chosen[k % len(chosen)]
        day = registered + datetime.timedelta(days=5 + 9 * k)
        price = product.high
        quantity = max(1, round(target / 6 / 1.13 / price))
        bill = _bill(
            market,
            rng,
            shell.seller,
            buyer.party,
            day,
            [_line(product, product.rate, quantity, price)],
        )
        _pay(
            market, rng, buyer.party, _party(shell.seller), [bill], day + datetime.timedelta(days=2)
        )
        bills.append(bill["invoice_number"])
    return Planting(
        shell.uscc,
        (shell.uscc, *dict.fromkeys(c.uscc for c in chosen)),
        tuple(bills),
        flagged=(shell.uscc,),
    )


# --- sellers that vanish ---------------------------------------------------------------------


@pattern(
    "vanished_seller",
    "a seller issues large special invoices, then absconds",
    None,
    indicators=("seller_vanished", "abnormal_voucher_input"),
)
def _vanished(market: Market, rng: random.Random, touched: Touched) -> Planting:
    sold = _sellers(market)
    candidates = [
        c
        for c in _free(market, touched)
        if c.taxpayer_type == "general"
        and c.registered_on < market.start
        and len([x for x in c.customers if x.uscc not in touched.taxpayers]) >= 2
        and sold.get(c.uscc)
    ]
    seller = pick(rng, candidates, "vanished_seller")
    buyers = [x for x in seller.customers if x.uscc not in touched.taxpayers][:2]
    days = [_day(b["issued_at"]) for b in sold[seller.uscc]]
    active = max(30, (max(days) - min(days)).days)
    # Each invoice as large as a usual quarter's sales: four of them in three weeks.
    each = max(sum(_cents(b["total"]) for b in sold[seller.uscc]) * 90 // active, 25_000_000)
    last = max(days)
    start = max(last + datetime.timedelta(days=1), market.end - datetime.timedelta(days=25))
    bills = []
    for k in range(4):
        buyer = buyers[k % 2]
        day = start + datetime.timedelta(days=k * 5)
        product = PRODUCTS[seller.tier][0]
        price = rng.randrange(product.low, product.high)
        quantity = max(1, round(each / 1.13 / price))
        bill = _bill(
            market,
            rng,
            seller.seller,
            buyer.party,
            day,
            [_line(product, product.rate, quantity, price)],
        )
        _pay(
            market,
            rng,
            buyer.party,
            _party(seller.seller),
            [bill],
            day + datetime.timedelta(days=1),
        )
        bills.append(bill)
    since = _day(bills[-1]["issued_at"]) + datetime.timedelta(days=rng.randrange(5, 20))
    market.records[schemas.TAX_STATUS].append(
        {
            "uscc": seller.uscc,
            "status": "absconded",
            "since": since.isoformat(),
            "abnormal_vouchers": [{"number": b["invoice_number"]} for b in bills],
        }
    )
    return Planting(
        seller.uscc,
        (seller.uscc, *(b.uscc for b in buyers)),
        tuple(b["invoice_number"] for b in bills),
    )


# --- red invoices ---------------------------------------------------------------------------------


@pattern(
    "red_without_blue",
    "a red invoice reversing an invoice that was never attested",
    None,
    indicators=("red_without_blue",),
)
def _red_without_blue(market: Market, rng: random.Random, touched: Touched) -> Planting:
    bill, _ = pick(rng, paid_once(market, touched, "ordinary"), "red_without_blue")
    day = _day(bill["issued_at"])
    earlier = day - datetime.timedelta(days=20)
    ghost = {
        **bill,
        "invoice_number": f"{earlier.year % 100:02d}{bill['invoice_number'][2:4]}1"
        f"{rng.randrange(10**15):015d}",
        "issued_at": f"{earlier.isoformat()}{bill['issued_at'][10:]}",
    }
    red = _red(rng, ghost, day + datetime.timedelta(days=2), [_negated(x) for x in bill["lines"]])
    market.records[INVOICES].append(red)
    return Planting(
        red["invoice_number"],
        (bill["seller"]["tax_id"], bill["buyer"]["tax_id"]),
        (red["invoice_number"],),
        flagged=(bill["seller"]["tax_id"],),
    )


@pattern(
    "red_exceeds_blue",
    "a red invoice reversing more than its blue invoice",
    "red_exceeds_blue",
    indicators=("red_exceeds_blue",),
)
def _red_exceeds(market: Market, rng: random.Random, touched: Touched) -> Planting:
    bill, _ = pick(rng, paid_once(market, touched, "ordinary"), "red_exceeds_blue")
    day = min(_day(bill["issued_at"]) + datetime.timedelta(days=5), market.end)
    red = _red(rng, bill, day, [_negated(x, 1.6) for x in bill["lines"]])
    market.records[INVOICES].append(red)
    return Planting(
        bill["invoice_number"],
        (bill["seller"]["tax_id"], bill["buyer"]["tax_id"]),
        (bill["invoice_number"], red["invoice_number"]),
        flagged=(bill["seller"]["tax_id"],),
    )


def _to_consumers(market: Market, touched: Touched) -> dict[str, list[Record]]:
    """Untouched sellers' blue invoices to consumers who gave no ID (nobody to pay back),
    not reversed."""
    reversed_ = _reversed(market)
    found: dict[str, list[Record]] = defaultdict(list)
    for bill in _blues(market):
        seller = bill["seller"]["tax_id"]
        if (
            bill["buyer"].get("id_type") == "none"
            and seller not in touched.taxpayers
            and bill["invoice_number"] not in reversed_
        ):
            found[seller].append(bill)
    return found


@pattern(
    "red_other_parties",
    "a red invoice naming another buyer than its blue invoice",
    None,
    indicators=("red_other_parties",),
)
def _red_other(market: Market, rng: random.Random, touched: Touched) -> Planting:
    sales = _to_consumers(market, touched)
    seller = pick(rng, sorted(sales), "red_other_parties")
    blue = pick(rng, sales[seller], "red_other_parties")
    other = pick(rng, _free(market, touched, seller), "red_other_parties")
    day = min(_day(blue["issued_at"]) + datetime.timedelta(days=3), market.end)
    red = _red(rng, blue, day, [_negated(blue["lines"][0])], buyer=dict(other.party))
    market.records[INVOICES].append(red)
    return Planting(
        red["invoice_number"], (seller, other.uscc), (red["invoice_number"],), flagged=(seller,)
    )


@pattern(
    "red_share_high",
    "a retailer reverses a third of its sales with red invoices",
    None,
    indicators=("red_share_high",),
)
def _red_share(market: Market, rng: random.Random, touched: Touched) -> Planting:
    sales = _to_consumers(market, touched)
    seller = pick(rng, sorted(sales), "red_share_high")
    company = market.by_uscc()[seller]
    # More till receipts, then returns on paper for the largest of them.
    consumer = sales[seller][0]["buyer"]
    for _ in range(8):
        day = market.start + datetime.timedelta(
            days=rng.randrange((market.end - market.start).days)
        )
        product = PRODUCTS["retailer"][rng.randrange(2)]
        rate = product.rate if company.taxpayer_type == "general" else "0.03"
        sales[seller].append(
            _bill(
                market,
                rng,
                company.seller,
                consumer,
                day,
                [_line(product, rate, 1, rng.randrange(product.low, product.high))],
                special=False,
            )
        )
    everything = sum(_cents(b["total"]) for b in _sellers(market)[seller])
    reds: list[str] = []
    reversed_ = 0
    for blue in sorted(sales[seller], key=lambda b: -_cents(b["total"])):
        if len(reds) >= 6 and reversed_ >= 0.35 * everything:
            break
        day = min(
            _day(blue["issued_at"]) + datetime.timedelta(days=rng.randrange(1, 10)), market.end
        )
        red = _red(rng, blue, day, [_negated(x) for x in blue["lines"]])
        market.records[INVOICES].append(red)
        reds.append(red["invoice_number"])
        reversed_ += _cents(blue["total"])
    return Planting(seller, (seller,), tuple(reds))


# --- when facts were attested ----------------------------------------------------------------


@pattern(
    "backdated_payment",
    "a payment attested long after its value date, after every later one",
    None,
    indicators=("dated_long_before_anchoring",),
)
def _backdated(market: Market, rng: random.Random, touched: Touched) -> Planting:
    early = market.end - datetime.timedelta(days=90)
    bill, paid = pick(
        rng,
        [(b, p) for b, p in paid_once(market, touched) if _day(p["value_date"]) < early],
        "backdated_payment",
    )
    market.timing.append((PAYMENTS, paid, "late"))
    return Planting(
        paid["payment_id"],
        (bill["seller"]["tax_id"], bill["buyer"]["tax_id"]),
        (bill["invoice_number"],),
    )


#: How far ahead of now a predated fact is dated: inside the clock skew the gateways allow
#: (five minutes, counted from the start of the minute: at least four), so it is accepted,
#: and well over the indicator's tolerance.
PREDATED_BY: Final = datetime.timedelta(seconds=200)


@pattern(
    "predated_invoice",
    "an invoice dated minutes after the block that anchors it",
    None,
    indicators=("dated_after_anchoring",),
)
def _predated(market: Market, rng: random.Random, touched: Touched) -> Planting:
    sales = _to_consumers(market, touched)
    seller = pick(rng, sorted(sales), "predated_invoice")
    blue = sales[seller][0]
    moment = datetime.datetime.fromtimestamp(
        int(time.time() + PREDATED_BY.total_seconds()), CHINA_TIME
    )
    record = {
        **blue,
        "invoice_number": f"{moment.year % 100:02d}{blue['invoice_number'][2:4]}1"
        f"{rng.randrange(10**15):015d}",
        "issued_at": moment.isoformat(),
    }
    market.records[INVOICES].append(record)
    market.timing.append((INVOICES, record, "early"))
    return Planting(record["invoice_number"], (seller,), (record["invoice_number"],))


# --- returns against invoices ---------------------------------------------------------------------


def _filers(market: Market, touched: Touched, taxpayer_type: str) -> list[Record]:
    """Returns of untouched taxpayers of ``taxpayer_type`` that declare sales and tax."""
    return [
        d
        for d in market.records[schemas.TAX_DECLARATION]
        if d["uscc"] not in touched.taxpayers
        and d["taxpayer_type"] == taxpayer_type
        and _cents(d["output_tax"]) >= 2_000_000
    ]


@pattern(
    "underdeclared_sales",
    "a VAT return declaring half of the month's invoiced sales",
    None,
    indicators=("sales_above_declared",),
)
def _underdeclared(market: Market, rng: random.Random, touched: Touched) -> Planting:
    declaration = pick(rng, _filers(market, touched, "general"), "underdeclared_sales")
    replace_record(
        market.records[schemas.TAX_DECLARATION],
        declaration,
        _refiled(declaration, sales_share=0.5),
    )
    return Planting(f"{declaration['uscc']} {declaration['period']}", (declaration["uscc"],), ())


@pattern(
    "inflated_input",
    "a VAT return claiming input tax no invoice carries",
    None,
    indicators=("input_above_received",),
)
def _inflated(market: Market, rng: random.Random, touched: Touched) -> Planting:
    declaration = pick(
        rng,
        [d for d in _filers(market, touched, "general") if _cents(d["input_tax"]) > 0],
        "inflated_input",
    )
    # Well above rounding: 40 % of the month's output tax, or 5 % of a year's input.
    claimed = sum(_cents(d["input_tax"]) for d in _returns(market)[declaration["uscc"]])
    extra = max(round(_cents(declaration["output_tax"]) * 0.4), claimed // 20)
    replace_record(
        market.records[schemas.TAX_DECLARATION],
        declaration,
        _refiled(declaration, extra_input=extra),
    )
    return Planting(f"{declaration['uscc']} {declaration['period']}", (declaration["uscc"],), ())


@pattern(
    "low_tax_burden",
    "a producer buys consulting invoices that cancel most of its VAT",
    None,
    indicators=("tax_burden_low",),
)
def _low_burden(market: Market, rng: random.Random, touched: Touched) -> Planting:
    # Raw-material producers and service firms buy nothing and pay VAT on all they sell:
    # trades whose burdens agree, where one that does not stands out. The target is one of
    # the best-populated such trade.
    codes = _main_codes(market)
    filed = _returns(market)
    trades: dict[str, list[Company]] = defaultdict(list)
    for c in market.companies:
        returns = filed[c.uscc]
        declared = sum(_cents(row["amount"]) for d in returns for row in d["sales"])
        if (
            c.tier in ("raw", "service")
            and c.taxpayer_type == "general"
            and c.uscc in codes
            and len(returns) >= 3
            and declared >= 1_000_000
        ):
            trades[codes[c.uscc]].append(c)
    trade = max(trades.values(), key=len, default=[])
    # Compared with at least four others of the trade; it sold in a few months at least.
    firms = [
        c
        for c in trade
        if c.uscc not in touched.taxpayers
        and len([d for d in filed[c.uscc] if _cents(d["output_tax"])]) >= 2
    ]
    firms = firms if len(trade) >= 5 else []
    target = pick(rng, firms, "low_tax_burden")
    # An old consulting firm that sells nothing else and files nothing.
    adviser = _shell(
        market,
        rng,
        "北京智诚企业管理咨询有限公司",
        market.start - datetime.timedelta(days=rng.randrange(800, 2000)),
    )
    adviser.tier = "service"
    bills = []
    for declaration in filed[target.uscc]:
        net = _cents(declaration["output_tax"]) - _cents(declaration["input_tax"])
        if net <= 0:
            continue
        first = datetime.date.fromisoformat(declaration["period"] + "-01")
        tax = round(net * 0.8)
        bill = _bill(
            market,
            rng,
            adviser.seller,
            target.party,
            first + datetime.timedelta(days=rng.randrange(20)),
            _consulting_lines(rng, round(tax / 0.06 * 1.06)),
        )
        _pay(
            market,
            rng,
            target.party,
            _party(adviser.seller),
            [bill],
            _day(bill["issued_at"]) + datetime.timedelta(days=5),
        )
        replace_record(
            market.records[schemas.TAX_DECLARATION],
            declaration,
            _refiled(declaration, extra_input=_cents(bill["total_tax"])),
        )
        bills.append(bill["invoice_number"])
    return Planting(target.uscc, (target.uscc, adviser.uscc), tuple(bills))


@pattern(
    "rate_type_mismatch",
    "a small-scale taxpayer invoices at 13 % as if it were a general taxpayer",
    None,
    indicators=("rate_taxpayer_type",),
)
def _rate_type(market: Market, rng: random.Random, touched: Touched) -> Planting:
    filed = _returns(market)
    small = [
        c
        for c in _free(market, touched)
        if c.taxpayer_type == "small_scale"
        and c.registered_on < market.start
        and any("Q" in d["period"] for d in filed[c.uscc])
    ]
    seller = pick(rng, small, "rate_type_mismatch")
    # A retailer buys it: it sells to consumers only, so no trading ring can close through it.
    buyer = pick(
        rng,
        [c for c in _free(market, touched, seller.uscc) if c.tier == "retailer"],
        "rate_type_mismatch",
    )
    # In the quarter of its last return, when it was long registered.
    last = [d for d in filed[seller.uscc] if "Q" in d["period"]][-1]
    day = datetime.date(int(last["period"][:4]), int(last["period"][-1]) * 3 - 2, 10)
    product = PRODUCTS[seller.tier][0]
    bill = _bill(
        market,
        rng,
        {**seller.seller, "taxpayer_type": "general"},
        buyer.party,
        day,
        [_line(product, "0.13", 10, rng.randrange(product.low, product.high))],
    )
    _pay(market, rng, buyer.party, seller.party, [bill], day + datetime.timedelta(days=7))
    return Planting(
        bill["invoice_number"],
        (seller.uscc, buyer.uscc),
        (bill["invoice_number"],),
        flagged=(seller.uscc,),
    )


# --- bank credit decisions ------------------------------------------------------------------------


def _decided_on(market: Market) -> datetime.date:
    """A day for a planted loan: after the market, once a newer rating is published."""
    return min(market.end + datetime.timedelta(days=60), now().date)


def _ratings(market: Market) -> dict[str, dict[int, Record]]:
    """Every taxpayer's ratings by year."""
    found: dict[str, dict[int, Record]] = defaultdict(dict)
    for r in market.records[schemas.TAX_RATING]:
        found[r["uscc"]][r["year"]] = r
    return found


def _borrowers(market: Market, touched: Touched, decided: datetime.date) -> list[Company]:
    """Untouched companies with no loan decision yet and a rating published by ``decided``
    and one the year before."""
    deciding = {d["uscc"] for d in market.records[schemas.BANK_DECISION]}
    year, rated = _latest_year(decided), _ratings(market)
    return [
        c
        for c in _free(market, touched)
        if c.uscc not in deciding and {year, year - 1} <= rated[c.uscc].keys()
    ]


def _latest_year(day: datetime.date) -> int:
    """The latest rating year published by ``day``."""
    return day.year - 1 if day >= rating_published_on(day.year - 1) else day.year - 2


def _loan(
    market: Market, rng: random.Random, uscc: str, decided: datetime.date, year: int, level: str
) -> Record:
    granted = datetime.datetime.combine(
        decided - datetime.timedelta(days=5), datetime.time(10, 30), CHINA_TIME
    )
    market.records[schemas.CONSENT_GRANTED].append(consent(rng, uscc, "bank", granted))
    decision = {
        "uscc": uscc,
        "decision": "approved",
        "amount": format_money(rng.randrange(50, 300) * 10000_00),
        "decided_on": decided.isoformat(),
        "basis_rating": {"year": year, "level": level},
    }
    market.records[schemas.BANK_DECISION].append(decision)
    return decision


@pattern(
    "loan_wrong_rating",
    "a loan to a C-rated company on the abnormal list, citing an A",
    None,
    indicators=("loan_rating_mismatch", "loan_risky_borrower"),
)
def _loan_wrong(market: Market, rng: random.Random, touched: Touched) -> Planting:
    decided = _decided_on(market)
    year = _latest_year(decided)
    who = pick(rng, _borrowers(market, touched, decided), "loan_wrong_rating")
    rating = _ratings(market)[who.uscc][year]
    low, high = SCORE_BANDS["C"]
    replace_record(
        market.records[schemas.TAX_RATING],
        rating,
        {**rating, "level": "C", "score": rng.randint(low, high)},
    )
    market.records[schemas.REGISTRATION_STATUS].append(
        {
            "uscc": who.uscc,
            "name": who.name,
            "status": "active",
            "abnormal": True,
            "abnormal_reason": "no_annual_report",
            "as_of": (decided - datetime.timedelta(days=20)).isoformat(),
        }
    )
    _loan(market, rng, who.uscc, decided, year, "A")
    return Planting(f"{who.uscc} {decided.isoformat()}", (who.uscc,), ())


@pattern(
    "loan_revoked_rating",
    "a loan on a rating the tax bureau revoked",
    None,
    indicators=("loan_rating_revoked",),
)
def _loan_revoked(market: Market, rng: random.Random, touched: Touched) -> Planting:
    ratings = {(r["uscc"], r["year"]): r for r in market.records[schemas.TAX_RATING]}
    approved = [
        d
        for d in market.records[schemas.BANK_DECISION]
        if d["decision"] == "approved"
        and d["uscc"] not in touched.taxpayers
        and (d["uscc"], d["basis_rating"]["year"]) in ratings
    ]
    decision = pick(rng, approved, "loan_revoked_rating")
    rating = ratings[(decision["uscc"], decision["basis_rating"]["year"])]
    market.revocations.append((schemas.TAX_RATING, rating, "attested in error"))
    return Planting(f"{decision['uscc']} {decision['decided_on']}", (decision["uscc"],), ())


@pattern(
    "loan_stale_rating",
    "a loan on last year's rating though this year's was published",
    None,
    indicators=("loan_rating_stale",),
)
def _loan_stale(market: Market, rng: random.Random, touched: Touched) -> Planting:
    decided = _decided_on(market)
    year, rated = _latest_year(decided), _ratings(market)
    candidates = [
        c for c in _borrowers(market, touched, decided) if rated[c.uscc][year - 1]["level"] in "ABM"
    ]
    who = pick(rng, candidates, "loan_stale_rating")
    _loan(market, rng, who.uscc, decided, year - 1, rated[who.uscc][year - 1]["level"])
    return Planting(f"{who.uscc} {decided.isoformat()}", (who.uscc,), ())


#: The risk patterns, in the order the demo plants them (after the records' own, which
#: include ``third_party_payer`` for the 三流一致 indicators).
RISK_PATTERNS: Final = (
    "funds_returned",
    "circular_invoicing",
    "new_company_spike",
    "vanished_seller",
    "red_without_blue",
    "red_exceeds_blue",
    "red_other_parties",
    "red_share_high",
    "backdated_payment",
    "predated_invoice",
    "underdeclared_sales",
    "inflated_input",
    "low_tax_burden",
    "rate_type_mismatch",
    "loan_wrong_rating",
    "loan_revoked_rating",
    "loan_stale_rating",
)
