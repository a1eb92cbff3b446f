"""三流一致 with the v2 schemas: a red invoice nets against its blue one (it does not revoke
it), a payment may settle several invoices, and the seller's tax status counts."""

from __future__ import annotations

import datetime
import random
from typing import Any

import pytest

from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.report import AuditReport, run_audit
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.records import samples, schemas

CONSORTIUM_KEY = bytes(range(64, 96))
START = datetime.date(2026, 1, 1)
ISSUED = datetime.date(2026, 3, 2)
RETURNED = datetime.date(2026, 3, 9)
PAID = datetime.date(2026, 4, 1)


def _cents(text: str) -> int:
    return int(text.replace(".", ""))


def _money(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _payment(
    payer: dict[str, Any], payee: dict[str, Any], parts: list[tuple[str, int]]
) -> dict[str, Any]:
    total = sum(c for _, c in parts)
    return {
        "payment_id": f"ICBC-{PAID:%Y%m%d}-{parts[0][0][-8:]}",
        "payer": payer,
        "payee": payee,
        "amount": _money(total),
        "currency": "CNY",
        "value_date": PAID.isoformat(),
        "settles": [{"invoice_number": n, "amount": _money(c)} for n, c in parts],
    }


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditReport, dict[str, str]]:
    rng = random.Random(5)
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    seller, buyer, absconder = (samples.company(rng) for _ in range(3))
    v2 = samples.seller_v2(seller, "general")

    def blue(who: dict[str, Any] = v2) -> dict[str, Any]:
        return samples.as_v2(rng, samples.invoice(rng, seller, buyer, ISSUED, line_count=2), who)

    partly, wholly, overpaid, exceeded, first, second = (blue() for _ in range(6))
    exceeded_red = samples.red_v2(rng, exceeded, RETURNED)
    exceeded_red["lines"] = exceeded_red["lines"] + exceeded_red["lines"][:1]
    samples._set_totals(exceeded_red)
    anonymous = blue()
    anonymous["invoice_type"] = "ordinary"
    anonymous["buyer"] = {"name": "顾客", "id_type": "none"}
    shady = blue(samples.seller_v2(absconder, "general"))
    reds = {
        "partly": samples.red_v2(rng, partly, RETURNED, partial=True),
        "wholly": samples.red_v2(rng, wholly, RETURNED),
        "overpaid": samples.red_v2(rng, overpaid, RETURNED, partial=True),
        "exceeded": exceeded_red,
    }
    payer, payee = buyer.as_buyer(), samples.buyer_like(seller)

    def net(bill: dict[str, Any], red: dict[str, Any]) -> int:
        return _cents(bill["total"]) + _cents(red["total"])

    payments = [
        _payment(payer, payee, [(partly["invoice_number"], net(partly, reds["partly"]))]),
        # The buyer paid the whole original total although part of it was returned.
        _payment(payer, payee, [(overpaid["invoice_number"], _cents(overpaid["total"]))]),
        # One payment settles two invoices.
        _payment(
            payer,
            payee,
            [
                (first["invoice_number"], _cents(first["total"])),
                (second["invoice_number"], _cents(second["total"])),
            ],
        ),
        _payment(
            payer,
            samples.buyer_like(absconder),
            [(shady["invoice_number"], _cents(shady["total"]))],
        ),
    ]
    invoices = [partly, wholly, overpaid, exceeded, first, second, anonymous, shady, *reds.values()]
    registrations = [
        samples.registration(rng, who, START, abnormal=False) for who in (seller, absconder)
    ]
    registrations = [{**r, "status": "active"} for r in registrations]
    statuses = [
        samples.tax_status(rng, seller, START, "normal"),
        samples.tax_status(rng, absconder, START, "absconded", [shady["invoice_number"]]),
    ]
    records = tmp_path_factory.mktemp("records-v2")
    for agency, schema, items in (
        ("tax-bureau", schemas.INVOICE_ISSUED_V2, invoices),
        ("bank", schemas.PAYMENT_SETTLED_V2, payments),
        ("market-regulator", schemas.REGISTRATION_STATUS, registrations),
        ("tax-bureau", schemas.TAX_STATUS, statuses),
    ):
        key = consortium.keys[agency]
        bundles = anchor_records(
            client, key, client.sender(key), schema, items, consortium_key=CONSORTIUM_KEY
        )
        folder = records / schema.replace("/", "-")
        folder.mkdir()
        for i, bundle in enumerate(bundles):
            bundle.save(folder / f"{i:02d}.json")
    index = AuditIndex.create_or_open(
        tmp_path_factory.mktemp("index") / "a.sqlite", consortium.deployment
    )
    report = run_audit(Rpc(w3), index, records=records)
    numbers = {
        name: bill["invoice_number"]
        for name, bill in (
            ("partly", partly),
            ("wholly", wholly),
            ("overpaid", overpaid),
            ("exceeded", exceeded),
            ("first", first),
            ("second", second),
            ("anonymous", anonymous),
            ("shady", shady),
        )
    }
    numbers.update({f"red-{k}": r["invoice_number"] for k, r in reds.items()})
    return report, numbers


