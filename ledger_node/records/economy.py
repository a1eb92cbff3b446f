"""A market generated from a seed: companies along supply chains, their invoices, payments,
VAT returns, ratings, statuses and consents, all agreeing with each other.

The market is honest: every fact agrees (三流一致 holds for every invoice, returns add up
to the invoices) and it has the shapes a fraud detector must not fire on. Goods flow down
the chains — raw material producers sell to manufacturers, manufacturers to wholesalers,
wholesalers to retailers, retailers to consumers — and service firms (logistics, software,
consulting) sell to the companies of every tier but buy from none. Every invoice goes from
an earlier tier to a later one, so the trading graph has no cycle at all, of any length.
Companies registered during the period start small and grow over their first months, so
none shows a spike of volume after registration. Problems are planted separately, by name
(:mod:`.patterns`).

Taxpayers are general (13 %, 9 %, 6 % on special or ordinary invoices; monthly returns) or
small-scale (the 1 % reduced levy rate, or 3 %; quarterly returns, no input tax). Invoices
follow the seasons (the Spring Festival slump in January and February, the year-end peak,
the November shopping festival at retailers). Payments: most buyers pay in full within 90
days, some in two to four instalments, some settle several invoices of a seller at once;
every invoice is paid in full by the end. Some sales are partly returned: a red invoice,
against a confirmation form, reverses part or all of its blue invoice, and the buyer pays
the net. Ratings for a year are published in April of the next (new companies are rated
M), every company has its registration and tax status, and some consent to the bank reading
their rating (银税互动), on which the bank decides loans.

Records share their party objects (a company's seller object appears in all its invoices):
copy one before changing it.
"""

from __future__ import annotations

import datetime
import gc
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from ledger_node.records import schemas
from ledger_node.records.amounts import RATE_PER_MILLE, format_money, tax_cents
from ledger_node.records.clock import CHINA_TIME, now
from ledger_node.records.identifiers import make_resident_id, make_uscc
from ledger_node.records.rating import SCORE_BANDS
from ledger_node.records.samples import consent

Record = dict[str, Any]

#: Tiers of a supply chain, in the order goods flow; services sell to the goods tiers.
TIERS: Final = ("raw", "manufacturer", "wholesaler", "retailer", "service")
#: Who buys from each tier (retailers sell to consumers).
CUSTOMERS: Final = {
    "raw": ("manufacturer",),
    "manufacturer": ("wholesaler",),
    "wholesaler": ("retailer",),
    "retailer": (),
    "service": ("manufacturer", "wholesaler", "retailer"),
}
#: Share of companies in each tier.
_TIER_SHARE = {"raw": 10, "manufacturer": 15, "wholesaler": 20, "retailer": 40, "service": 15}
#: Monthly volume multipliers, January first.
_SEASON = (0.7, 0.6, 1.0, 1.0, 1.0, 1.05, 0.95, 0.95, 1.05, 1.0, 1.15, 1.35)
_RETAIL_NOVEMBER = 1.5

_REGIONS = (
    ("上海", "310115"), ("北京", "110105"), ("深圳", "440300"), ("广州", "440106"),
    ("杭州", "330106"), ("南京", "320102"), ("成都", "510107"), ("武汉", "420106"),
    ("苏州", "320505"), ("天津", "120116"), ("重庆", "500103"), ("西安", "610113"),
)  # fmt: skip
_BRANDS = (
    "华信", "远航", "瑞丰", "中科", "恒通", "金桥", "新元", "同创", "博远", "安泰",
    "鼎盛", "启明", "宏达", "万合", "嘉禾", "凯瑞", "东方", "锦程", "天成", "和信",
)  # fmt: skip
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明")


@dataclass(frozen=True, slots=True)
class Product:
    """A good or service a tier sells: line name, tax code, rate for general taxpayers,
    price range in cents and a typical quantity range."""

    category: str
    name: str
    tax_code: str
    rate: str
    low: int
    high: int
    quantity: tuple[int, int]

    line_name: str = field(init=False)

    def __post_init__(self) -> None:
        # The invoice line name, ``*类别*名称``; computed once, read for every line.
        object.__setattr__(self, "line_name", f"*{self.category}*{self.name}")


