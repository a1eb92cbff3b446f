"""Deterministic, realistic sample records for demos, tests and benchmarks.

Everything is drawn from a ``random.Random`` the caller seeds, so a seed always yields the
same records. The per-schema builders (:func:`invoice`, :func:`payment_for`, …) take the
parties and dates as parameters, so a scenario can reuse them to make records that agree
with each other; :func:`scenario` is such a builder.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger_node.records import schemas
from ledger_node.records.amounts import (
    NOT_ON_SPECIAL_INVOICES,
    RATE_PER_MILLE,
    format_decimal,
    format_money,
    parse_decimal,
    round_half_up_div,
    tax_cents,
)
from ledger_node.records.clock import CHINA_TIME, now
from ledger_node.records.identifiers import (
    MAINLAND_PROVINCES,
    USCC_ALPHABET,
    make_resident_id,
    make_uscc,
)
from ledger_node.records.rating import SCORE_BANDS
from ledger_node.records.schemas import get_schema

Record = dict[str, Any]

# Division codes and the city names that go with them, so a company's name and USCC agree.
_REGIONS = (
    ("上海", "310115"),
    ("上海", "310110"),
    ("北京", "110105"),
    ("北京", "110108"),
    ("深圳", "440300"),
    ("广州", "440106"),
    ("杭州", "330106"),
    ("南京", "320102"),
    ("成都", "510107"),
    ("武汉", "420106"),
    ("苏州", "320505"),
    ("天津", "120116"),
    ("重庆", "500103"),
    ("西安", "610113"),
)
_BRANDS = (
    "华信", "远航", "瑞丰", "中科", "恒通", "金桥", "新元", "同创", "博远", "安泰",
    "鼎盛", "启明", "宏达", "万合", "嘉禾", "凯瑞", "东方", "锦程", "天成", "和信",
)  # fmt: skip
_TRADES = (
    "信息技术", "软件", "网络科技", "电子科技", "贸易", "供应链管理", "建筑工程", "物流",
    "餐饮管理", "食品", "医疗器械", "新材料", "环保科技", "企业管理咨询", "文化传媒",
)  # fmt: skip
_FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明")


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One kind of goods or service: its ``*类别*名称`` name, tax code, rate and price range."""

    category: str
    name: str
    tax_code: str
    rate: str
    min_cents: int
    max_cents: int
    integral_quantity: bool = True

    @property
    def line_name(self) -> str:
        """The invoice line name, ``*类别*名称``."""
        return f"*{self.category}*{self.name}"


CATALOG: tuple[CatalogItem, ...] = (
    CatalogItem("信息技术服务", "软件开发服务", "3040201010000000000", "0.06", 500000, 50000000),
    CatalogItem("信息技术服务", "信息系统运维服务", "3040203000000000000", "0.06", 200000, 5000000),
    CatalogItem("软件", "应用软件", "1060201070000000000", "0.13", 19900, 2000000),
    CatalogItem("计算机配套产品", "显示器", "1090511030000000000", "0.13", 69900, 399900),
    CatalogItem("计算机配套产品", "笔记本电脑", "1090511010000000000", "0.13", 399900, 1599900),
    CatalogItem("办公设备", "激光打印机", "1090513010000000000", "0.13", 99900, 899900),
    CatalogItem("纸制品", "复印纸", "1070207010000000000", "0.13", 1850, 3200),
    CatalogItem("谷物", "大米", "1010101020000000000", "0.09", 320, 980, False),
    CatalogItem("图书", "专业书籍", "1060101010100000000", "0.09", 2800, 19800),
    CatalogItem("运输服务", "国内道路货物运输服务", "3010102020100000000", "0.09", 50000, 2000000),
    CatalogItem("建筑服务", "工程服务", "3050100000000000000", "0.09", 1000000, 90000000),
    CatalogItem("经纪代理服务", "货物运输代理服务", "3040802020000000000", "0.06", 30000, 800000),
    CatalogItem("餐饮服务", "餐饮服务", "3070401000000000000", "0.06", 5000, 300000),
    CatalogItem("鉴证咨询服务", "咨询服务", "3040603000000000000", "0.06", 100000, 10000000),
    CatalogItem("租赁服务", "办公室租赁", "3040502020200000000", "0.05", 500000, 8000000),
    CatalogItem("医疗服务", "医疗服务", "3070301000000000000", "exempt", 5000, 500000),
    CatalogItem("预付卡销售", "预付卡销售", "6010000000000000000", "not_taxable", 10000, 100000),
    CatalogItem("电子元件", "集成电路", "1090621000000000000", "0.03", 500, 80000),
    # Vegetables are exempt in circulation (财税〔2011〕137号).
    CatalogItem("农产品", "新鲜蔬菜", "1010112000000000000", "exempt", 200, 1500, False),
)