def _findings(report: AuditReport, number: str) -> list[str]:
    return [f.code for f in report.findings if f.subject == number]


def test_a_red_invoice_nets_against_its_blue_one(
    audited: tuple[AuditReport, dict[str, str]],
) -> None:
    report, numbers = audited
    for name in ("partly", "wholly", "first", "second", "anonymous"):
        assert _findings(report, numbers[name]) == [], name
    for name in ("red-partly", "red-wholly", "red-overpaid", "red-exceeded"):
        assert _findings(report, numbers[name]) == [], name
    (partly,) = [i for i in report.invoices if i.number == numbers["partly"]]
    assert partly.consistent and partly.net_total != partly.total
    assert [e.event for e in partly.timeline].count("revoked") == 0
    (wholly,) = [i for i in report.invoices if i.number == numbers["wholly"]]
    assert wholly.net_total == "0.00"


def test_paying_the_original_total_after_a_return_is_a_mismatch(
    audited: tuple[AuditReport, dict[str, str]],
) -> None:
    report, numbers = audited
    (finding,) = [f for f in report.findings if f.subject == numbers["overpaid"]]
    assert finding.code == "amount_mismatch"
    assert "after red invoices) but 1 payment(s) add up to" in finding.message


def test_a_red_invoice_larger_than_its_blue_one(
    audited: tuple[AuditReport, dict[str, str]],
) -> None:
    report, numbers = audited
    (finding,) = [f for f in report.findings if f.subject == numbers["exceeded"]]
    assert finding.code == "red_exceeds_blue"
    assert [f.schema for f in finding.facts] == [schemas.INVOICE_ISSUED_V2] * 2


def test_an_absconded_seller_at_the_tax_bureau(audited: tuple[AuditReport, dict[str, str]]) -> None:
    report, numbers = audited
    (finding,) = [f for f in report.findings if f.subject == numbers["shady"]]
    assert finding.code == "seller_tax_abnormal"
    assert "was absconded at the tax bureau since 2026-01-01" in finding.message
    assert [f.schema for f in finding.facts] == [schemas.INVOICE_ISSUED_V2, schemas.TAX_STATUS]
    assert len(report.findings) == 3


def test_summaries_speak_of_the_new_schemas(audited: tuple[AuditReport, dict[str, str]]) -> None:
    report, numbers = audited
    (partly,) = [i for i in report.invoices if i.number == numbers["partly"]]
    summaries = [e.summary for e in partly.timeline]
    assert any("for invoice(s) " + numbers["partly"] in s for s in summaries)
    assert any(f"red invoice reversing {numbers['partly']}" in s for s in summaries)
