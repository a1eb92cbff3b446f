"""The cross-agency check 三流一致, per invoice: the invoice flow (the tax bureau attests the
issue), the fund flow (a bank attests payments from the buyer to the seller for the amount
due) and the seller's standing (the market regulator attests it registered, active and not
on the abnormal-operations list, the tax bureau that it was not an abnormal or absconded
taxpayer, at the invoice date) must agree.

A red invoice is its own fact: it nets against the blue invoice it reverses, in full or in
part, and the amount due on the blue invoice is what remains. A payment may settle several
invoices (``payment.settled/v2``), each with its share. An invoice to a person who gave no
ID has no payer to match. Only records that passed verification count as evidence; a
revoked invoice (a fact attested in error) is reported as such and not checked further.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger_node.audit.findings import FactRef, Finding
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.records import CheckedBundle, TimelineEntry, bundle_entries, sort_timeline
from ledger_node.records import schemas
from ledger_node.records.amounts import format_money, parse_money
from ledger_node.records.identifiers import party_label
from ledger_node.records.tax_status import VOUCHER_CAUSES
from ledger_node.verify.membership import MembershipHistory


@dataclass
class InvoiceAudit:
    """One invoice: its parties and total, the findings about it and its timeline."""

    number: str
    seller: str
    buyer: str
    total: str
    issued_at: str
    red_of: str | None
    #: What remains due after the red invoices against it (the total if there are none).
    net_total: str = ""
    findings: list[Finding] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "invoice_number": self.number,
            "seller": self.seller,
            "buyer": self.buyer,
            "total": self.total,
            "issued_at": self.issued_at,
            "red_of": self.red_of,
            "net_total": self.net_total or self.total,
            "consistent": self.consistent,
            "findings": [f.code for f in self.findings],
            "timeline": [e.to_json() for e in self.timeline],
        }


#: Records a finding about the invoice being audited: code, message, the other facts.
_Report = Callable[..., None]


class _Evidence:
    """The given records, by what the 三流一致 check looks them up by."""

    def __init__(
        self, checked: list[CheckedBundle], index: AuditIndex, history: MembershipHistory
    ) -> None:
        self.entries: dict[int, list[TimelineEntry]] = {}
        self.invoices: list[CheckedBundle] = []
        #: Payments by the invoice they settle, with the cents each attributes to it.
        self.payments: dict[str, list[tuple[CheckedBundle, int]]] = defaultdict(list)
        self.registrations: dict[str, list[CheckedBundle]] = defaultdict(list)
        self.statuses: dict[str, list[CheckedBundle]] = defaultdict(list)
        self.red: dict[str, list[CheckedBundle]] = defaultdict(list)
        #: Every invoice number given, verified or not (a failed one has its own finding).
        self.given: set[str] = set()
        for item in checked:
            if item.bundle is None:
                continue
            self.entries[id(item)] = bundle_entries(item, index, history)
            record, schema = item.bundle.record, item.bundle.schema
            invoice = schema in schemas.INVOICE_SCHEMAS
            if invoice:
                self.given.add(str(record.get("invoice_number")))
            if invoice and (item.ok or item.revoked):
                self.invoices.append(item)
                if "red_of" in record and item.ok:
                    self.red[blue_number(record["red_of"])].append(item)
            elif not item.ok:
                continue
            elif schema == schemas.PAYMENT_SETTLED:
                self.payments[record["invoice_number"]].append(
                    (item, parse_money(record["amount"]) or 0)
                )
            elif schema == schemas.PAYMENT_SETTLED_V2:
                for part in record["settles"]:
                    self.payments[part["invoice_number"]].append(
                        (item, parse_money(part["amount"]) or 0)
                    )
            elif schema == schemas.REGISTRATION_STATUS:
                self.registrations[record["uscc"]].append(item)
            elif schema == schemas.TAX_STATUS:
                self.statuses[record["uscc"]].append(item)

    def refs(self, *items: CheckedBundle) -> tuple[FactRef, ...]:
        # A record's first timeline entry is its own write; a record that never reached the
        # ledger has none and names no fact.
        return tuple(self.entries[id(i)][0].fact for i in items if self.entries[id(i)])

    def timeline(self, *items: CheckedBundle) -> list[TimelineEntry]:
        return sort_timeline(e for i in items for e in self.entries[id(i)])


def check_flows(
    checked: list[CheckedBundle], index: AuditIndex, history: MembershipHistory
) -> tuple[list[InvoiceAudit], list[Finding]]:
    """Audit each given invoice against the given payments and registrations.

    Returns the invoices (with their findings and timelines) and the findings not tied to a
    given invoice: payments for invoices not among the records.
    """
    evidence = _Evidence(checked, index, history)
    audits = [_audit_invoice(item, evidence) for item in evidence.invoices]
    loose = [
        Finding(
            "invoice_missing",
            number,
            f"{len(items)} payment(s) refer to invoice {number}, which is not among the records",
            evidence.refs(*(item for item, _ in items)),
        )
        for number, items in sorted(evidence.payments.items())
        if number not in evidence.given
    ]
    return audits, loose


def blue_number(red_of: str | dict[str, str]) -> str:
    """The key of the blue invoice a red one reverses: its 数电 number, or a pre-digital
    invoice's ``code:number``."""
    if isinstance(red_of, str):
        return red_of
    return f"{red_of['code']}:{red_of['number']}" if "code" in red_of else red_of["number"]


