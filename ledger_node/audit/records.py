"""The records an auditor is given: verified one by one, and placed on timelines.

A timeline lists facts in chain order with who attested them, when, and what revoked or
superseded them. Provenance of a subject (an invoice or a taxpayer, by its pseudonymous tag)
is such a timeline: the single facts the ledger indexes under the tag, and the given records
that carry it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ledger_node.audit.findings import FactRef
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.ledger_checks import revocation_ref, schema_name, write_ref
from ledger_node.bundle import AnyBundle, ProofBundleV2, load_bundle
from ledger_node.records import schemas
from ledger_node.records.identifiers import party_label
from ledger_node.verify import VerificationFailure, Verifier
from ledger_node.verify.membership import MembershipHistory
from ledger_node.verify.view import Anchor, Attestation

#: The last check that reads no ledger write: a failure at it or before has no write to show.
_LAST_OFFCHAIN_CHECK = 4


@dataclass(frozen=True)
class CheckedBundle:
    """A given bundle file and its verdict. ``write`` is its ledger write when the bundle
    got that far (it passed check 4), ``failure`` None when it passed every check."""

    path: Path
    bundle: AnyBundle | None
    write: Anchor | Attestation | None
    failure: VerificationFailure | None
    #: The subject tags verification proved (see :class:`~ledger_node.verify.Verified`).
    tags: frozenset[bytes] = frozenset()

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def revoked(self) -> bool:
        return self.failure is not None and self.failure.code == "revoked"

    @property
    def verdict(self) -> str:
        if self.failure is None:
            return "verified"
        return f"FAIL ({self.failure.check}) {self.failure.message}"


def check_records(
    verifier: Verifier, index: AuditIndex, paths: Iterable[Path]
) -> list[CheckedBundle]:
    """Verify every bundle file; keep the ledger write of those that reached the ledger."""
    checked = []
    for path in paths:
        try:
            verified = verifier.verify_file(path)
            checked.append(
                CheckedBundle(path, verified.bundle, verified.write, None, verified.tags)
            )
        except VerificationFailure as failure:
            bundle = _load(path)
            write = None
            if bundle is not None and failure.check > _LAST_OFFCHAIN_CHECK:
                agency_id = bundle.anchor.agency_id
                write = (
                    index.anchor(agency_id, bundle.root)
                    if bundle.anchor.kind == "batch"
                    else index.attestation(agency_id, bundle.root)
                )
            # Past check 2, a v2 bundle's committed tags are proven (a revoked fact is still
            # about its subject); a v1 bundle's tags were recomputed only if it passed.
            tags = frozenset(bundle.tags) if isinstance(bundle, ProofBundleV2) else frozenset()
            proven = tags if bundle is not None and failure.check > 2 else frozenset()
            checked.append(CheckedBundle(path, bundle, write, failure, proven))
    return checked


def _load(path: Path) -> AnyBundle | None:
    try:
        return load_bundle(path)
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class TimelineEntry:
    """One fact (or its revocation, or its replacement) on a timeline."""

    block_number: int
    log_index: int
    event: str  # attested, anchored, revoked, superseded
    schema: str
    agency: str
    signer: str
    summary: str
    fact: FactRef
    verdict: str
    timestamp: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "block_number": self.block_number,
            "timestamp": self.timestamp,
            "event": self.event,
            "schema": self.schema,
            "agency": self.agency,
            "signer": self.signer,
            "summary": self.summary,
            "verdict": self.verdict,
            "fact": self.fact.to_json(),
        }


def summarise(schema: str, record: dict[str, Any]) -> str:
    """One human line about a record."""
    if schema in schemas.INVOICE_SCHEMAS:
        red_of = record.get("red_of")
        red = ""
        if red_of is not None:
            blue = (
                red_of
                if isinstance(red_of, str)
                else " ".join(red_of[k] for k in ("code", "number") if k in red_of)
            )
            red = f", red invoice reversing {blue}"
        on_behalf = ", issued by the tax bureau" if record.get("issued_by") == "tax_bureau" else ""
        return (
            f"invoice {record['invoice_number']} issued {record['issued_at']} by "
            f"{party_label(record['seller'])} to {party_label(record['buyer'])}, total "
            f"{record['total']}{red}{on_behalf}"
        )
    if schema == schemas.PAYMENT_SETTLED:
        return (
            f"payment {record['payment_id']} of {record['amount']} {record['currency']} from "
            f"{party_label(record['payer'])} to {record['payee']['tax_id']} on "
            f"{record['value_date']} for invoice {record['invoice_number']}"
        )
    if schema == schemas.PAYMENT_SETTLED_V2:
        settled = ", ".join(f"{s['invoice_number']} ({s['amount']})" for s in record["settles"])
        cny = f" ({record['amount_cny']} CNY)" if "amount_cny" in record else ""
        return (
            f"payment {record['payment_id']} of {record['amount']} {record['currency']}{cny} "
            f"from {party_label(record['payer'])} to {party_label(record['payee'])} on "
            f"{record['value_date']} for invoice(s) {settled}"
        )
    if schema == schemas.REGISTRATION_STATUS:
        abnormal = (
            f", abnormal ({record.get('abnormal_reason')})" if record["abnormal"] else ", normal"
        )
        return (
            f"registration of {record['uscc']} as of {record['as_of']}: "
            f"{record['status']}{abnormal}"
        )
    if schema == schemas.TAX_RATING:
        return f"tax credit rating of {record['uscc']} for {record['year']}: {record['level']}"
    if schema in (schemas.BANK_DECISION, schemas.BANK_DECISION_V2):
        return f"bank credit decision on {record['uscc']}: {record['decision']} {record['amount']}"
    if schema == schemas.TAX_STATUS:
        vouchers = len(record.get("abnormal_vouchers", ()))
        listed = f", {vouchers} abnormal voucher(s)" if vouchers else ""
        return f"tax status of {record['uscc']} since {record['since']}: {record['status']}{listed}"
    if schema == schemas.TAX_DECLARATION:
        return (
            f"VAT return of {record['uscc']} for {record['period']}: output "
            f"{record['output_tax']}, input {record['input_tax']}, payable "
            f"{record['tax_payable']}"
        )
    if schema == schemas.CONSENT_GRANTED:
        return (
            f"consent of {record['taxpayer']} to {record['grantee']} for {record['purpose']} "
            f"({', '.join(record['schemas'])}), {record['valid_from']} to {record['valid_until']}"
        )
    if schema == schemas.DISCLOSURE_MADE:
        return (
            f"disclosure by {record['discloser']} to {record['recipient']} of "
            f"{', '.join(record['schemas'])} about {record['subject_tag'][:10]}… for "
            f"{record['purpose']} at {record['disclosed_at']}"
        )
    return schema


def bundle_entries(
    checked: CheckedBundle, index: AuditIndex, history: MembershipHistory
) -> list[TimelineEntry]:
    """Timeline entries of a given record: its write, and its revocation if any."""
    write, bundle = checked.write, checked.bundle
    if write is None or bundle is None:
        return []
    leaf = "0x" + bundle.leaf.hex() if isinstance(write, Anchor) else None
    fact = replace(write_ref(write, history), file=str(checked.path), leaf=leaf)
    entries = [
        TimelineEntry(
            write.block_number,
            write.log_index,
            "anchored" if isinstance(write, Anchor) else "attested",
            bundle.schema,
            fact.agency,
            write.signer,
            summarise(bundle.schema, bundle.record),
            fact,
            checked.verdict,
        )
    ]
    revocation = index.revocations(write.agency_id, bundle.root).get(
        bundle.leaf if isinstance(write, Anchor) else None
    )
    if revocation is not None:
        entries.append(_revocation_entry(revocation, history, bundle.schema, fact.ref))
    return entries


def _revocation_entry(
    revocation: Any, history: MembershipHistory, schema: str, target: str
) -> TimelineEntry:
    ref = revocation_ref(revocation, history, schema)
    return TimelineEntry(
        revocation.block_number,
        revocation.log_index,
        "revoked",
        schema,
        ref.agency,
        revocation.signer,
        f"{target} revoked, reason 0x{revocation.reason.hex()}",
        ref,
        "",
    )


def fact_entries(
    attestation: Attestation, index: AuditIndex, history: MembershipHistory
) -> list[TimelineEntry]:
    """Timeline entries of a single fact: its attestation, revocation and replacements."""
    fact = write_ref(attestation, history)
    schema = schema_name(attestation.schema_id)
    replaces = f", superseding 0x{attestation.ref_uid.hex()}" if any(attestation.ref_uid) else ""
    expires = f", expires at unix {attestation.expiration}" if attestation.expiration else ""
    entries = [
        TimelineEntry(
            attestation.block_number,
            attestation.log_index,
            "attested",
            schema,
            fact.agency,
            attestation.signer,
            f"{schema} fact {fact.ref}{replaces}{expires}",
            fact,
            "on chain",
        )
    ]
    revocation = index.revocations(attestation.agency_id, attestation.uid).get(None)
    if revocation is not None:
        entries.append(_revocation_entry(revocation, history, schema, fact.ref))
    for newer in index.superseded_by(attestation.agency_id, attestation.uid):
        newer_ref = write_ref(newer, history)
        entries.append(
            TimelineEntry(
                newer.block_number,
                newer.log_index,
                "superseded",
                schema,
                newer_ref.agency,
                newer.signer,
                f"{fact.ref} superseded by {newer_ref.ref}",
                newer_ref,
                "",
            )
        )
    return entries


def provenance(
    index: AuditIndex, tag: bytes, checked: Iterable[CheckedBundle] = ()
) -> list[TimelineEntry]:
    """Every fact about the subject ``tag``: single facts indexed under it and given records
    whose verification proved that they carry it (a v2 bundle's committed tags, a v1
    bundle's tags recomputed with the consortium key), with their revocations and
    replacements, in chain order. A record whose tags were not proven is never listed."""
    history = index.membership((index.synced_block, 0))
    entries: list[TimelineEntry] = []
    for attestation in index.attestations(subject=tag):
        entries += fact_entries(attestation, index, history)
    for item in checked:
        if item.bundle is not None and tag in item.tags:
            entries += bundle_entries(item, index, history)
    return sort_timeline(entries)


def sort_timeline(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """Entries in chain order, each distinct entry once (the one naming a record file, if
    a fact is known both from the ledger and from a given record)."""
    unique: dict[tuple[object, ...], TimelineEntry] = {}
    for entry in entries:
        key = (entry.block_number, entry.log_index, entry.event, entry.fact.leaf, entry.fact.ref)
        if key not in unique or (entry.fact.file and not unique[key].fact.file):
            unique[key] = entry
    # A replacement is told at the replacing fact's own event, after the fact itself.
    return sorted(
        unique.values(),
        key=lambda e: (e.block_number, e.log_index, e.event == "superseded", e.fact.file or ""),
    )