_SPECIAL_CATALOG = tuple(item for item in CATALOG if item.rate not in NOT_ON_SPECIAL_INVOICES)


@dataclass(frozen=True, slots=True)
class Company:
    """A company as records name it."""

    name: str
    uscc: str

    def as_party(self) -> Record:
        """The ``{name, tax_id}`` object of a seller or payee."""
        return {"name": self.name, "tax_id": self.uscc}

    def as_buyer(self) -> Record:
        """The ``{name, tax_id, id_type}`` object of a buyer or payer."""
        return {"name": self.name, "tax_id": self.uscc, "id_type": "uscc"}


@dataclass(frozen=True, slots=True)
class Person:
    """An individual buyer, identified by resident ID card."""

    name: str
    resident_id: str

    def as_buyer(self) -> Record:
        """The ``{name, tax_id, id_type}`` object of a buyer or payer."""
        return {"name": self.name, "tax_id": self.resident_id, "id_type": "resident_id"}


Buyer = Company | Person


def company(rng: random.Random) -> Company:
    """A company with a plausible name and a USCC registered in the same city."""
    city, region = rng.choice(_REGIONS)
    name = f"{city}{rng.choice(_BRANDS)}{rng.choice(_TRADES)}{rng.choice(_FORMS)}"
    # The organisation code body: digits mostly, a letter now and then, as issued.
    body = "".join(
        rng.choice(USCC_ALPHABET[10:]) if rng.random() < 0.1 else rng.choice("0123456789")
        for _ in range(8)
    )
    return Company(name, make_uscc("9", "1", region, body))


def person(rng: random.Random) -> Person:
    """An individual with a plausible name and a valid resident ID."""
    _, region = rng.choice(_REGIONS)
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 45))
    name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
    return Person(name, make_resident_id(region, birth, rng.randrange(1000)))


def invoice_number(rng: random.Random, year: int, province: str = "31") -> str:
    """A 20-digit 数电 invoice number as the platform issues it: the year, the provincial
    tax authority, the channel and a sequence."""
    return f"{year % 100:02d}{province}{rng.randrange(10**16):016d}"


def _province(who: Company) -> str:
    # The tax authority of the seller's province issues its invoices.
    return who.uscc[2:4] if who.uscc[2:4] in MAINLAND_PROVINCES else "11"


def _timestamp(rng: random.Random, day: datetime.date) -> str:
    seconds = rng.randrange(8 * 3600, 20 * 3600)
    return (
        f"{day.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+08:00"
    )


def _line(rng: random.Random, item: CatalogItem) -> Record:
    if item.integral_quantity:
        quantity_units, quantity_scale = rng.choice((1, 1, 1, 2, 3, 5, 10, 20, 100)), 0
    else:
        quantity_units, quantity_scale = rng.randrange(500, 50000), 1
    price_cents = rng.randrange(item.min_cents, item.max_cents)
    # amount = quantity × price, rounded half-up to the cent; price scale 2.
    amount = round_half_up_div(quantity_units * price_cents, 10**quantity_scale)
    return {
        "name": item.line_name,
        "tax_code": item.tax_code,
        "quantity": format_decimal(quantity_units, quantity_scale),
        "unit_price": format_money(price_cents),
        "amount": format_money(amount),
        "rate": item.rate,
        "tax": format_money(tax_cents(amount, RATE_PER_MILLE[item.rate])),
    }


