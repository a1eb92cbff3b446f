"""A ledger on the embedded chain with planted 三流一致 mismatches, one per finding code, and
its audit; bundle files are written under a temporary records directory."""

from __future__ import annotations

import dataclasses
import datetime
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.report import AuditReport, run_audit
from ledger_node.bundle import ProofBundle
from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED, PAYMENT_SETTLED, REGISTRATION_STATUS

CONSORTIUM_KEY = bytes(range(32, 64))
START = datetime.date(2026, 1, 1)
ISSUED = datetime.date(2026, 3, 2)


@dataclass
class Planted:
    """The planted ledger: which invoice number stands for which finding."""

    w3: Web3
    consortium: FoundedConsortium
    client: LedgerClient
    records: Path
    index_path: Path
    numbers: dict[str, str]  # expected finding code (or "consistent") -> invoice number
    report: AuditReport
    individual: str  # the resident ID of the individual who paid someone else's invoice


def _anchor(
    client: LedgerClient,
    consortium: FoundedConsortium,
    agency: str,
    schema: str,
    records: list[dict],
) -> list[ProofBundle]:
    key = consortium.keys[agency]
    return anchor_records(
        client, key, client.sender(key), schema, records, consortium_key=CONSORTIUM_KEY
    )


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    rng = random.Random(11)
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    good, abnormal, unregistered, inactive, buyer, stranger = (
        samples.company(rng) for _ in range(6)
    )
    registrations = [
        samples.registration(rng, good, START, abnormal=False),
        samples.registration(rng, abnormal, START, abnormal=True),
        {**samples.registration(rng, inactive, START, abnormal=False), "status": "suspended"},
        samples.registration(rng, buyer, START, abnormal=False),
    ]
    cases = {
        "consistent": good,
        "payment_missing": good,
        "amount_mismatch": good,
        "payee_not_seller": good,
        "payer_not_buyer": good,
        "seller_abnormal": abnormal,
        "seller_unregistered": unregistered,
        "seller_inactive": inactive,
        "invoice_revoked": good,
        "verification_failed": good,
    }
    invoices = {code: samples.invoice(rng, seller, buyer, ISSUED) for code, seller in cases.items()}
    individual = samples.person(rng)
    payments = []
    for code, bill in invoices.items():
        if code == "payment_missing":
            continue
        paid = samples.payment_for(rng, bill, ISSUED)
        if code == "amount_mismatch":
            paid["amount"] = "1.00"
        elif code == "payee_not_seller":
            paid["payee"] = stranger.as_party()
        elif code == "payer_not_buyer":
            paid["payer"] = individual.as_buyer()
        payments.append(paid)
    orphan = samples.invoice(rng, good, buyer, ISSUED)
    payments.append(samples.payment_for(rng, orphan, ISSUED))

    codes = list(invoices)
    invoice_bundles = _anchor(
        client, consortium, "tax-bureau", INVOICE_ISSUED, list(invoices.values())
    )
    payment_bundles = _anchor(client, consortium, "bank", PAYMENT_SETTLED, payments)
    registration_bundles = _anchor(
        client, consortium, "market-regulator", REGISTRATION_STATUS, registrations
    )
    revoked = invoice_bundles[codes.index("invoice_revoked")]
    bureau = consortium.keys["tax-bureau"]
    client.revoke_leaf(
        bureau,
        client.sender(bureau),
        root=revoked.root,
        schema_id=revoked.schema_id,
        commitment=revoked.commitment,
        proof=revoked.proof,
        reason=b"\x01".rjust(32, b"\0"),
    )
    records = tmp_path_factory.mktemp("records")
    for folder, bundles in (
        ("invoices", invoice_bundles),
        ("payments", payment_bundles),
        ("registrations", registration_bundles),
    ):
        (records / folder).mkdir()
        for i, bundle in enumerate(bundles):
            if bundle is invoice_bundles[codes.index("verification_failed")]:
                bundle = dataclasses.replace(bundle, record={**bundle.record, "remarks": "改"})
            bundle.save(records / folder / f"{i:02d}.json")
    numbers = {code: bill["invoice_number"] for code, bill in invoices.items()}
    numbers["invoice_missing"] = orphan["invoice_number"]
    index_path = tmp_path_factory.mktemp("index") / "audit.sqlite"
    index = AuditIndex.create_or_open(index_path, consortium.deployment)
    report = run_audit(Rpc(w3), index, records=records)
    return Planted(
        w3, consortium, client, records, index_path, numbers, report, individual.resident_id
    )
