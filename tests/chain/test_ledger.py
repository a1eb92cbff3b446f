"""The chain client's behaviour suite, run on the embedded chain and on a real anvil process."""

from __future__ import annotations

import threading
import time

import pytest

from ledger_node.chain import errors
from ledger_node.chain.deploy import FoundedConsortium
from ledger_node.chain.events import EventReader
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.ledger import LedgerClient
from ledger_node.commitment import leaf as make_leaf
from ledger_node.eip712 import AttestRequest, BatchRequest, LeafRevokeRequest, RevokeRequest
from ledger_node.hashing import keccak256
from ledger_node.keys import LocalKey
from ledger_node.merkle import MerkleTree
from ledger_node.records.schemas import INVOICE_ISSUED, PAYMENT_SETTLED, SCHEMAS, TAX_RATING

INVOICE = SCHEMAS[INVOICE_ISSUED].schema_id
PAYMENT = SCHEMAS[PAYMENT_SETTLED].schema_id
RATING = SCHEMAS[TAX_RATING].schema_id


def h(text: str) -> bytes:
    return keccak256(text.encode())


def test_onchain_typehashes_equal_the_offchain_type_strings(ledger: LedgerClient) -> None:
    for constant, request in (
        ("ATTEST_TYPEHASH", AttestRequest),
        ("ANCHOR_BATCH_TYPEHASH", BatchRequest),
        ("REVOKE_TYPEHASH", RevokeRequest),
        ("REVOKE_LEAF_TYPEHASH", LeafRevokeRequest),
    ):
        (onchain,) = ledger.call(f"{constant}()", [], ["bytes32"])
        assert onchain == keccak256(request.TYPE), constant
    assert ledger.domain_separator() == ledger.domain.separator