def _discount(line: Record, rng: random.Random) -> Record:
    line_amount = int(line["amount"].replace(".", ""))
    amount = -max(1, line_amount * rng.choice((2, 5, 10, 15)) // 100)
    return {
        "name": line["name"],
        "tax_code": line["tax_code"],
        "amount": format_money(amount),
        "rate": line["rate"],
        "tax": format_money(tax_cents(amount, RATE_PER_MILLE[line["rate"]])),
        "discount": True,
    }


def invoice(
    rng: random.Random,
    seller: Company,
    buyer: Buyer,
    issued_on: datetime.date,
    *,
    number: str | None = None,
    line_count: int | None = None,
) -> Record:
    """A valid blue ``invoice.issued/v1`` record from ``seller`` to ``buyer``.

    ``line_count`` defaults to 1–5 ordinary lines (fewer more likely); about one line in ten
    is followed by a discount line.
    """
    count = line_count or rng.choices((1, 2, 3, 4, 5), weights=(40, 25, 15, 12, 8))[0]
    lines: list[Record] = []
    special = isinstance(buyer, Company) and rng.random() < 0.6
    # A special VAT invoice carries no exempt, not-taxable or export zero-rated line.
    catalog = _SPECIAL_CATALOG if special else CATALOG
    for _ in range(count):
        line = _line(rng, rng.choice(catalog))
        lines.append(line)
        if rng.random() < 0.1:
            lines.append(_discount(line, rng))
    record: Record = {
        "invoice_number": number or invoice_number(rng, issued_on.year, _province(seller)),
        "issued_at": _timestamp(rng, issued_on),
        "invoice_type": "special" if special else "ordinary",
        "seller": seller.as_party(),
        "buyer": buyer.as_buyer(),
        "lines": lines,
    }
    _set_totals(record)
    if rng.random() < 0.2:
        record["remarks"] = rng.choice(("合同编号HT-2026-0415", "项目：年度运维", "含运费"))
    return record


def _set_totals(record: Record) -> None:
    amount = sum(int(line["amount"].replace(".", "")) for line in record["lines"])
    tax = sum(int(line["tax"].replace(".", "")) for line in record["lines"])
    record["total_amount"] = format_money(amount)
    record["total_tax"] = format_money(tax)
    record["total"] = format_money(amount + tax)


def red_invoice(rng: random.Random, blue: Record, issued_on: datetime.date) -> Record:
    """The red invoice that fully reverses ``blue``: every quantity and amount negated."""
    lines = []
    for line in blue["lines"]:
        red_line = dict(line)
        for key in ("quantity", "amount", "tax"):
            if key in line:
                red_line[key] = _negate(line[key])
        lines.append(red_line)
    record: Record = {
        "invoice_number": invoice_number(rng, issued_on.year, blue["invoice_number"][2:4]),
        "issued_at": _timestamp(rng, issued_on),
        "invoice_type": blue["invoice_type"],
        "seller": dict(blue["seller"]),
        "buyer": dict(blue["buyer"]),
        "lines": lines,
        "red_of": blue["invoice_number"],
    }
    _set_totals(record)
    return record


def _negate(text: str) -> str:
    parsed = parse_decimal(text)
    assert parsed is not None
    return format_decimal(-parsed[0], parsed[1])


def payment_for(
    rng: random.Random,
    invoice_record: Record,
    value_date: datetime.date,
    *,
    bank_code: str = "ICBC",
) -> Record:
    """The ``payment.settled/v1`` record of the buyer paying ``invoice_record`` in full."""
    return {
        "payment_id": f"{bank_code}-{value_date:%Y%m%d}-{rng.randrange(10**10):010d}",
        "invoice_number": invoice_record["invoice_number"],
        "payer": dict(invoice_record["buyer"]),
        "payee": dict(invoice_record["seller"]),
        "amount": invoice_record["total"],
        "currency": "CNY",
        "value_date": value_date.isoformat(),
    }


def registration(
    rng: random.Random, who: Company, as_of: datetime.date, *, abnormal: bool | None = None
) -> Record:
    """The ``registration.status/v1`` record of ``who``; abnormal about one time in ten
    unless ``abnormal`` says."""
    if abnormal is None:
        abnormal = rng.random() < 0.1
    record: Record = {
        "uscc": who.uscc,
        "name": who.name,
        "status": "active" if abnormal or rng.random() < 0.95 else "suspended",
        "abnormal": abnormal,
        "as_of": as_of.isoformat(),
    }
    if abnormal:
        record["abnormal_reason"] = rng.choice(
            ("no_annual_report", "no_disclosure", "false_disclosure", "unreachable")
        )
    return record


def tax_rating(rng: random.Random, who: Company, year: int, *, level: str | None = None) -> Record:
    """The ``credit.tax-rating/v1`` record of ``who`` for ``year``; score within the band."""
    level = level or rng.choices("ABMCD", weights=(30, 40, 15, 10, 5))[0]
    record: Record = {"uscc": who.uscc, "year": year, "level": level}
    if level in SCORE_BANDS:
        low, high = SCORE_BANDS[level]
        record["score"] = rng.randint(low, high)
    return record


def bank_decision(rng: random.Random, rating: Record, decided_on: datetime.date) -> Record:
    """The ``credit.bank-decision/v1`` record of a bank acting on ``rating``: approves A, B
    and M mostly, declines C and D."""
    approved = rating["level"] in "ABM" and rng.random() < 0.85
    return {
        "uscc": rating["uscc"],
        "decision": "approved" if approved else "declined",
        "amount": format_money(rng.randrange(10, 300) * 10000_00) if approved else "0.00",
        "decided_on": decided_on.isoformat(),
        "basis_rating": {"year": rating["year"], "level": rating["level"]},
    }


def _today() -> datetime.date:
    return now().date


def _day(rng: random.Random, year: int) -> datetime.date:
    """A day of ``year`` before today (no fact is dated after it is accepted)."""
    first = datetime.date(year, 1, 1)
    days = min(365, (_today() - first).days)
    if days < 1:
        raise ValueError(f"no day of {year} is in the past yet")
    return first + datetime.timedelta(days=rng.randrange(days))


def _recent_day(rng: random.Random) -> datetime.date:
    """A day of the year before today."""
    return _today() - datetime.timedelta(days=rng.randrange(1, 366))


def _rating_year() -> int:
    # The latest rating published (ratings come out in April of the following year).
    return now().rating_year


def _sample_invoice(rng: random.Random) -> Record:
    buyer: Buyer = person(rng) if rng.random() < 0.15 else company(rng)
    day = _recent_day(rng)
    blue = invoice(rng, company(rng), buyer, day)
    # About one invoice in twenty is reversed by a red one.
    return red_invoice(rng, blue, day) if rng.random() < 0.05 else blue


def _sample_payment(rng: random.Random) -> Record:
    day = _recent_day(rng)
    return payment_for(rng, invoice(rng, company(rng), company(rng), day), day)


def _sample_registration(rng: random.Random) -> Record:
    return registration(rng, company(rng), _recent_day(rng))


def _sample_rating(rng: random.Random) -> Record:
    return tax_rating(rng, company(rng), _rating_year())


def _sample_decision(rng: random.Random) -> Record:
    rating = tax_rating(rng, company(rng), _rating_year())
    published = datetime.date(rating["year"] + 1, 4, 1)
    decided_on = published + datetime.timedelta(days=rng.randrange((_today() - published).days + 1))
    return bank_decision(rng, rating, decided_on)


# --- v2 records ----------------------------------------------------------------------------

#: The levy rates small-scale taxpayers invoice at, most at the reduced 1 %.
_SMALL_SCALE_LEVY = ("0.01", "0.01", "0.01", "0.03")
_DRAWERS = ("李明", "王芳", "张伟", "刘洋", "陈静")


def seller_v2(who: Company, taxpayer_type: str) -> Record:
    """The v2 ``seller`` object of a company of ``taxpayer_type``."""
    return {"name": who.name, "tax_id": who.uscc, "id_type": "uscc", "taxpayer_type": taxpayer_type}


def as_v2(rng: random.Random, blue: Record, seller: Record, *, issued_by: str = "seller") -> Record:
    """A v1 invoice record made v2: the v2 seller, a drawer and who issued it; a small-scale
    seller's lines at its levy rate (their tax recomputed)."""
    record = dict(blue)
    record["seller"] = seller
    record["drawer"] = rng.choice(_DRAWERS)
    record["issued_by"] = issued_by
    if seller["taxpayer_type"] == "small_scale":
        levy = rng.choice(_SMALL_SCALE_LEVY)
        lines = []
        for line in blue["lines"]:
            changed = dict(line, rate=levy)
            changed["tax"] = format_money(tax_cents(_cents(line["amount"]), RATE_PER_MILLE[levy]))
            lines.append(changed)
        record["lines"] = lines
        _set_totals(record)
    return record


def red_v2(
    rng: random.Random, blue: Record, issued_on: datetime.date, *, partial: bool = False
) -> Record:
    """The v2 red invoice reversing ``blue`` (a v2 record), in full or, if ``partial``, its
    first line only, with a confirmation form number."""
    red = red_invoice(rng, blue, issued_on)
    if partial:
        first = red["lines"][0]
        red["lines"] = [first]
        _set_totals(red)
    red["red_of"] = {"number": blue["invoice_number"], "issued_on": blue["issued_at"][:10]}
    red["confirmation_number"] = (
        f"{issued_on:%y}{blue['invoice_number'][2:4]}{rng.randrange(10**16):016d}"
    )
    red["seller"] = dict(blue["seller"])
    red["drawer"] = blue["drawer"]
    red["issued_by"] = blue["issued_by"]
    return red


def _cents(text: str) -> int:
    return int(text.replace(".", "", 1))


def _sample_invoice_v2(rng: random.Random) -> Record:
    day = _recent_day(rng)
    roll = rng.random()
    if roll < 0.05:
        # An individual's sale invoiced by the tax bureau on their behalf (代开).
        seller_person = person(rng)
        seller = {
            "name": seller_person.name,
            "tax_id": seller_person.resident_id,
            "id_type": "resident_id",
            "taxpayer_type": "small_scale",
        }
        blue = invoice(rng, company(rng), company(rng), day)
        blue["invoice_type"] = "ordinary"
        return as_v2(rng, blue, seller, issued_by="tax_bureau")
    buyer: Buyer = person(rng) if rng.random() < 0.15 else company(rng)
    seller_company = company(rng)
    taxpayer_type = "small_scale" if rng.random() < 0.3 else "general"
    blue = as_v2(
        rng, invoice(rng, seller_company, buyer, day), seller_v2(seller_company, taxpayer_type)
    )
    if isinstance(buyer, Person) and rng.random() < 0.3:
        blue["buyer"] = {"name": buyer.name, "id_type": "none"}
    if roll > 0.95:
        # Before today: a time of day today could still be ahead of now.
        later = min(
            day + datetime.timedelta(days=rng.randrange(1, 60)),
            _today() - datetime.timedelta(days=1),
        )
        return red_v2(rng, blue, later, partial=rng.random() < 0.5)
    return blue


def _sample_payment_v2(rng: random.Random) -> Record:
    seller, buyer = company(rng), company(rng)
    day = _recent_day(rng)
    bills = [invoice(rng, seller, buyer, day) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    settles = [{"invoice_number": b["invoice_number"], "amount": b["total"]} for b in bills]
    total = sum(_cents(b["total"]) for b in bills)
    record: Record = {
        "payment_id": f"BOC-{day:%Y%m%d}-{rng.randrange(10**10):010d}",
        "payer": buyer.as_buyer(),
        "payee": buyer_like(seller),
        "amount": format_money(total),
        "currency": "CNY",
        "value_date": day.isoformat(),
        "settles": settles,
    }
    if rng.random() < 0.1:
        # Paid in US dollars at a rate near 7.1 CNY per USD.
        record["currency"] = "USD"
        record["amount_cny"] = record["amount"]
        record["amount"] = format_money(max(1, total * 100 // rng.randrange(700, 720)))
    return record


def buyer_like(who: Company) -> Record:
    """``{name, tax_id, id_type}`` of a company, as v2 payees are given."""
    return who.as_buyer()


def _commitment(rng: random.Random) -> str:
    return "0x" + rng.randbytes(32).hex()


def _sample_decision_v2(rng: random.Random) -> Record:
    decision = _sample_decision(rng)
    return {
        "uscc": decision["uscc"],
        "decision": decision["decision"],
        "amount": decision["amount"],
        "decided_on": decision["decided_on"],
        "rating": _commitment(rng),
        "consent": _commitment(rng),
    }


def tax_status(
    rng: random.Random,
    who: Company,
    since: datetime.date,
    status: str,
    vouchers: Sequence[str] = (),
) -> Record:
    """The ``tax.status/v1`` record of ``who``; ``vouchers`` are 数电 numbers that became
    abnormal vouchers."""
    record: Record = {"uscc": who.uscc, "status": status, "since": since.isoformat()}
    if vouchers:
        record["abnormal_vouchers"] = [{"number": number} for number in vouchers]
    return record


def _sample_status(rng: random.Random) -> Record:
    who = company(rng)
    status = rng.choices(("normal", "abnormal", "absconded", "deregistered"), (85, 8, 4, 3))[0]
    day = _recent_day(rng)
    vouchers = [invoice_number(rng, day.year, _province(who)) for _ in range(rng.randrange(0, 4))]
    return tax_status(
        rng, who, day, status, vouchers if status in ("abnormal", "absconded") else ()
    )


def declaration(
    who: Company,
    period: str,
    taxpayer_type: str,
    sales: dict[str, tuple[int, int]],
    input_tax: int,
    brought_forward: int,
    filed_on: datetime.date,
) -> Record:
    """The ``tax.declaration/v1`` record of ``who``: ``sales`` maps a rate to its (amount,
    tax) in cents; the balance is computed."""
    output = sum(tax for _, tax in sales.values())
    balance = output - input_tax - brought_forward
    return {
        "uscc": who.uscc,
        "period": period,
        "taxpayer_type": taxpayer_type,
        "sales": [
            {"rate": rate, "amount": format_money(amount), "tax": format_money(tax)}
            for rate, (amount, tax) in sorted(sales.items())
        ],
        "output_tax": format_money(output),
        "input_tax": format_money(input_tax),
        "credit_brought_forward": format_money(brought_forward),
        "tax_payable": format_money(max(0, balance)),
        "credit_carried_forward": format_money(max(0, -balance)),
        "filed_on": filed_on.isoformat(),
    }


def _sample_declaration(rng: random.Random) -> Record:
    who = company(rng)
    today = _today()
    # A month among the last twelve that have ended.
    months_back = rng.randrange(1, 13)
    index = today.year * 12 + today.month - 1 - months_back
    last = datetime.date(index // 12, index % 12 + 1, 1)
    small = rng.random() < 0.4
    if small:
        # The last quarter that ended before that month began.
        quarter_index = (last.year * 12 + last.month - 1) // 3 - 1
        period = f"{quarter_index // 4}-Q{quarter_index % 4 + 1}"
        end = datetime.date(quarter_index // 4, (quarter_index % 4) * 3 + 3, 1)
        end = _month_end(end)
        amount = rng.randrange(10_000_00, 300_000_00)
        sales = {"0.01": (amount, tax_cents(amount, 10))}
        input_tax = brought = 0
    else:
        end = _month_end(last)
        period = f"{end:%Y-%m}"
        sales = {}
        for rate in rng.sample(("0.13", "0.09", "0.06"), rng.randrange(1, 4)):
            amount = rng.randrange(100_000_00, 5_000_000_00)
            sales[rate] = (amount, tax_cents(amount, RATE_PER_MILLE[rate]))
        output = sum(t for _, t in sales.values())
        input_tax = output * rng.randrange(50, 110) // 100
        brought = rng.choice((0, 0, 0, rng.randrange(0, 50_000_00)))
    filed_on = min(end + datetime.timedelta(days=rng.randrange(1, 15)), today)
    return declaration(
        who, period, "small_scale" if small else "general", sales, input_tax, brought, filed_on
    )


def _month_end(day: datetime.date) -> datetime.date:
    following = day.replace(day=28) + datetime.timedelta(days=4)
    return following - datetime.timedelta(days=following.day)


def consent(
    rng: random.Random, uscc: str, grantee: str, granted_at: datetime.datetime, years: int = 1
) -> Record:
    """The ``consent.granted/v1`` record of the taxpayer ``uscc`` letting ``grantee`` read
    its tax rating for credit assessment (银税互动), valid ``years`` from the day it is given."""
    start = granted_at.date()
    return {
        "consent_id": f"CST-{start:%Y%m%d}-{rng.randrange(10**8):08d}",
        "taxpayer": uscc,
        "grantee": grantee,
        "schemas": [schemas.TAX_RATING],
        "purpose": "credit-assessment",
        "granted_at": granted_at.isoformat(timespec="seconds"),
        "valid_from": start.isoformat(),
        "valid_until": start.replace(year=start.year + years).isoformat()
        if (start.month, start.day) != (2, 29)
        else datetime.date(start.year + years, 3, 1).isoformat(),
    }


def _moment_before_today(rng: random.Random) -> datetime.datetime:
    day = _recent_day(rng)
    return datetime.datetime.combine(
        day, datetime.time(rng.randrange(8, 20), rng.randrange(60)), CHINA_TIME
    )


def _sample_consent(rng: random.Random) -> Record:
    return consent(rng, company(rng).uscc, "bank", _moment_before_today(rng))


def _sample_disclosure(rng: random.Random) -> Record:
    at = _moment_before_today(rng)
    return {
        "disclosure_id": f"DSC-{at:%Y%m%d}-{rng.randrange(10**8):08d}",
        "discloser": "tax-bureau",
        "recipient": "bank",
        "subject_tag": _commitment(rng),
        "schemas": [schemas.TAX_RATING],
        "purpose": "credit-assessment",
        "consent": _commitment(rng),
        "request_hash": _commitment(rng),
        "response_hash": _commitment(rng),
        "disclosed_at": at.isoformat(timespec="seconds"),
    }


_GENERATORS: dict[str, Callable[[random.Random], Record]] = {
    schemas.INVOICE_ISSUED: _sample_invoice,
    schemas.INVOICE_ISSUED_V2: _sample_invoice_v2,
    schemas.PAYMENT_SETTLED: _sample_payment,
    schemas.PAYMENT_SETTLED_V2: _sample_payment_v2,
    schemas.REGISTRATION_STATUS: _sample_registration,
    schemas.TAX_RATING: _sample_rating,
    schemas.BANK_DECISION: _sample_decision,
    schemas.BANK_DECISION_V2: _sample_decision_v2,
    schemas.TAX_STATUS: _sample_status,
    schemas.TAX_DECLARATION: _sample_declaration,
    schemas.CONSENT_GRANTED: _sample_consent,
    schemas.DISCLOSURE_MADE: _sample_disclosure,
}


def generate(schema_name: str, count: int, seed: int = 0) -> list[Record]:
    """``count`` valid, independent records of ``schema_name``, the same for the same seed."""
    get_schema(schema_name)
    # Reproducible by design: samples are not secrets.
    rng = random.Random(f"{schema_name}:{seed}")  # noqa: S311
    make = _GENERATORS[schema_name]
    return [make(rng) for _ in range(count)]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Records that agree with each other across agencies, keyed by schema name."""

    companies: tuple[Company, ...]
    records: dict[str, list[Record]]


def scenario(
    seed: int = 0,
    *,
    companies: int = 10,
    invoices: int = 50,
    year: int | None = None,
    sellers: Sequence[Company] = (),
) -> Scenario:
    """A coherent set of records: registrations and ratings of every company, invoices
    between them, a full payment for each invoice, and bank decisions on the ratings.

    Every fact agrees (三流一致 holds) and no company is abnormal; tests and demos
    derive their mismatches from it deliberately.
    """
    rng = random.Random(f"scenario:{seed}")  # noqa: S311
    year = year or _today().year - 1
    pool = tuple(sellers) + tuple(company(rng) for _ in range(max(2, companies) - len(sellers)))
    records: dict[str, list[Record]] = {name: [] for name in schemas.SCHEMAS}
    start = datetime.date(year, 1, 1)
    for who in pool:
        records[schemas.REGISTRATION_STATUS].append(registration(rng, who, start, abnormal=False))
        rating = tax_rating(rng, who, year - 1)
        records[schemas.TAX_RATING].append(rating)
        published = datetime.date(year, 4, 1)
        decided_on = published + datetime.timedelta(
            days=rng.randrange(max(1, min(275, (_today() - published).days)))
        )
        records[schemas.BANK_DECISION].append(bank_decision(rng, rating, decided_on))
    for _ in range(invoices):
        seller, buyer = rng.sample(pool, 2)
        issued_on = _day(rng, year)
        bill = invoice(rng, seller, buyer, issued_on)
        records[schemas.INVOICE_ISSUED].append(bill)
        paid_on = min(issued_on + datetime.timedelta(days=rng.randrange(0, 30)), _today())
        records[schemas.PAYMENT_SETTLED].append(payment_for(rng, bill, paid_on))
    return Scenario(pool, records)
