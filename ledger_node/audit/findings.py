"""Findings: what an audit reports, each naming the on-chain facts behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Every finding code, its severity and what it means. The JSON report and the HTML report
#: use these codes; they are stable.
FINDING_CODES: dict[str, tuple[str, str]] = {
    # the ledger itself
    "unauthorised_write": ("error", "an anchor or fact signed by a key not authorised for it"),
    "write_copied_by_other_agency": (
        "error",
        "a root or commitment another agency had written first, written again by an agency",
    ),
    "revocation_unknown_target": ("error", "a revocation of a fact or batch the ledger lacks"),
    "revocation_by_other_agency": ("error", "a revocation by an agency that never wrote the fact"),
    "revocation_unauthorised": ("error", "a revocation signed by a key not authorised then"),
    "governance_unproposed_change": ("error", "a membership change without an executed proposal"),
    "governance_unknown_proposal": ("error", "a proposal executed that was never created"),
    "governance_action_mismatch": ("error", "the change differs from the proposal's action"),
    "governance_insufficient_approvals": ("error", "a proposal executed below the threshold"),
    # the records given (三流一致)
    "verification_failed": ("error", "a proof bundle failed verification"),
    "invoice_revoked": ("warning", "the invoice's fact was revoked (attested in error)"),
    "payment_missing": ("error", "no bank attested a payment for the invoice"),
    "amount_mismatch": ("error", "the payments do not add up to the invoice total"),
    "payer_not_buyer": ("error", "a payment came from someone other than the buyer"),
    "payee_not_seller": ("error", "a payment went to someone other than the seller"),
    "seller_unregistered": ("error", "no registration of the seller on or before the invoice"),
    "seller_inactive": ("error", "the seller's registration was not active at the invoice date"),
    "seller_abnormal": ("error", "the seller was on the abnormal-operations list then"),
    "seller_tax_abnormal": ("error", "the seller was an abnormal or absconded taxpayer then"),
    "red_exceeds_blue": ("error", "red invoices reverse more than their blue invoice's total"),
    "invoice_missing": ("warning", "a payment refers to an invoice not among the records"),
    "record_partial": (
        "warning",
        "a partial bundle (some fields hidden): verified, but not checked against other facts",
    ),
    # the exchange (bank decisions that cite facts, disclosures that cite consents)
    "decision_rating_not_obtained": (
        "error",
        "a bank decision relies on a rating the bank obtained through no disclosure",
    ),
    "decision_rating_mismatch": (
        "error",
        "a bank decision cites a rating that is not the taxpayer's attested rating",
    ),
    "decision_rating_revoked": (
        "error",
        "a bank decision cites a rating revoked before the decision",
    ),
    "decision_without_consent": (
        "error",
        "a bank decision made without the taxpayer's consent in force at its block",
    ),
    "disclosure_without_consent": (
        "error",
        "a disclosure citing a consent that was not in force at its block",
    ),
}


@dataclass(frozen=True)
class FactRef:
    """One fact a finding or timeline refers to: where it is on chain and in the records."""

    schema: str
    kind: str  # "batch", "single", "revocation" or a governance event name
    agency_id: int
    agency: str
    block_number: int
    tx_hash: str
    ref: str  # the root (batch), uid (single) or the revoked target
    leaf: str | None = None
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Finding:
    """A discrepancy: its code (see :data:`FINDING_CODES`), what it concerns (an invoice
    number, a root, a proposal), a message, and the facts behind it."""

    code: str
    subject: str
    message: str
    facts: tuple[FactRef, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.code not in FINDING_CODES:
            raise ValueError(f"unknown finding code {self.code!r}")

    @property
    def severity(self) -> str:
        return FINDING_CODES[self.code][0]

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "subject": self.subject,
            "message": self.message,
            "facts": [f.to_json() for f in self.facts],
        }