def test_founding_registers_members_schemas_and_threshold(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    deployment = consortium.deployment
    assert ledger.threshold() == deployment.threshold == 3
    names = [a.name for a in ledger.agencies()]
    assert names == ["tax-bureau", "bank", "market-regulator", "auditor"]
    for entry in deployment.schemas:
        found = ledger.schema(bytes.fromhex(entry.schema_id[2:]))
        assert found is not None and found[3] == entry.name
    record = ledger.key_record(consortium.keys["bank"].address)
    assert record is not None
    assert (record.agency_id, record.from_block, record.until_block) == (
        2,
        deployment.deployment_block,
        0,
    )


def test_attest_and_read_back_with_a_relayer_paying_gas(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    tax = consortium.keys["tax-bureau"]
    relayer = ledger.sender(consortium.deployer)  # pays gas; provenance stays with the tax key
    written = ledger.attest(
        tax,
        relayer,
        schema_id=RATING,
        commitment=h("rating"),
        subject=h("taxpayer"),
        expiration=int(time.time()) + 86_400,
    )
    assert written.signer == tax.address
    fact = ledger.fact(h("rating"))
    assert fact is not None
    assert (fact.agency_id, fact.schema_id, fact.attested_block) == (
        1,
        RATING,
        written.block_number,
    )
    assert fact.revoked_block == 0
    assert ledger.nonce(tax.address) == 1
    assert ledger.fact(h("unknown")) is None


def test_superseding_fact_must_be_own_and_same_schema(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    tax, bank = consortium.keys["tax-bureau"], consortium.keys["bank"]
    ledger.attest(tax, ledger.sender(tax), schema_id=RATING, commitment=h("2025"))
    ledger.attest(
        tax, ledger.sender(tax), schema_id=RATING, commitment=h("2025b"), ref_uid=h("2025")
    )
    with pytest.raises(errors.LedgerInvalidReference) as caught:
        ledger.attest(
            bank, ledger.sender(bank), schema_id=PAYMENT, commitment=h("p"), ref_uid=h("2025")
        )
    assert caught.value.refUID == h("2025")


def test_anchor_batch_and_revoke_one_leaf(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    tax = consortium.keys["tax-bureau"]
    leaves = [make_leaf(INVOICE, h(f"invoice {i}")) for i in range(5)]
    tree = MerkleTree(leaves)
    written = ledger.anchor_batch(
        tax, ledger.sender(tax), schema_id=INVOICE, root=tree.root, count=len(leaves)
    )
    batch = ledger.batch(tree.root)
    assert batch is not None
    assert (batch.agency_id, batch.schema_id, batch.count) == (1, INVOICE, 5)
    assert batch.anchored_block == written.block_number

    index = tree.index_of(leaves[3])
    revoked = ledger.revoke_leaf(
        tax,
        ledger.sender(tax),
        root=tree.root,
        leaf=leaves[3],
        proof=tree.proof(index),
        reason=h("red invoice"),
    )
    assert ledger.leaf_revoked_at(tree.root, leaves[3]) == revoked.block_number
    assert ledger.leaf_revoked_at(tree.root, leaves[2]) == 0
    with pytest.raises(errors.LedgerAlreadyRevoked):
        ledger.revoke_leaf(
            tax,
            ledger.sender(tax),
            root=tree.root,
            leaf=leaves[3],
            proof=tree.proof(index),
            reason=h("again"),
        )
    with pytest.raises(errors.LedgerLeafNotInBatch):
        ledger.revoke_leaf(
            tax,
            ledger.sender(tax),
            root=tree.root,
            leaf=h("stranger"),
            proof=tree.proof(0),
            reason=h("x"),
        )


def test_revoke_single_fact_only_by_its_attester(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    tax, bank = consortium.keys["tax-bureau"], consortium.keys["bank"]
    ledger.attest(tax, ledger.sender(tax), schema_id=RATING, commitment=h("r1"))
    with pytest.raises(errors.LedgerNotAttester) as caught:
        ledger.revoke(bank, ledger.sender(bank), uid=h("r1"), reason=h("no"))
    assert (caught.value.agencyId, caught.value.attesterId) == (2, 1)
    written = ledger.revoke(tax, ledger.sender(tax), uid=h("r1"), reason=h("corrected"))
    fact = ledger.fact(h("r1"))
    assert fact is not None and fact.revoked_block == written.block_number


def test_signature_failures_are_typed(ledger: LedgerClient, consortium: FoundedConsortium) -> None:
    tax, bank = consortium.keys["tax-bureau"], consortium.keys["bank"]
    stranger = LocalKey.generate()
    sender = ledger.sender(consortium.deployer)

    with pytest.raises(errors.LedgerUnknownSigner) as unknown:
        ledger.attest(stranger, sender, schema_id=RATING, commitment=h("a"))
    assert unknown.value.signer.lower() == stranger.address

    with pytest.raises(errors.LedgerKindNotAllowed) as kind:
        ledger.attest(bank, sender, schema_id=INVOICE, commitment=h("b"))
    assert (kind.value.agencyId, kind.value.schemaId) == (2, INVOICE)

    with pytest.raises(errors.LedgerInvalidNonce) as nonce:
        ledger.attest(tax, sender, schema_id=RATING, commitment=h("c"), nonce=7)
    assert (nonce.value.expected, nonce.value.given) == (0, 7)

    with pytest.raises(errors.LedgerSignatureExpired):
        ledger.attest(tax, sender, schema_id=RATING, commitment=h("d"), deadline=1)

    with pytest.raises(errors.LedgerUnknownSchema):
        ledger.attest(tax, sender, schema_id=h("no schema"), commitment=h("e"))

    ledger.anchor_batch(tax, sender, schema_id=INVOICE, root=h("root"), count=3)
    with pytest.raises(errors.LedgerDuplicateRoot) as duplicate:
        ledger.anchor_batch(tax, sender, schema_id=INVOICE, root=h("root"), count=3)
    assert duplicate.value.root == h("root")

    # A signature for another chain or contract recovers another address.
    other = LedgerClient(ledger.w3, ledger.address, chain_id=ledger.chain_id + 1)
    with pytest.raises(errors.LedgerUnknownSigner):
        ledger.submit(sender, other.prepare_anchor(tax, schema_id=INVOICE, root=h("r2"), count=1))


def test_mined_revert_is_decoded_at_its_block(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    """A transaction sent without preflight that reverts still yields the typed error."""
    tax = consortium.keys["tax-bureau"]
    sender = ledger.sender(tax)
    prepared = ledger.prepare_anchor(tax, schema_id=INVOICE, root=h("r"), count=0)
    (tx,) = ledger.send_prepared(sender, [prepared], gas=200_000)
    (receipt,) = sender.wait([tx])
    assert receipt.status == 0
    with pytest.raises(errors.LedgerEmptyBatch):
        ledger.raise_for_status(sender, tx, receipt, prepared.calldata)


def test_governance_rotation_is_historical(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    keys = consortium.keys
    tax, bank = keys["tax-bureau"], keys["bank"]
    gov = Governance(ledger)
    old = ledger.attest(tax, ledger.sender(tax), schema_id=RATING, commitment=h("before"))

    new_key = LocalKey.generate()
    pid = gov.propose(ledger.sender(bank), Action.rotate_key(1, new_key.address))
    with pytest.raises(errors.ConsortiumInsufficientApprovals) as short:
        gov.execute(ledger.sender(bank), pid)
    assert (short.value.approvals, short.value.threshold) == (1, 3)
    with pytest.raises(errors.ConsortiumAlreadyApproved):
        gov.approve(ledger.sender(bank), pid)
    gov.approve(ledger.sender(keys["market-regulator"]), pid)
    gov.approve(ledger.sender(keys["auditor"]), pid)
    events = gov.execute(ledger.sender(bank), pid)
    assert [e.name for e in events] == ["AgencyKeyRotated", "ProposalExecuted"]
    rotated_at = events[0].block_number
    assert gov.proposal(pid).executed

    with pytest.raises(errors.LedgerUnauthorizedSigner):
        ledger.attest(tax, ledger.sender(bank), schema_id=RATING, commitment=h("after"))
    # What the old key attested stays valid and provably so. A rotation takes effect from
    # the block after the one that executed it.
    assert ledger.authorized_at(tax.address, RATING, old.block_number) == (True, 1)
    assert ledger.authorized_at(tax.address, RATING, rotated_at) == (True, 1)
    assert ledger.authorized_at(tax.address, RATING, rotated_at + 1) == (False, 1)
    assert ledger.authorized_at(new_key.address, RATING, rotated_at + 1) == (True, 1)
    assert ledger.fact(h("before")) is not None
    record = ledger.key_record(tax.address)
    assert record is not None and record.until_block == rotated_at + 1

    from ledger_node.chain.deploy import fund_from_node

    fund_from_node(ledger.rpc, [new_key.address])
    ledger.attest(new_key, ledger.sender(new_key), schema_id=RATING, commitment=h("after"))


def test_suspension_blocks_writes_and_governance(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    keys = consortium.keys
    gov = Governance(ledger)
    pid = gov.propose(ledger.sender(keys["tax-bureau"]), Action.suspend(2))
    for name in ("market-regulator", "auditor"):
        gov.approve(ledger.sender(keys[name]), pid)
    gov.execute(ledger.sender(keys["auditor"]), pid)
    agency = ledger.agency(2)
    assert agency is not None and not agency.active
    bank = keys["bank"]
    with pytest.raises(errors.LedgerAgencySuspended):
        ledger.attest(bank, ledger.sender(bank), schema_id=PAYMENT, commitment=h("p"))
    with pytest.raises(errors.ConsortiumNotGovernor):
        gov.propose(ledger.sender(bank), Action.reinstate(2))
    history = ledger.status_history(2)
    assert [active for _, active in history] == [True, False]
    assert ledger.was_active_at(2, history[0][0]) and not ledger.was_active_at(2, history[1][0])


def test_event_reader_pages_and_respects_confirmations(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    tax = consortium.keys["tax-bureau"]
    sender = ledger.sender(tax)
    for i in range(4):
        ledger.anchor_batch(tax, sender, schema_id=INVOICE, root=h(f"page {i}"), count=1)
    start = consortium.deployment.deployment_block
    paged = EventReader(ledger.rpc, ledger.address, page_size=2)
    anchored = [e for e in paged.read(start) if e.name == "BatchAnchored"]
    assert [e.args["root"] for e in anchored] == [h(f"page {i}") for i in range(4)]
    assert all(e.args["signer"] == tax.address for e in anchored)
    head = ledger.block_number()
    cautious = EventReader(ledger.rpc, ledger.address, confirmations=2)
    assert cautious.final_block() == head - 2
    seen = [e for e in cautious.read(start) if e.name == "BatchAnchored"]
    assert [e.args["root"] for e in seen] == [h("page 0"), h("page 1")]


def test_nonce_manager_is_safe_under_concurrency(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    tax = consortium.keys["tax-bureau"]
    sender = ledger.sender(tax)
    sent: list[bytes] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for i in range(5):
            prepared = ledger.prepare_anchor(
                tax, schema_id=INVOICE, root=h(f"w{worker}-{i}"), count=1
            )
            (tx,) = ledger.send_prepared(sender, [prepared], gas=150_000)
            with lock:
                sent.append(tx.tx_hash)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    receipts = [sender.receipt(tx_hash) for tx_hash in sent]
    assert all(r is not None and r.status == 1 for r in receipts)
    for worker in range(4):
        for i in range(5):
            assert ledger.batch(h(f"w{worker}-{i}")) is not None


def test_resending_the_same_bytes_never_mines_twice(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    tax = consortium.keys["tax-bureau"]
    sender = ledger.sender(tax)
    prepared = ledger.prepare_anchor(tax, schema_id=INVOICE, root=h("once"), count=1)
    (tx,) = ledger.send_prepared(sender, [prepared], gas=150_000)
    sender.wait([tx])
    sender.submit([tx])  # a retry after an unknown outcome sends the identical bytes
    nonce_after = ledger.rpc.request("eth_getTransactionCount", [tax.address, "latest"])
    assert int(str(nonce_after), 0) == tx.nonce + 1
