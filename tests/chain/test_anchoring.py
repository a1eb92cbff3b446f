"""The write path (ledger_node.anchoring) on the embedded chain and a real anvil: a prepared
batch sends nothing; confirmation says whether the root is on chain as this agency signed
it (by this transaction, by an earlier one, not at all, or under another claim); bundles of
an anchored batch verify; and the node's identity reads in one round trip."""

from __future__ import annotations

import pytest

from ledger_node.anchoring import (
    AnchoredBatch,
    Verdict,
    agency_id_of,
    confirm_batch,
    prepare_batch,
)
from ledger_node.chain.deploy import FoundedConsortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.transactions import Sender
from ledger_node.commitment import CommittedRecord, commit_record
from ledger_node.keys import LocalKey
from ledger_node.merkle import MerkleTree
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS
from ledger_node.records.validation import validate
from ledger_node.verify.verifier import Verifier

INVOICE = SCHEMAS[INVOICE_ISSUED].schema_id
KEY = bytes(range(32))


def _committed(count: int, seed: int) -> list[CommittedRecord]:
    return [
        commit_record(validate(INVOICE_ISSUED, r))
        for r in samples.generate(INVOICE_ISSUED, count, seed=seed)
    ]


Agency = tuple[int, LocalKey, Sender]


@pytest.fixture
def tax(ledger: LedgerClient, consortium: FoundedConsortium) -> Agency:
    key = consortium.keys["tax-bureau"]
    return agency_id_of(ledger, key), key, ledger.sender(key)


def test_prepare_sends_nothing_and_confirm_names_the_anchoring_transaction(
    ledger: LedgerClient,
    consortium: FoundedConsortium,
    tax: tuple,  # type: ignore[type-arg]
) -> None:
    agency_id, key, sender = tax
    committed = _committed(5, seed=1)
    tree = MerkleTree([c.leaf for c in committed])
    nonce = sender.take_nonces(1)
    prepared = prepare_batch(
        ledger, agency_id, key, sender, schema_id=INVOICE, tree=tree, nonce=nonce
    )
    assert (prepared.root, prepared.request.count, prepared.transaction.nonce) == (
        tree.root, 5, nonce
    )  # fmt: skip
    assert ledger.batch(agency_id, tree.root) is None
    assert sender.receipts([prepared.transaction.tx_hash]) == [None]
    tx = prepared.transaction
    assert confirm_batch(ledger, agency_id, prepared.request, tx.tx_hash, None).verdict is (
        Verdict.ABSENT
    )

    sender.submit([tx])
    (receipt,) = sender.wait([tx])
    confirmed = confirm_batch(ledger, agency_id, prepared.request, tx.tx_hash, receipt)
    assert confirmed.verdict is Verdict.ANCHORED
    assert (confirmed.block_number, confirmed.tx_hash) == (receipt.block_number, tx.tx_hash)

    anchored = AnchoredBatch(
        ledger.chain_id, ledger.address, agency_id, key.address, prepared.request,
        prepared.signature, tx.tx_hash, receipt.block_number,
    )  # fmt: skip
    verifier = Verifier.from_chain(ledger, consortium.deployment)
    for c, proof in zip(committed, tree.all_proofs(), strict=True):
        verifier.verify(anchored.bundle_of(c, proof, KEY))


def test_a_second_signature_of_the_root_finds_the_first(
    ledger: LedgerClient,
    tax: tuple,  # type: ignore[type-arg]
) -> None:
    agency_id, key, sender = tax
    tree = MerkleTree([c.leaf for c in _committed(3, seed=2)])
    sent = []
    for deadline_offset in (0, 60):  # two signatures of one root, as after a re-sign
        prepared = prepare_batch(
            ledger, agency_id, key, sender, schema_id=INVOICE, tree=tree,
            nonce=sender.take_nonces(1), deadline=ledger.default_deadline() + deadline_offset,
        )  # fmt: skip
        sender.submit([prepared.transaction])
        sent.append(prepared)
    first, second = (sender.wait([p.transaction])[0] for p in sent)
    assert (first.status, second.status) == (1, 0)
    late = sent[1]
    confirmed = confirm_batch(ledger, agency_id, late.request, late.transaction.tx_hash, second)
    assert confirmed.verdict is Verdict.ANCHORED_BEFORE
    assert confirmed.tx_hash == sent[0].transaction.tx_hash
    assert confirmed.signature == sent[0].signature
    assert confirmed.request == sent[0].request
    assert confirmed.nonce == sent[0].transaction.nonce
    assert confirmed.block_number == first.block_number


def test_a_root_on_chain_under_another_count_is_not_this_batch(
    ledger: LedgerClient,
    tax: tuple,  # type: ignore[type-arg]
) -> None:
    agency_id, key, sender = tax
    tree = MerkleTree([c.leaf for c in _committed(4, seed=3)])
    # Someone holding the key anchors the root first, claiming another count.
    other = ledger.prepare_anchor(key, schema_id=INVOICE, root=tree.root, count=9)
    ledger.submit(sender, other)
    prepared = prepare_batch(
        ledger, agency_id, key, sender, schema_id=INVOICE, tree=tree, nonce=sender.take_nonces(1)
    )
    sender.submit([prepared.transaction])
    (receipt,) = sender.wait([prepared.transaction])
    confirmed = confirm_batch(
        ledger, agency_id, prepared.request, prepared.transaction.tx_hash, receipt
    )
    assert confirmed.verdict is Verdict.TAKEN
    assert confirmed.detail == (
        f"root 0x{tree.root.hex()} is on chain for agency {agency_id}, schema 0x{INVOICE.hex()}, "
        f"9 record(s); this batch is agency {agency_id}, schema 0x{INVOICE.hex()}, 4 record(s)"
    )


def test_identity_and_revert_reason(
    ledger: LedgerClient,
    consortium: FoundedConsortium,
    tax: tuple,  # type: ignore[type-arg]
) -> None:
    agency_id, key, sender = tax
    identity = ledger.identity()
    assert identity.chain_id == ledger.chain_id
    assert len(identity.genesis_hash) == 32
    assert identity.code_size > 1000
    assert identity.block_number >= consortium.deployment.deployment_block
    tree = MerkleTree([c.leaf for c in _committed(1, seed=4)])
    expired = prepare_batch(
        ledger, agency_id, key, sender, schema_id=INVOICE, tree=tree,
        nonce=sender.take_nonces(1), deadline=1,
    )  # fmt: skip
    sender.submit([expired.transaction])
    (receipt,) = sender.wait([expired.transaction])
    assert receipt.status == 0
    reason = ledger.revert_reason(sender, expired.transaction.tx_hash, receipt)
    assert reason.startswith("LedgerSignatureExpired")