#: What each tier sells. Goods are taxed at 13 % (9 % for agricultural products and
#: books), services at 6 %, transport at 9 %.
_P = Product
PRODUCTS: Final[dict[str, tuple[Product, ...]]] = {
    "raw": (
        _P("黑色金属冶炼压延品", "热轧钢板", "1080206010000000000", "0.13",
           380000, 520000, (5, 60)),
        _P("有色金属冶炼压延品", "电解铜", "1080303010000000000", "0.13",
           6500000, 7200000, (1, 20)),
        _P("谷物", "小麦", "1010101010000000000", "0.09", 260000, 320000, (10, 200)),
        _P("塑料制品", "聚乙烯颗粒", "1070601010000000000", "0.13", 800000, 1100000, (2, 40)),
    ),
    "manufacturer": (
        _P("电子元件", "集成电路", "1090621000000000000", "0.13", 500, 80000, (100, 5000)),
        _P("计算机配套产品", "显示器", "1090511030000000000", "0.13", 69900, 199900, (10, 300)),
        _P("食品", "面粉制品", "1030101000000000000", "0.13", 300, 2000, (500, 10000)),
        _P("家用电器", "电冰箱", "1090416010000000000", "0.13", 150000, 600000, (5, 200)),
    ),
    "wholesaler": (
        _P("计算机配套产品", "显示器", "1090511030000000000", "0.13", 79900, 219900, (5, 100)),
        _P("家用电器", "电冰箱", "1090416010000000000", "0.13", 170000, 650000, (2, 50)),
        _P("食品", "面粉制品", "1030101000000000000", "0.13", 400, 2500, (100, 2000)),
        _P("图书", "专业书籍", "1060101010100000000", "0.09", 2800, 19800, (20, 500)),
    ),
    "retailer": (
        _P("计算机配套产品", "显示器", "1090511030000000000", "0.13", 99900, 299900, (1, 2)),
        _P("家用电器", "电冰箱", "1090416010000000000", "0.13", 199900, 899900, (1, 1)),
        _P("食品", "面粉制品", "1030101000000000000", "0.13", 500, 3500, (1, 10)),
        _P("图书", "专业书籍", "1060101010100000000", "0.09", 3800, 25800, (1, 3)),
    ),
    "service": (
        _P("运输服务", "国内道路货物运输服务", "3010102020100000000", "0.09",
           50000, 2000000, (1, 1)),
        _P("信息技术服务", "软件开发服务", "3040201010000000000", "0.06", 500000, 5000000, (1, 1)),
        _P("鉴证咨询服务", "咨询服务", "3040603000000000000", "0.06", 100000, 1000000, (1, 1)),
    ),
}  # fmt: skip
_TRADES = {
    "raw": ("材料", "矿业", "农业"),
    "manufacturer": ("制造", "电子科技", "食品"),
    "wholesaler": ("贸易", "供应链管理", "商贸"),
    "retailer": ("商店", "超市", "百货"),
    "service": ("物流", "软件", "企业管理咨询"),
}


@dataclass(slots=True)
class Company:
    """A company of the market: identity, tier, taxpayer type, size and registration."""

    name: str
    uscc: str
    tier: str
    taxpayer_type: str
    size: float
    registered_on: datetime.date
    seller: Record = field(init=False)
    party: Record = field(init=False)
    customers: list[Company] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seller = {
            "name": self.name,
            "tax_id": self.uscc,
            "id_type": "uscc",
            "taxpayer_type": self.taxpayer_type,
        }
        self.party = {"name": self.name, "tax_id": self.uscc, "id_type": "uscc"}


@dataclass
class Market:
    """The generated market: its companies and records by schema, and the period."""

    start: datetime.date
    end: datetime.date
    companies: list[Company]
    records: dict[str, list[Record]]
    #: Facts an agency revokes after attesting them (planted patterns add them).
    revocations: list[tuple[str, Record, str]] = field(default_factory=list)
    #: Facts attested out of their time (planted patterns add them): ``(schema, record,
    #: when)``, ``when`` "late" (long after its date, after every other fact of its schema)
    #: or "early" (before the moment it is dated, ahead of the others).
    timing: list[tuple[str, Record, str]] = field(default_factory=list)

    def by_uscc(self) -> dict[str, Company]:
        """Companies by their USCC."""
        return {c.uscc: c for c in self.companies}

    def count(self) -> int:
        """How many records the market holds."""
        return sum(len(items) for items in self.records.values())


