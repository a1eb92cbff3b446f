"""The audit of the exchange: bank decisions citing facts, disclosures citing consents or
made without one where the read policy in force at their block required it, one case per
finding and ones that are clean, on the embedded chain."""

from __future__ import annotations

import dataclasses
import datetime
import random
from pathlib import Path

from ledger_node.agencies import AgencyKind
from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.report import run_audit
from ledger_node.bundle import ProofBundleV2
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.exchange.subjects import request_tag
from ledger_node.policy import DEFAULT_READ_POLICY
from ledger_node.records import samples
from ledger_node.records.schemas import (
    BANK_DECISION_V2,
    CONSENT_GRANTED,
    DISCLOSURE_MADE,
    REGISTRATION_STATUS,
    SCHEMAS,
    TAX_RATING,
)
from ledger_node.tagging import Keyring

GRANTED = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def test_each_exchange_finding_and_a_clean_decision(tmp_path: Path) -> None:
    rng = random.Random(5)
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)

    keyring = Keyring.of(consortium.tag_keys)

    def anchor(agency: str, schema: str, records: list[dict]) -> list[ProofBundleV2]:
        key = consortium.keys[agency]
        return anchor_records(client, key, client.sender(key), schema, records, keyring=keyring)

    a, b = samples.company(rng), samples.company(rng)
    ratings = anchor(
        "tax-bureau",
        TAX_RATING,
        [samples.tax_rating(rng, a, 2025), samples.tax_rating(rng, a, 2024),
         samples.tax_rating(rng, b, 2025)],
    )  # fmt: skip
    # B's own rating is anchored and cited by no decision: it makes no finding.
    rating_a, revoked_a, _ = (f"0x{r.commitment.hex()}" for r in ratings)
    bureau = consortium.keys["tax-bureau"]
    client.revoke_leaf(
        bureau, client.sender(bureau), root=ratings[1].root, schema_id=ratings[1].schema_id,
        commitment=ratings[1].commitment, proof=ratings[1].proof, reason=b"\x01".rjust(32, b"\0"),
    )  # fmt: skip
    consent = samples.consent(rng, a.uscc, "bank", GRANTED)
    to_regulator = samples.consent(rng, a.uscc, "market-regulator", GRANTED)
    lapsed = samples.consent(rng, a.uscc, "bank", GRANTED.replace(year=2024))
    consents = anchor("tax-bureau", CONSENT_GRANTED, [consent, to_regulator, lapsed])
    consent_a, consent_other, consent_lapsed = (f"0x{c.commitment.hex()}" for c in consents)
    # The tag the bank's request for A's rating named (the credit domain's).
    tag_a = "0x" + request_tag(keyring, "taxpayer", a.uscc, [TAX_RATING]).hex()

    def disclosure(n: int, consent: str | None, schema: str = TAX_RATING) -> dict:
        record = {
            "disclosure_id": f"dx-{n}", "discloser": "tax-bureau", "recipient": "bank",
            "subject_tag": tag_a, "schemas": [schema], "purpose": "credit-assessment",
            "consent": consent, "request_hash": "0x" + "11" * 32,
            "response_hash": "0x" + "22" * 32, "disclosed_at": "2026-03-02T10:00:00+08:00",
        }  # fmt: skip
        return {k: v for k, v in record.items() if v is not None}

    disclosures = anchor(
        "tax-bureau",
        DISCLOSURE_MADE,
        [
            disclosure(1, consent_a),
            disclosure(2, consent_other),
            disclosure(3, None),  # a rating without consent, which the policy requires
            disclosure(4, None, REGISTRATION_STATUS),  # public: no consent needed
        ],
    )
    # Governance lets banks read ratings without consent from the next block: a disclosure
    # without one after that is clean, and dx-3 stays a finding (judged at its own block).
    governance = Governance(client)
    senders = {n: client.sender(k) for n, k in consortium.keys.items()}
    rating_id = SCHEMAS[TAX_RATING].schema_id
    relaxed = dataclasses.replace(
        DEFAULT_READ_POLICY[TAX_RATING][AgencyKind.BANK], consent_required=False
    )
    proposal = governance.propose(
        senders["bank"], Action.set_read_policy(rating_id, AgencyKind.BANK, relaxed)
    )
    governance.approve(senders["tax-bureau"], proposal)
    governance.approve(senders["auditor"], proposal)
    governance.execute(senders["bank"], proposal)
    disclosures += anchor("tax-bureau", DISCLOSURE_MADE, [disclosure(5, None)])

    def decision(uscc: str, day: str, rating: str, consent: str) -> dict:
        return {"uscc": uscc, "decision": "declined", "amount": "0.00", "decided_on": day,
                "rating": rating, "consent": consent}  # fmt: skip

    decisions = anchor(
        "bank",
        BANK_DECISION_V2,
        [
            decision(a.uscc, "2026-03-03", rating_a, consent_a),  # clean
            decision(b.uscc, "2026-03-04", rating_a, consent_a),  # A's rating; not obtained
            decision(a.uscc, "2026-03-05", revoked_a, consent_a),  # revoked rating
            decision(a.uscc, "2026-03-07", rating_a, consent_lapsed),  # lapsed in 2025
            decision(a.uscc, "2026-03-06", rating_a, consent_other),  # someone else's consent
        ],
    )
    records = tmp_path / "records"
    records.mkdir()
    for i, bundle in enumerate([*ratings, *consents, *disclosures, *decisions]):
        bundle.save(records / f"{i:02d}.json")
    index = AuditIndex.create_or_open(tmp_path / "audit.sqlite", consortium.deployment)
    report = run_audit(Rpc(w3), index, records=records)
    found = sorted((f.code, f.subject) for f in report.findings if f.code != "invoice_missing")
    assert found == sorted(
        [
            ("decision_rating_mismatch", f"{b.uscc} 2026-03-04"),
            ("decision_rating_not_obtained", f"{b.uscc} 2026-03-04"),
            ("decision_rating_revoked", f"{a.uscc} 2026-03-05"),
            ("decision_without_consent", f"{a.uscc} 2026-03-06"),
            ("decision_without_consent", f"{a.uscc} 2026-03-07"),
            ("decision_without_consent", f"{b.uscc} 2026-03-04"),
            ("disclosure_without_consent", "dx-2"),
            ("disclosure_without_consent", "dx-3"),
        ]
    )
