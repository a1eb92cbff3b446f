"""What the exchange must explain: each bank decision that cites facts (``credit.bank-decision``
v2) relied on a rating the bank obtained through a disclosure (one to the bank about a
subject the decision's verification proved it is about), that is the attested one and was not
revoked before the decision, under a consent in force; and each disclosure was made under a
consent in force at its block where the read policy in force at that block required one for
any schema it disclosed, and under one in force wherever it cites one.

A disclosure's block is the block its ``disclosure.made`` record was anchored in, which the
provider writes in its next batch, a block or two after it answered.

Checked over the records given, verified: a rating, consent or disclosure the auditor was
not given counts as absent, so an audit of the exchange is given every agency's disclosure
records (``GET /v1/records/{id}/proof`` of each, or the bundles the gateways export).
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Callable, Iterable
from dataclasses import replace

from ledger_node.agencies import AgencyKind
from ledger_node.audit.findings import FactRef, Finding
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.ledger_checks import write_ref
from ledger_node.audit.records import CheckedBundle
from ledger_node.chain.ledger import LedgerClient, ReadRuleRecord
from ledger_node.records import schemas
from ledger_node.verify.membership import MembershipHistory

#: The read rule of a schema (by id) for a reader kind, in force at a block.
RuleAt = Callable[[bytes, AgencyKind, int], ReadRuleRecord]


class ReadRules:
    """The read rules in force at any block, from the ledger: each (schema, reader kind)'s
    history read once, then looked up by block as ``readRuleAt`` does (the newest rule in
    force from that block or before; an empty rule before the first)."""

    def __init__(self, client: LedgerClient) -> None:
        self._client = client
        self._histories: dict[tuple[bytes, AgencyKind], list[ReadRuleRecord]] = {}

    def at(self, schema_id: bytes, kind: AgencyKind, block: int) -> ReadRuleRecord:
        key = (schema_id, kind)
        history = self._histories.get(key)
        if history is None:
            history = self._histories[key] = self._client.read_rule_history(schema_id, kind)
        i = bisect.bisect_right([rule.from_block for rule in history], block)
        return history[i - 1] if i else ReadRuleRecord(schema_id, kind, 0, 0, False, "")


def _revoked_at(item: CheckedBundle, index: AuditIndex) -> int | None:
    """The block a fact was revoked at, or None if it stands."""
    if not item.revoked or item.bundle is None:
        return None
    bundle = item.bundle
    found = index.revocations(bundle.anchor.agency_id, bundle.root)
    revocation = found.get(bundle.leaf if bundle.anchor.kind == "batch" else None)
    return None if revocation is None else revocation.block_number


def _standing(item: CheckedBundle | None, index: AuditIndex, block: int) -> bool:
    """The fact exists and was not revoked at or before ``block``."""
    if item is None:
        return False
    revoked = _revoked_at(item, index)
    return revoked is None or revoked > block


def check_exchange(
    checked: Iterable[CheckedBundle],
    index: AuditIndex,
    history: MembershipHistory,
    rule_at: RuleAt,
) -> list[Finding]:
    """The findings of the exchange over the given records; ``rule_at`` gives the read
    policy in force at a block (:meth:`ReadRules.at`)."""
    by_commitment: dict[bytes, CheckedBundle] = {}
    decisions: list[CheckedBundle] = []
    disclosures: list[CheckedBundle] = []
    for item in checked:
        if item.bundle is None or item.write is None or not (item.ok or item.revoked):
            continue
        schema = item.bundle.schema
        if schema in (schemas.TAX_RATING, schemas.CONSENT_GRANTED):
            by_commitment[item.bundle.commitment] = item
        elif schema == schemas.BANK_DECISION_V2 and item.ok:
            decisions.append(item)
        elif schema == schemas.DISCLOSURE_MADE and item.ok:
            disclosures.append(item)

    def name(item: CheckedBundle) -> str:
        assert item.write is not None
        agency = history.agencies.get(item.write.agency_id)
        return agency.name if agency is not None else f"agency {item.write.agency_id}"

    def refs(*items: CheckedBundle | None) -> tuple[FactRef, ...]:
        return tuple(
            replace(write_ref(i.write, history), file=str(i.path))
            for i in items
            if i is not None and i.write
        )

    findings = []
    for decision in decisions:
        assert decision.bundle is not None and decision.write is not None
        record, block, bank = decision.bundle.record, decision.write.block_number, name(decision)
        subject = f"{record['uscc']} {record['decided_on']}"
        rating = by_commitment.get(bytes.fromhex(record["rating"][2:]))
        if (
            rating is None
            or rating.bundle is None
            or rating.bundle.schema != schemas.TAX_RATING
            or rating.bundle.record["uscc"] != record["uscc"]
        ):
            findings.append(
                Finding(
                    "decision_rating_mismatch",
                    subject,
                    f"{bank}'s decision cites rating {record['rating']}, which is no attested "
                    f"rating of {record['uscc']} among the records",
                    refs(decision, rating),
                )
            )
        elif not _standing(rating, index, block):
            findings.append(
                Finding(
                    "decision_rating_revoked",
                    subject,
                    f"{bank}'s decision at block {block} cites a rating revoked at block "
                    f"{_revoked_at(rating, index)}",
                    refs(decision, rating),
                )
            )
        tags = decision.tags  # the tags its verification proved, not those it lists
        obtained = [
            d
            for d in disclosures
            if d.bundle is not None
            and d.write is not None
            and d.bundle.record["recipient"] == bank
            and bytes.fromhex(d.bundle.record["subject_tag"][2:]) in tags
            and schemas.TAX_RATING in d.bundle.record["schemas"]
            and d.write.block_number <= block
        ]
        if not obtained:
            findings.append(
                Finding(
                    "decision_rating_not_obtained",
                    subject,
                    f"{bank} decided on {record['uscc']} at block {block} citing a rating it "
                    "obtained through no disclosure before it",
                    refs(decision, rating),
                )
            )
        consent = by_commitment.get(bytes.fromhex(record["consent"][2:]))
        problem = _consent_problem(
            consent, index, block, bank, record["uscc"], record["decided_on"]
        )
        if problem:
            findings.append(
                Finding(
                    "decision_without_consent",
                    subject,
                    f"{bank}'s decision at block {block}: {problem}",
                    refs(decision, consent),
                )
            )
    kinds = {agency.name: agency.kind for agency in history.agencies.values()}
    for disclosure in disclosures:
        assert disclosure.bundle is not None and disclosure.write is not None
        record, block = disclosure.bundle.record, disclosure.write.block_number
        if "consent" not in record:
            kind = kinds.get(record["recipient"])
            needed = [
                name
                for name in record["schemas"]
                if name in schemas.SCHEMAS
                and kind is not None
                and rule_at(schemas.SCHEMAS[name].schema_id, kind, block).consent_required
            ]
            if needed:
                findings.append(
                    Finding(
                        "disclosure_without_consent",
                        record["disclosure_id"],
                        f"{name(disclosure)}'s disclosure to {record['recipient']} at block "
                        f"{block} cites no consent, which the read policy in force at that "
                        f"block required for {', '.join(needed)}",
                        refs(disclosure),
                    )
                )
            continue
        consent = by_commitment.get(bytes.fromhex(record["consent"][2:]))
        problem = _consent_problem(
            consent, index, block, record["recipient"], None, record["disclosed_at"][:10]
        )
        if (
            not problem
            and consent is not None
            and consent.bundle is not None
            and bytes.fromhex(record["subject_tag"][2:]) not in consent.tags
        ):
            problem = "the consent is another taxpayer's"
        if problem:
            findings.append(
                Finding(
                    "disclosure_without_consent",
                    record["disclosure_id"],
                    f"{name(disclosure)}'s disclosure to {record['recipient']} at block "
                    f"{block}: {problem}",
                    refs(disclosure, consent),
                )
            )
    return findings


def _consent_problem(
    consent: CheckedBundle | None,
    index: AuditIndex,
    block: int,
    grantee: str,
    uscc: str | None,
    day: str,
) -> str:
    """Why ``consent`` was not in force for ``grantee`` (and ``uscc``) on ``day`` at
    ``block``; empty if it was."""
    if consent is None or consent.bundle is None:
        return "the consent it cites is not among the records"
    record = consent.bundle.record
    if consent.bundle.schema != schemas.CONSENT_GRANTED:
        return "what it cites as consent is not a consent"
    if record["grantee"] != grantee or (uscc is not None and record["taxpayer"] != uscc):
        return f"the consent it cites was given by {record['taxpayer']} to {record['grantee']}"
    if schemas.TAX_RATING not in record["schemas"] and uscc is not None:
        return "the consent it cites does not cover the tax rating"
    if (
        not record["valid_from"]
        <= datetime.date.fromisoformat(day).isoformat()
        <= record["valid_until"]
    ):
        return f"the consent is valid {record['valid_from']} to {record['valid_until']}, not {day}"
    if not _standing(consent, index, block):
        return f"the consent was revoked at block {_revoked_at(consent, index)}"
    return ""
