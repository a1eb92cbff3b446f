"""A ledger on the embedded chain with real anchored batches and single facts, made once per
session through the chain client (:mod:`ledger_node.anchoring`), and verifiers over it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from ledger_node.anchoring import anchor_records, attest_record
from ledger_node.audit.index import AuditIndex
from ledger_node.bundle import ProofBundle
from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.ledger import LedgerClient, Written
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.keys import LocalKey
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED, PAYMENT_SETTLED, SCHEMAS, TAX_RATING
from ledger_node.verify import Verifier
from ledger_node.verify.view import ChainView

CONSORTIUM_KEY = bytes(range(32))


@dataclass
class Ledger:
    """The session's ledger and the bundles written to it."""

    w3: Web3
    consortium: FoundedConsortium
    client: LedgerClient
    invoices: list[ProofBundle]  # one batch of three, by the tax bureau
    rating: ProofBundle  # a single fact, by the tax bureau
    revoked_leaf: ProofBundle  # a batch member whose leaf was revoked
    revoked_fact: ProofBundle  # a single fact revoked by its attester
    expiring: ProofBundle  # a single fact with an expiration
    after_rotation: ProofBundle  # anchored with the tax bureau's new key
    old_key: LocalKey  # the tax bureau's key before rotation
    copied_root: Written  # the bank's anchor of the invoices' root, under a payment schema
    copied_uid: Written  # the bank's attestation of the rating's commitment


def _rotate(ledger: LedgerClient, consortium: FoundedConsortium, new_key: LocalKey) -> None:
    """Rotate the tax bureau's key through a 3-of-4 proposal."""
    governance = Governance(ledger)
    senders = {name: ledger.sender(key) for name, key in consortium.keys.items()}
    proposal = governance.propose(senders["tax-bureau"], Action.rotate_key(1, new_key.address))
    governance.approve(senders["bank"], proposal)
    governance.approve(senders["market-regulator"], proposal)
    governance.execute(senders["auditor"], proposal)


@pytest.fixture(scope="session")
def chain() -> Ledger:
    w3 = connect()
    rpc = Rpc(w3)
    consortium = found_consortium(rpc)
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    bureau = consortium.keys["tax-bureau"]
    sender = client.sender(bureau)
    world = samples.scenario(7, companies=4, invoices=6)
    invoices = world.records[INVOICE_ISSUED]
    ratings = world.records[TAX_RATING]
    batch = anchor_records(
        client, bureau, sender, INVOICE_ISSUED, invoices[:3], consortium_key=CONSORTIUM_KEY
    )
    rating = attest_record(
        client, bureau, sender, TAX_RATING, ratings[0], consortium_key=CONSORTIUM_KEY
    )
    # Another member copies both writes, as it could while they were pending: the copies are
    # the bank's own writes and leave the bureau's standing.
    bank = consortium.keys["bank"]
    payment = SCHEMAS[PAYMENT_SETTLED].schema_id
    copied_root = client.anchor_batch(
        bank, client.sender(bank), schema_id=payment, root=batch[0].root, count=3
    )
    copied_uid = client.attest(bank, client.sender(bank), schema_id=payment, commitment=rating.root)
    doomed = anchor_records(
        client, bureau, sender, INVOICE_ISSUED, invoices[3:5], consortium_key=CONSORTIUM_KEY
    )
    client.revoke_leaf(
        bureau,
        sender,
        root=doomed[0].root,
        schema_id=doomed[0].schema_id,
        commitment=doomed[0].commitment,
        proof=doomed[0].proof,
        reason=b"\x01".rjust(32, b"\0"),
    )
    revoked_fact = attest_record(
        client, bureau, sender, TAX_RATING, ratings[1], consortium_key=CONSORTIUM_KEY
    )
    client.revoke(bureau, sender, uid=revoked_fact.root, reason=b"\x02".rjust(32, b"\0"))
    # Far enough ahead for the chain to accept it; tests move the verifier's clock past it.
    expiring = attest_record(
        client,
        bureau,
        sender,
        TAX_RATING,
        ratings[2],
        consortium_key=CONSORTIUM_KEY,
        expiration=4_000_000_000,
    )
    new_key = LocalKey.generate()
    _rotate(client, consortium, new_key)
    (after_rotation,) = anchor_records(
        client,
        new_key,
        client.sender(bureau),
        INVOICE_ISSUED,
        invoices[5:6],
        consortium_key=CONSORTIUM_KEY,
    )
    return Ledger(
        w3,
        consortium,
        client,
        batch,
        rating,
        doomed[0],
        revoked_fact,
        expiring,
        after_rotation,
        bureau,
        copied_root,
        copied_uid,
    )


@pytest.fixture(scope="session")
def synced_index(chain: Ledger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The path of an audit index synced with the session's ledger."""
    path = tmp_path_factory.mktemp("index") / "index.sqlite"
    index = AuditIndex.create_or_open(path, chain.consortium.deployment)
    index.sync(Rpc(chain.w3))
    index.close()
    yield path


@pytest.fixture(params=["chain", "chain-paged", "index"])
def verifier(request: pytest.FixtureRequest, chain: Ledger, synced_index: Path) -> Verifier:
    """A verifier over the live chain (reading logs in the default ranges, then in ranges of
    two blocks, as on a node with a tight log range limit) and over the synced index."""
    if request.param == "chain":
        return Verifier.from_chain(chain.client, chain.consortium.deployment)
    if request.param == "chain-paged":
        return Verifier(ChainView(chain.client, chain.consortium.deployment, page_size=2))
    return Verifier.from_index(AuditIndex.open(synced_index))
