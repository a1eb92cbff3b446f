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
    RATE_PER_MILLE,
    format_decimal,
    format_money,
    parse_decimal,
    round_half_up_div,
    tax_cents,
)
from ledger_node.records.identifiers import USCC_ALPHABET, make_resident_id, make_uscc
from ledger_node.records.schemas import get_schema
from ledger_node.records.validation import SCORE_BANDS

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
    CatalogItem("农产品", "新鲜蔬菜", "1010112000000000000", "0.01", 200, 1500, False),
)


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


def invoice_number(rng: random.Random, year: int) -> str:
    """A 20-digit invoice number whose first two digits are the year, as the platform issues."""
    return f"{year % 100:02d}{rng.randrange(10**18):018d}"


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
    for _ in range(count):
        line = _line(rng, rng.choice(CATALOG))
        lines.append(line)
        if rng.random() < 0.1:
            lines.append(_discount(line, rng))
    special = isinstance(buyer, Company) and rng.random() < 0.6
    record: Record = {
        "invoice_number": number or invoice_number(rng, issued_on.year),
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
        "invoice_number": invoice_number(rng, issued_on.year),
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


def _day(rng: random.Random, year: int) -> datetime.date:
    return datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))


def _rating_year() -> int:
    # The latest rating published: the previous year's (ratings come out in April).
    return datetime.date.today().year - 1


def _sample_invoice(rng: random.Random) -> Record:
    buyer: Buyer = person(rng) if rng.random() < 0.15 else company(rng)
    day = _day(rng, datetime.date.today().year)
    blue = invoice(rng, company(rng), buyer, day)
    # About one invoice in twenty is reversed by a red one.
    return red_invoice(rng, blue, day) if rng.random() < 0.05 else blue


def _sample_payment(rng: random.Random) -> Record:
    day = _day(rng, datetime.date.today().year)
    return payment_for(rng, invoice(rng, company(rng), company(rng), day), day)


def _sample_registration(rng: random.Random) -> Record:
    return registration(rng, company(rng), _day(rng, datetime.date.today().year))


def _sample_rating(rng: random.Random) -> Record:
    return tax_rating(rng, company(rng), _rating_year())


def _sample_decision(rng: random.Random) -> Record:
    rating = tax_rating(rng, company(rng), _rating_year())
    return bank_decision(rng, rating, _day(rng, datetime.date.today().year))


_GENERATORS: dict[str, Callable[[random.Random], Record]] = {
    schemas.INVOICE_ISSUED: _sample_invoice,
    schemas.PAYMENT_SETTLED: _sample_payment,
    schemas.REGISTRATION_STATUS: _sample_registration,
    schemas.TAX_RATING: _sample_rating,
    schemas.BANK_DECISION: _sample_decision,
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
    year = year or datetime.date.today().year
    pool = tuple(sellers) + tuple(company(rng) for _ in range(max(2, companies) - len(sellers)))
    records: dict[str, list[Record]] = {name: [] for name in schemas.SCHEMAS}
    start = datetime.date(year, 1, 1)
    for who in pool:
        records[schemas.REGISTRATION_STATUS].append(registration(rng, who, start, abnormal=False))
        rating = tax_rating(rng, who, year - 1)
        records[schemas.TAX_RATING].append(rating)
        records[schemas.BANK_DECISION].append(bank_decision(rng, rating, _day(rng, year)))
    for _ in range(invoices):
        seller, buyer = rng.sample(pool, 2)
        issued_on = _day(rng, year)
        bill = invoice(rng, seller, buyer, issued_on)
        records[schemas.INVOICE_ISSUED].append(bill)
        paid_on = issued_on + datetime.timedelta(days=rng.randrange(0, 30))
        records[schemas.PAYMENT_SETTLED].append(payment_for(rng, bill, paid_on))
    return Scenario(pool, records)