def generate_market(
    seed: int = 0,
    *,
    invoices: int = 1000,
    companies: int | None = None,
    end: datetime.date | None = None,
    months: int = 12,
) -> Market:
    """An honest market of about ``invoices`` invoices over the ``months`` ending ``end``.

    ``end`` defaults to the last day of the month six months before today, so every
    payment (up to 180 days after its invoice) and return is in the past. ``companies``
    defaults to one per twenty invoices (at least 20).
    """
    # Millions of new containers and no garbage: the collector would scan them again and
    # again for nothing, doubling the time of a large market.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _generate(seed, invoices, companies, end, months)
    finally:
        if paused:
            gc.enable()


def _generate(
    seed: int, invoices: int, companies: int | None, end: datetime.date | None, months: int
) -> Market:
    rng = random.Random(f"market:{seed}")  # noqa: S311 - sample data, not secrets
    today = now().date
    if end is None:
        first = datetime.date(today.year, today.month, 1)
        end = _add_months(first, -6) - datetime.timedelta(days=1)
    if end + datetime.timedelta(days=181) > today:
        raise ValueError(f"the period must end 181 days before today, got {end}")
    start = _add_months(datetime.date(end.year, end.month, 1), 1 - months)
    pool = _companies(rng, companies or max(20, invoices // 20), start)
    records: dict[str, list[Record]] = {name: [] for name in schemas.SCHEMAS}
    market = Market(start, end, pool, records)
    _registrations(rng, market)
    sales, returns = _invoices(rng, market, invoices)
    _payments(rng, market, sales)
    _declarations(market, sales + returns)
    _ratings_and_credit(rng, market)
    return market


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _companies(rng: random.Random, count: int, start: datetime.date) -> list[Company]:
    tiers = [t for t, share in _TIER_SHARE.items() for _ in range(share)]
    pool: list[Company] = []
    used: set[str] = set()
    while len(pool) < count:
        tier = TIERS[len(pool)] if len(pool) < len(TIERS) else rng.choice(tiers)
        city, region = rng.choice(_REGIONS)
        body = f"{rng.randrange(10**8):08d}"
        uscc = make_uscc("9", "1", region, body)
        if uscc in used:
            continue
        used.add(uscc)
        small = tier in ("retailer", "service") and rng.random() < 0.45
        # Most companies are years old; some register during the period.
        if rng.random() < 0.1:
            registered = start + datetime.timedelta(days=rng.randrange(30, 240))
        else:
            registered = start - datetime.timedelta(days=rng.randrange(400, 6000))
        name = f"{city}{rng.choice(_BRANDS)}{rng.choice(_TRADES[tier])}有限公司"
        size = rng.paretovariate(1.5) * (0.3 if small else 1.0)
        pool.append(
            Company(name, uscc, tier, "small_scale" if small else "general", size, registered)
        )
    by_tier: dict[str, list[Company]] = defaultdict(list)
    for who in pool:
        by_tier[who.tier].append(who)
    # Who each tier sells to, built once per tier (not once per company: that would be
    # quadratic in a million-invoice market's 50,000 companies).
    buyers = {tier: [c for t in CUSTOMERS[tier] for c in by_tier[t]] for tier in TIERS}
    for who in pool:
        # Regular customers: a handful from the tiers this one sells to.
        candidates = buyers[who.tier]
        if candidates:
            who.customers = rng.sample(candidates, min(len(candidates), rng.randrange(3, 9)))
    return pool


def _registrations(rng: random.Random, market: Market) -> None:
    for who in market.companies:
        since = max(who.registered_on, datetime.date(2015, 10, 1))
        market.records[schemas.REGISTRATION_STATUS].append(
            {
                "uscc": who.uscc,
                "name": who.name,
                "status": "active",
                "abnormal": False,
                "as_of": since.isoformat(),
            }
        )
        market.records[schemas.TAX_STATUS].append(
            {"uscc": who.uscc, "status": "normal", "since": since.isoformat()}
        )


@dataclass(slots=True)
class _Sale:
    """An invoice with what payments and returns need: parties, day, total in cents."""

    record: Record
    seller: Company
    buyer: Company | None
    day: datetime.date
    total: int
    #: ``(rate, amount, tax)`` in cents of each line.
    lines: list[tuple[str, int, int]]


def _cum_weights(
    who: Company, days: list[datetime.date], cache: dict[tuple[bool, datetime.date], list[float]]
) -> list[float]:
    """Cumulative weights of ``days`` for ``who``'s sales: the season, nothing before it
    registered, and a ramp over its first six months. Shared by companies alike."""
    key = (who.tier == "retailer", max(who.registered_on, days[0] - datetime.timedelta(days=180)))
    if key in cache:
        return cache[key]
    total = 0.0
    weights = []
    for day in days:
        if day >= who.registered_on:
            season = _SEASON[day.month - 1]
            if key[0] and day.month == 11:
                season = _RETAIL_NOVEMBER
            # A new company grows over its first six months, never faster.
            age = (day - who.registered_on).days
            total += season * (min(1.0, 0.15 + age / 180) if age < 180 else 1.0)
        weights.append(total)
    cache[key] = weights
    return weights


def _invoices(rng: random.Random, market: Market, count: int) -> tuple[list[_Sale], list[_Sale]]:
    """The market's invoices: its sales (blue) and returns (red)."""
    days = [
        market.start + datetime.timedelta(days=i)
        for i in range((market.end - market.start).days + 1)
    ]
    sellers = [c for c in market.companies if c.customers or c.tier == "retailer"]
    shares = [c.size for c in sellers]
    quota = rng.choices(range(len(sellers)), weights=shares, k=count)
    per_seller: dict[int, int] = defaultdict(int)
    for index in quota:
        per_seller[index] += 1
    sales: list[_Sale] = []
    sequence = rng.randrange(10**9)
    cache: dict[tuple[bool, datetime.date], list[float]] = {}
    consumers = [_consumer(rng) for _ in range(max(50, count // 20))]
    for index, n in per_seller.items():
        seller = sellers[index]
        weights = _cum_weights(seller, days, cache)
        if not weights[-1]:
            continue
        chosen_days = sorted(rng.choices(days, cum_weights=weights, k=n))
        products = PRODUCTS[seller.tier]
        province = seller.uscc[2:4]
        for day in chosen_days:
            sequence += 1
            number = f"{day.year % 100:02d}{province}1{sequence:015d}"
            buyer = rng.choice(seller.customers) if seller.customers else None
            if buyer is not None and buyer.registered_on > day:
                buyer = None if seller.tier == "retailer" else seller.customers[0]
                if buyer is not None and buyer.registered_on > day:
                    continue
            sales.append(_invoice(rng, seller, buyer, day, number, products, consumers))
    sales.sort(key=lambda s: s.record["issued_at"])
    market.records[schemas.INVOICE_ISSUED_V2].extend(s.record for s in sales)
    return sales, _returns(rng, market, sales)


def _invoice(
    rng: random.Random,
    seller: Company,
    buyer: Company | None,
    day: datetime.date,
    number: str,
    products: tuple[Product, ...],
    consumers: list[Record],
) -> _Sale:
    # Hot path of a million-invoice market: random() arithmetic instead of randrange(),
    # integers kept beside the strings for the returns and the VAT returns.
    random_ = rng.random
    small = seller.taxpayer_type == "small_scale"
    levy = "0.01" if small and random_() < 0.85 else "0.03"
    lines = []
    cents: list[tuple[str, int, int]] = []
    amount_sum = tax_sum = 0
    for _ in range(1 if random_() < 0.55 else 2 + int(random_() * 2)):
        product = products[int(random_() * len(products))]
        rate = levy if small else product.rate
        low, high = product.quantity
        quantity = low + int(random_() * (high - low + 1))
        price = product.low + int(random_() * (product.high - product.low))
        amount = quantity * price
        tax = (amount * RATE_PER_MILLE[rate] * 2 + 1000) // 2000
        lines.append(
            {
                "name": product.line_name,
                "tax_code": product.tax_code,
                "quantity": str(quantity),
                "unit_price": _money(price),
                "amount": _money(amount),
                "rate": rate,
                "tax": _money(tax),
            }
        )
        cents.append((rate, amount, tax))
        amount_sum += amount
        tax_sum += tax
    if buyer is None:
        # Repeat customers: a market's consumers are a fixed crowd.
        buyer_party = consumers[int(rng.random() * len(consumers))]
        special = False
    else:
        buyer_party = buyer.party
        # Small-scale sellers issue special invoices less often; general buyers want them.
        special = random_() < (0.3 if small else 0.85)
    seconds = 8 * 3600 + int(random_() * 12 * 3600)
    record = {
        "invoice_number": number,
        "issued_at": f"{day.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:"
        f"{seconds % 60:02d}+08:00",
        "invoice_type": "special" if special else "ordinary",
        "seller": seller.seller,
        "buyer": buyer_party,
        "lines": lines,
        "total_amount": _money(amount_sum),
        "total_tax": _money(tax_sum),
        "total": _money(amount_sum + tax_sum),
        "drawer": _DRAWERS[int(random_() * len(_DRAWERS))],
        "issued_by": "seller",
    }
    return _Sale(record, seller, buyer, day, amount_sum + tax_sum, cents)


def _money(cents: int) -> str:
    """:func:`format_money` of a non-negative amount, inlined for the hot path."""
    return f"{cents // 100}.{cents % 100:02d}"


_DRAWERS = ("李明", "王芳", "张伟", "刘洋", "陈静", "赵磊")


def _consumer(rng: random.Random) -> Record:
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    roll = rng.random()
    if roll < 0.5:
        # Most consumers want no invoice title; an ordinary invoice may carry no ID.
        return {"name": name, "id_type": "none"}
    if roll < 0.97:
        region = rng.choice(_REGIONS)[1]
        birth = datetime.date(1955, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 50))
        return {
            "name": name,
            "tax_id": make_resident_id(region, birth, rng.randrange(1000)),
            "id_type": "resident_id",
        }
    return {"name": "Alex Smith", "tax_id": f"E{rng.randrange(10**8):08d}", "id_type": "passport"}


def _returns(rng: random.Random, market: Market, sales: list[_Sale]) -> list[_Sale]:
    """About one sale in fifty is partly or wholly returned: a red invoice within 30 days."""
    reds: list[_Sale] = []
    for sale in sales:
        if rng.random() >= 0.02:
            continue
        blue = sale.record
        day = min(sale.day + datetime.timedelta(days=rng.randrange(1, 30)), market.end)
        whole = rng.random() < 0.4
        lines = []
        for line in blue["lines"] if whole else blue["lines"][:1]:
            quantity = int(line["quantity"])
            returned = quantity if whole else max(1, quantity // 2)
            price = int(line["unit_price"].replace(".", ""))
            amount = -returned * price
            lines.append(
                dict(
                    line,
                    quantity=str(-returned),
                    amount=format_money(amount),
                    tax=format_money(tax_cents(amount, RATE_PER_MILLE[line["rate"]])),
                )
            )
        amount_sum = sum(int(x["amount"].replace(".", "")) for x in lines)
        tax_sum = sum(int(x["tax"].replace(".", "")) for x in lines)
        number = f"{day.year % 100:02d}{blue['invoice_number'][2:4]}2{rng.randrange(10**15):015d}"
        red = {
            **blue,
            "invoice_number": number,
            "issued_at": f"{day.isoformat()}{blue['issued_at'][10:]}",
            "lines": lines,
            "total_amount": format_money(amount_sum),
            "total_tax": format_money(tax_sum),
            "total": format_money(amount_sum + tax_sum),
            "red_of": {"number": blue["invoice_number"], "issued_on": sale.day.isoformat()},
            "confirmation_number": f"{number[:4]}{rng.randrange(10**16):016d}",
        }
        cents = [
            (x["rate"], int(x["amount"].replace(".", "")), int(x["tax"].replace(".", "")))
            for x in lines
        ]
        reds.append(_Sale(red, sale.seller, sale.buyer, day, amount_sum + tax_sum, cents))
        # The buyer pays what remains: the net of the pair.
        sale.total += amount_sum + tax_sum
    market.records[schemas.INVOICE_ISSUED_V2].extend(red.record for red in reds)
    return reds


def _payments(rng: random.Random, market: Market, sales: list[_Sale]) -> None:
    """Each invoice paid in full: mostly once within 90 days, some in instalments, some
    together with other invoices of the same seller and buyer."""
    out = market.records[schemas.PAYMENT_SETTLED_V2]
    pending: dict[tuple[str, str, str], list[_Sale]] = defaultdict(list)
    sequence = rng.randrange(10**9)
    for sale in sales:
        if sale.total <= 0:
            continue  # wholly returned: nothing to pay
        sequence += 1
        payer = sale.buyer.party if sale.buyer else sale.record["buyer"]
        if payer.get("id_type") == "none":
            # An anonymous consumer pays at the till; the bank sees no payer identity.
            continue
        roll = rng.random()
        number = sale.record["invoice_number"]
        if sale.buyer is not None and roll < 0.1:
            # Settled with the pair's other invoices of the same month.
            pending[(sale.seller.uscc, sale.buyer.uscc, sale.record["issued_at"][:7])].append(sale)
            continue
        if roll < 0.2 and sale.total >= 200:
            parts = rng.randrange(2, 5)
            share = sale.total // parts
            amounts = [share] * (parts - 1) + [sale.total - share * (parts - 1)]
            for k, cents in enumerate(amounts):
                day = sale.day + datetime.timedelta(days=30 * k + rng.randrange(0, 20))
                out.append(_payment(f"P{sequence}-{k + 1}", payer, sale, day, [(number, cents)]))
            continue
        delay = rng.choice((0, 7, 15, 30, 30, 45, 60, 60, 90))
        day = sale.day + datetime.timedelta(days=min(90, delay + rng.randrange(0, 10)))
        out.append(_payment(f"P{sequence}", payer, sale, day, [(number, sale.total)]))
    for group in pending.values():
        last = max(s.day for s in group)
        sequence += 1
        day = last + datetime.timedelta(days=rng.randrange(5, 40))
        first = group[0]
        assert first.buyer is not None
        out.append(
            _payment(
                f"P{sequence}",
                first.buyer.party,
                first,
                day,
                [(s.record["invoice_number"], s.total) for s in group],
            )
        )
    out.sort(key=lambda r: r["value_date"])


def _payment(
    key: str,
    payer: Record,
    sale: _Sale,
    day: datetime.date,
    settles: list[tuple[str, int]],
) -> Record:
    total = settles[0][1] if len(settles) == 1 else sum(cents for _, cents in settles)
    return {
        "payment_id": f"ICBC-{day:%Y%m%d}-{key}",
        "payer": payer,
        "payee": sale.seller.party,
        "amount": _money(total),
        "currency": "CNY",
        "value_date": day.isoformat(),
        "settles": [{"invoice_number": n, "amount": _money(c)} for n, c in settles],
    }


def _periods(market: Market, quarterly: bool) -> Iterator[tuple[str, datetime.date, datetime.date]]:
    month = datetime.date(market.start.year, market.start.month, 1)
    while month <= market.end:
        if quarterly and month.month % 3 != 1:
            month = _add_months(month, 1)
            continue
        step = 3 if quarterly else 1
        after = _add_months(month, step)
        if after - datetime.timedelta(days=1) > market.end:
            break
        label = f"{month.year}-Q{(month.month - 1) // 3 + 1}" if quarterly else f"{month:%Y-%m}"
        yield label, month, after - datetime.timedelta(days=1)
        month = after


def _declarations(market: Market, sales: list[_Sale]) -> None:
    """Each taxpayer's VAT returns: sales by rate from its invoices of the period (red ones
    netting), input tax from the special invoices it received, credits carried on."""
    output: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    deductible: dict[tuple[str, str], int] = defaultdict(int)
    for sale in sales:
        month = sale.record["issued_at"][:7]
        cells = output[(sale.seller.uscc, month)]
        tax_sum = 0
        for rate, amount, tax in sale.lines:
            cell = cells[rate]
            cell[0] += amount
            cell[1] += tax
            tax_sum += tax
        if sale.buyer is not None and sale.record["invoice_type"] == "special":
            deductible[(sale.buyer.uscc, month)] += tax_sum
    out = market.records[schemas.TAX_DECLARATION]
    periods = {
        small: [
            (
                label,
                first,
                last,
                [f"{_add_months(first, k):%Y-%m}" for k in range(3 if small else 1)],
            )
            for label, first, last in _periods(market, small)
        ]
        for small in (False, True)
    }
    # Returns are filed by the 15th of the month after the period (申报期).
    filed_on = {
        last: (last + datetime.timedelta(days=15)).isoformat()
        for rows in periods.values()
        for _, _, last, _ in rows
    }
    for who in market.companies:
        small = who.taxpayer_type == "small_scale"
        credit = owed_back = 0
        for label, _, last, months in periods[small]:
            if last < who.registered_on:
                continue
            by_rate: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for m in months:
                for rate, (amount, tax) in output.get((who.uscc, m), {}).items():
                    by_rate[rate][0] += amount
                    by_rate[rate][1] += tax
            if not by_rate:
                # A return with nothing sold declares zero at the taxpayer's main rate.
                by_rate["0.01" if small else PRODUCTS[who.tier][0].rate] = [0, 0]
            out_tax = sum(t for _, t in by_rate.values())
            # Red special invoices received reduce the input tax; a period where they
            # exceed it carries the rest into the next (the input never goes below zero).
            pool = owed_back + sum(deductible.get((who.uscc, m), 0) for m in months)
            input_tax = 0 if small else max(0, pool)
            owed_back = 0 if small else min(0, pool)
            balance = out_tax - input_tax - credit
            out.append(
                {
                    "uscc": who.uscc,
                    "period": label,
                    "taxpayer_type": who.taxpayer_type,
                    "sales": [
                        {"rate": r, "amount": format_money(a), "tax": format_money(t)}
                        for r, (a, t) in sorted(by_rate.items())
                    ],
                    "output_tax": format_money(out_tax),
                    "input_tax": format_money(input_tax),
                    "credit_brought_forward": format_money(credit),
                    "tax_payable": format_money(max(0, balance)),
                    "credit_carried_forward": format_money(max(0, -balance)),
                    "filed_on": filed_on[last],
                }
            )
            # A small-scale taxpayer has no credit to bring forward (no input tax).
            credit = 0 if small else max(0, -balance)


def _ratings_and_credit(rng: random.Random, market: Market) -> None:
    """Ratings of every year published by today (April of the next year), consents to the
    bank, and the bank's decisions on them."""
    today = now().date
    for year in range(market.start.year - 1, market.end.year + 1):
        published = datetime.date(year + 1, 4, 1)
        if published > today:
            continue
        for who in market.companies:
            if who.registered_on.year > year:
                continue
            new = who.registered_on.year == year
            level = "M" if new else rng.choices("ABCD", weights=(35, 50, 12, 3))[0]
            rating: Record = {"uscc": who.uscc, "year": year, "level": level}
            if level in SCORE_BANDS:
                low, high = SCORE_BANDS[level]
                rating["score"] = rng.randint(low, high)
            market.records[schemas.TAX_RATING].append(rating)
            if rng.random() >= 0.3:
                continue
            granted = datetime.datetime.combine(
                published + datetime.timedelta(days=rng.randrange(1, 60)),
                datetime.time(rng.randrange(9, 18), rng.randrange(60)),
                CHINA_TIME,
            )
            if granted.date() > today:
                continue
            start = granted.date()
            market.records[schemas.CONSENT_GRANTED].append(consent(rng, who.uscc, "bank", granted))
            decided = min(start + datetime.timedelta(days=rng.randrange(1, 20)), today)
            approved = level in "ABM" and rng.random() < 0.85
            market.records[schemas.BANK_DECISION].append(
                {
                    "uscc": who.uscc,
                    "decision": "approved" if approved else "declined",
                    "amount": format_money(rng.randrange(10, 300) * 10000_00)
                    if approved
                    else "0.00",
                    "decided_on": decided.isoformat(),
                    "basis_rating": {"year": year, "level": level},
                }
            )