def _audit_invoice(item: CheckedBundle, evidence: _Evidence) -> InvoiceAudit:
    assert item.bundle is not None
    record = item.bundle.record
    number = record["invoice_number"]
    seller = record["seller"]["tax_id"]
    red_of = record.get("red_of")
    audit = InvoiceAudit(
        number,
        seller,
        party_label(record["buyer"]),
        record["total"],
        record["issued_at"],
        None if red_of is None else blue_number(red_of),
    )
    payments = evidence.payments.get(number, [])
    reds = evidence.red.get(number, [])
    issued_on = record["issued_at"][:10]
    standing = [
        r
        for r in evidence.registrations.get(seller, [])
        if r.bundle is not None and r.bundle.record["as_of"] <= issued_on
    ]
    audit.timeline = evidence.timeline(
        item,
        *(p for p, _ in payments),
        *evidence.registrations.get(seller, []),
        *evidence.statuses.get(seller, []),
        *reds,
    )

    def finding(code: str, message: str, *facts: CheckedBundle) -> None:
        audit.findings.append(Finding(code, number, message, evidence.refs(item, *facts)))

    if item.revoked:
        assert item.failure is not None
        finding("invoice_revoked", f"invoice {number}: {item.failure.message}")
        return audit
    if audit.red_of is None:
        net = (parse_money(audit.total) or 0) + sum(
            parse_money(r.bundle.record["total"]) or 0 for r in reds if r.bundle is not None
        )
        audit.net_total = format_money(net)
        if net < 0:
            finding(
                "red_exceeds_blue",
                f"red invoices reverse {format_money((parse_money(audit.total) or 0) - net)} of "
                f"invoice {number}, which totals {audit.total}",
                *reds,
            )
        elif "tax_id" in record["buyer"]:
            _check_payments(audit, record["buyer"]["tax_id"], net, payments, finding)
    _check_seller(audit, seller, issued_on, standing, evidence, finding)
    _check_tax_status(audit, seller, issued_on, evidence, finding)
    return audit


def _check_payments(
    audit: InvoiceAudit,
    buyer: str,
    due: int,
    payments: list[tuple[CheckedBundle, int]],
    finding: _Report,
) -> None:
    number = audit.number
    if not payments:
        if due:
            finding("payment_missing", f"no bank attested a payment for invoice {number}")
        return
    for payment, _ in payments:
        assert payment.bundle is not None
        paid = payment.bundle.record
        if paid["payer"]["tax_id"] != buyer:
            finding(
                "payer_not_buyer",
                f"payment {paid['payment_id']} came from {party_label(paid['payer'])}, not "
                f"from the buyer {audit.buyer}",
                payment,
            )
        if paid["payee"]["tax_id"] != audit.seller:
            finding(
                "payee_not_seller",
                f"payment {paid['payment_id']} went to {paid['payee']['tax_id']}, not to the "
                f"seller {audit.seller}",
                payment,
            )
    paid_cents = sum(cents for _, cents in payments)
    if paid_cents != due:
        net = "" if audit.net_total == audit.total else f" ({audit.net_total} after red invoices)"
        finding(
            "amount_mismatch",
            f"invoice {number} totals {audit.total}{net} but {len(payments)} payment(s) add up "
            f"to {format_money(paid_cents)}",
            *(p for p, _ in payments),
        )


def _check_seller(
    audit: InvoiceAudit,
    seller: str,
    issued_on: str,
    standing: list[CheckedBundle],
    evidence: _Evidence,
    finding: _Report,
) -> None:
    if not standing:
        later = evidence.registrations.get(seller, [])
        dates = [r.bundle.record["as_of"] for r in later if r.bundle is not None]
        note = f"; the earliest given is as of {min(dates)}" if dates else ""
        finding(
            "seller_unregistered",
            f"no registration of the seller {seller} as of {issued_on} or earlier{note}",
            *later,
        )
        return
    current = _in_force(standing, "as_of")
    assert current.bundle is not None
    status = current.bundle.record
    if status["status"] != "active":
        finding(
            "seller_inactive",
            f"the seller {seller} was {status['status']} as of {status['as_of']}, before the "
            f"invoice of {issued_on}",
            current,
        )
    if status["abnormal"]:
        finding(
            "seller_abnormal",
            f"the seller {seller} was on the abnormal-operations list "
            f"({status.get('abnormal_reason')}) as of {status['as_of']}, before the invoice of "
            f"{issued_on}",
            current,
        )


def _check_tax_status(
    audit: InvoiceAudit, seller: str, issued_on: str, evidence: _Evidence, finding: _Report
) -> None:
    """The seller's status at the tax bureau in force at the invoice date."""
    standing = [
        s
        for s in evidence.statuses.get(seller, [])
        if s.bundle is not None and s.bundle.record["since"] <= issued_on
    ]
    if not standing:
        return
    current = _in_force(standing, "since")
    assert current.bundle is not None
    status = current.bundle.record
    if status["status"] in VOUCHER_CAUSES:
        finding(
            "seller_tax_abnormal",
            f"the seller {seller} was {status['status']} at the tax bureau since "
            f"{status['since']}, before the invoice of {issued_on}",
            current,
        )


def _in_force(standing: list[CheckedBundle], date_field: str) -> CheckedBundle:
    """The status in force: the latest by ``date_field``, then the latest on chain."""
    return max(
        standing,
        key=lambda r: (
            r.bundle.record[date_field] if r.bundle else "",
            r.write.position if r.write else (0, 0),
        ),
    )
