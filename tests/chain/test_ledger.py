"""The chain client's behaviour suite, run on the embedded chain and on a real anvil process."""

from __future__ import annotations

import threading
import time

import pytest

from ledger_node.agencies import AgencyKind
from ledger_node.chain import errors
from ledger_node.chain.deploy import FoundedConsortium
from ledger_node.chain.events import EventReader
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.transactions import SignedTransaction
from ledger_node.commitment import leaf as make_leaf
from ledger_node.eip712 import AttestRequest, BatchRequest, LeafRevokeRequest, RevokeRequest
from ledger_node.fieldtree import FieldPathError
from ledger_node.hashing import keccak256
from ledger_node.keys import EncryptionKey, LocalKey
from ledger_node.merkle import MerkleTree, node_hash, process_proof
from ledger_node.policy import DEFAULT_READ_POLICY, NO_ACCESS, ReadRule
from ledger_node.purposes import Purpose
from ledger_node.records.schemas import (
    INVOICE_ISSUED,
    PAYMENT_SETTLED,
    SCHEMAS,
    SCHEMAS_BY_ID,
    TAX_RATING,
)
from ledger_node.tagkeys import DEFAULT_TAG_DOMAINS, TAG_DOMAINS, key_commitment

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


def test_founding_registers_encryption_keys_read_policy_and_tag_keys(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    deployment = consortium.deployment
    founded = deployment.deployment_block
    for entry in deployment.agencies:
        public = consortium.encryption_keys[entry.name].public_key
        assert entry.encryption_key == "0x" + public.hex()
        agency = ledger.agency(entry.agency_id)
        assert agency is not None and agency.encryption_key == public
        history = ledger.encryption_key_history(entry.agency_id)
        assert [(c.from_block, c.encryption_key) for c in history] == [(founded, public)]
        assert ledger.encryption_key_at(entry.agency_id, founded - 1) is None
    # Every rule of the default table is in force from founding, and nothing else.
    for schema_id in ledger.schema_ids():
        name = SCHEMAS_BY_ID[schema_id].name
        for kind in AgencyKind:
            rule = ledger.read_rule_at(schema_id, kind, founded)
            expected = DEFAULT_READ_POLICY.get(name, {}).get(kind, NO_ACCESS)
            assert (rule.purpose_mask, rule.consent_required, rule.fields) == (
                expected.purpose_mask,
                expected.consent_required,
                expected.fields,
            ), (name, kind)
            assert rule.from_block == (founded if expected.purposes else 0)
    rating = ledger.read_rule_at(RATING, AgencyKind.BANK, founded)
    assert rating.allows(Purpose.CREDIT_ASSESSMENT) and not rating.allows(Purpose.AUDIT)
    assert rating.consent_required and rating.fields == "uscc,year,level"
    # One key version per default domain, its commitment that of the key kept in memory.
    assert ledger.tag_domains() == [d.domain_id for d in DEFAULT_TAG_DOMAINS]
    for domain in DEFAULT_TAG_DOMAINS:
        (version,) = ledger.tag_key_versions(domain.domain_id)
        assert version.version == 1 and version.from_block == founded
        assert set(version.holders) == domain.holders
        assert version.key_commitment == key_commitment(
            domain.domain_id, consortium.tag_keys[domain.name]
        )
        assert ledger.tag_key_at(domain.domain_id, founded) == version
        assert ledger.tag_key_at(domain.domain_id, founded - 1) is None


def _enact(ledger: LedgerClient, consortium: FoundedConsortium, action: Action) -> list[str]:
    """Pass ``action`` with three of the four agencies; the names of the events it emitted."""
    gov = Governance(ledger)
    keys = consortium.keys
    pid = gov.propose(ledger.sender(keys["tax-bureau"]), action)
    with pytest.raises(errors.ConsortiumInsufficientApprovals):
        gov.execute(ledger.sender(keys["bank"]), pid)
    gov.approve(ledger.sender(keys["bank"]), pid)
    gov.approve(ledger.sender(keys["auditor"]), pid)
    assert gov.proposal(pid).action == action
    return [e.name for e in gov.execute(ledger.sender(keys["bank"]), pid)]


def test_governance_rotates_an_encryption_key_from_the_next_block(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    old = consortium.encryption_keys["bank"].public_key
    new = EncryptionKey.generate().public_key
    assert _enact(ledger, consortium, Action.set_encryption_key(2, new)) == [
        "EncryptionKeySet",
        "ProposalExecuted",
    ]
    executed = ledger.block_number()
    assert ledger.encryption_key_at(2, executed) == old
    assert ledger.encryption_key_at(2, executed + 1) == new
    assert [c.encryption_key for c in ledger.encryption_key_history(2)] == [old, new]
    gov = Governance(ledger)
    with pytest.raises(errors.ConsortiumEncryptionKeyAlreadyUsed) as reused:
        gov.propose(ledger.sender(consortium.keys["bank"]), Action.set_encryption_key(2, old))
    assert reused.value.encryptionKey == old
    with pytest.raises(errors.ConsortiumZeroEncryptionKey):
        gov.propose(ledger.sender(consortium.keys["bank"]), Action.set_encryption_key(2, bytes(32)))


def test_governance_changes_the_read_policy_with_history(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    wider = ReadRule.of(Purpose.CREDIT_ASSESSMENT, fields="uscc,year,level,score", consent=True)
    _enact(ledger, consortium, Action.set_read_policy(RATING, AgencyKind.BANK, wider))
    executed = ledger.block_number()
    assert ledger.read_rule_at(RATING, AgencyKind.BANK, executed).fields == "uscc,year,level"
    assert ledger.read_rule_at(RATING, AgencyKind.BANK, executed + 1).fields == (
        "uscc,year,level,score"
    )
    _enact(ledger, consortium, Action.set_read_policy(RATING, AgencyKind.BANK, NO_ACCESS))
    history = ledger.read_rule_history(RATING, AgencyKind.BANK)
    assert [r.fields for r in history] == ["uscc,year,level", "uscc,year,level,score", ""]
    assert history[-1].purpose_mask == 0 and history[-1].from_block == ledger.block_number() + 1
    with pytest.raises(errors.ConsortiumUnknownSchema):
        Governance(ledger).propose(
            ledger.sender(consortium.keys["bank"]),
            Action.set_read_policy(h("no schema"), AgencyKind.BANK, wider),
        )


def test_a_read_rule_whose_fields_do_not_parse_is_never_proposed(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    before = ledger.read_rule_history(RATING, AgencyKind.BANK)
    for fields, wrong in (("uscc,year level", "'year level'"), ("level,", "is empty")):
        with pytest.raises(FieldPathError) as refused:
            Action.set_read_policy(
                RATING, AgencyKind.BANK, ReadRule.of(Purpose.CREDIT_ASSESSMENT, fields=fields)
            )
        assert wrong in str(refused.value)
    assert ledger.read_rule_history(RATING, AgencyKind.BANK) == before
    for fields in ("*", " * ", "uscc,items[].amount,items[0].rate"):
        rule = ReadRule.of(Purpose.CREDIT_ASSESSMENT, fields=fields)
        assert Action.set_read_policy(RATING, AgencyKind.BANK, rule).fields == fields


def test_governance_rotates_a_tag_key_keeping_old_versions(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    credit = TAG_DOMAINS["taxpayer-credit"]
    commitment = key_commitment(credit.domain_id, b"\x07" * 32)
    holders = (AgencyKind.TAX_BUREAU, AgencyKind.BANK)
    assert _enact(
        ledger, consortium, Action.register_tag_key(credit.domain_id, holders, commitment)
    ) == ["TagKeyRegistered", "ProposalExecuted"]
    executed = ledger.block_number()
    versions = ledger.tag_key_versions(credit.domain_id)
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].holders == holders and versions[1].from_block == executed + 1
    at_execution = ledger.tag_key_at(credit.domain_id, executed)
    assert at_execution is not None and at_execution.version == 1
    with pytest.raises(errors.ConsortiumTagKeyReused):
        Governance(ledger).propose(
            ledger.sender(consortium.keys["bank"]),
            Action.register_tag_key(credit.domain_id, holders, commitment),
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
    fact = ledger.fact(1, h("rating"))
    assert fact is not None
    assert (fact.agency_id, fact.schema_id, fact.attested_block) == (
        1,
        RATING,
        written.block_number,
    )
    assert fact.revoked_block == 0
    assert ledger.nonce(tax.address) == 1
    assert ledger.fact(1, h("unknown")) is None
    assert ledger.fact(2, h("rating")) is None


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
    commitments = [h(f"invoice {i}") for i in range(5)]
    leaves = [make_leaf(INVOICE, c) for c in commitments]
    tree = MerkleTree(leaves)
    written = ledger.anchor_batch(
        tax, ledger.sender(tax), schema_id=INVOICE, root=tree.root, count=len(leaves)
    )
    batch = ledger.batch(1, tree.root)
    assert batch is not None
    assert (batch.agency_id, batch.schema_id, batch.count) == (1, INVOICE, 5)
    assert batch.anchored_block == written.block_number
    assert ledger.batch(2, tree.root) is None

    index = tree.index_of(leaves[3])
    fields = {"root": tree.root, "schema_id": INVOICE, "commitment": commitments[3]}
    revoked = ledger.revoke_leaf(
        tax, ledger.sender(tax), **fields, proof=tree.proof(index), reason=h("red invoice")
    )
    assert ledger.leaf_revoked_at(1, tree.root, leaves[3]) == revoked.block_number
    assert ledger.leaf_revoked_at(1, tree.root, leaves[2]) == 0
    with pytest.raises(errors.LedgerAlreadyRevoked):
        ledger.revoke_leaf(
            tax, ledger.sender(tax), **fields, proof=tree.proof(index), reason=h("again")
        )
    with pytest.raises(errors.LedgerLeafNotInBatch) as stranger:
        ledger.revoke_leaf(
            tax,
            ledger.sender(tax),
            root=tree.root,
            schema_id=INVOICE,
            commitment=h("stranger"),
            proof=tree.proof(0),
            reason=h("x"),
        )
    assert stranger.value.leaf == make_leaf(INVOICE, h("stranger"))
    with pytest.raises(errors.LedgerSchemaMismatch) as mismatch:
        ledger.revoke_leaf(
            tax, ledger.sender(tax), **{**fields, "schema_id": RATING}, proof=[], reason=h("x")
        )
    assert (mismatch.value.batchSchemaId, mismatch.value.schemaId) == (INVOICE, RATING)


def test_an_inner_node_cannot_be_revoked(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    """The attack on revocation by leaf: the hash of two siblings, with the rest of the proof,
    reaches the root; named as a commitment it is hashed into a leaf the batch lacks."""
    tax = consortium.keys["tax-bureau"]
    leaves = [make_leaf(INVOICE, h(f"invoice {i}")) for i in range(4)]
    tree = MerkleTree(leaves)
    ledger.anchor_batch(tax, ledger.sender(tax), schema_id=INVOICE, root=tree.root, count=4)
    proof = tree.proof(0)
    inner = node_hash(leaves[0], proof[0])
    assert process_proof(inner, proof[1:]) == tree.root
    with pytest.raises(errors.LedgerLeafNotInBatch) as caught:
        ledger.revoke_leaf(
            tax,
            ledger.sender(tax),
            root=tree.root,
            schema_id=INVOICE,
            commitment=inner,
            proof=proof[1:],
            reason=h("attack"),
        )
    assert caught.value.leaf == make_leaf(INVOICE, inner)
    assert ledger.nonce(tax.address) == 0


def test_another_agency_cannot_block_or_take_a_write(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    """A bank anchors the tax bureau's pending root first, under a payment schema, and
    attests its pending rating's commitment first: both honest writes still go through."""
    tax, bank = consortium.keys["tax-bureau"], consortium.keys["bank"]
    root, rating = h("the bureau's batch"), h("the bureau's rating")
    honest = ledger.prepare_anchor(tax, schema_id=INVOICE, root=root, count=9)
    ledger.anchor_batch(bank, ledger.sender(bank), schema_id=PAYMENT, root=root, count=9)
    ledger.submit(ledger.sender(tax), honest)
    ledger.attest(bank, ledger.sender(bank), schema_id=PAYMENT, commitment=rating)
    ledger.attest(tax, ledger.sender(tax), schema_id=RATING, commitment=rating)
    ours, theirs = ledger.batch(1, root), ledger.batch(2, root)
    assert ours is not None and (ours.agency_id, ours.schema_id) == (1, INVOICE)
    assert theirs is not None and (theirs.agency_id, theirs.schema_id) == (2, PAYMENT)
    fact = ledger.fact(1, rating)
    assert fact is not None and fact.schema_id == RATING
    # Within one agency a value is still written once.
    with pytest.raises(errors.LedgerDuplicateRoot) as again:
        ledger.anchor_batch(tax, ledger.sender(tax), schema_id=RATING, root=root, count=1)
    assert (again.value.agencyId, again.value.root) == (1, root)


@pytest.mark.parametrize("w3", ["anvil"], indirect=True)
def test_write_gas_stays_within_budget(ledger: LedgerClient, consortium: FoundedConsortium) -> None:
    """``attest`` at most 80,000 gas and ``anchorBatch`` at most 100,000 on a real node (the
    benchmark prints the exact figures)."""
    tax = consortium.keys["tax-bureau"]
    sender = ledger.sender(tax)
    for i in range(2):
        attested = ledger.attest(
            tax, sender, schema_id=RATING, commitment=h(f"gas {i}"), subject=h("s")
        )
        assert attested.gas_used <= 80_000
    for count in (1, 4_096):
        anchored = ledger.anchor_batch(
            tax, sender, schema_id=INVOICE, root=h(f"gas root {count}"), count=count
        )
        assert anchored.gas_used <= 100_000


def test_revoke_single_fact_only_by_its_attester(
    ledger: LedgerClient, consortium: FoundedConsortium
) -> None:
    tax, bank = consortium.keys["tax-bureau"], consortium.keys["bank"]
    ledger.attest(tax, ledger.sender(tax), schema_id=RATING, commitment=h("r1"))
    with pytest.raises(errors.LedgerUnknownFact) as caught:
        ledger.revoke(bank, ledger.sender(bank), uid=h("r1"), reason=h("no"))
    assert (caught.value.agencyId, caught.value.uid) == (2, h("r1"))
    written = ledger.revoke(tax, ledger.sender(tax), uid=h("r1"), reason=h("corrected"))
    fact = ledger.fact(1, h("r1"))
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
    assert (duplicate.value.agencyId, duplicate.value.root) == (1, h("root"))

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
    assert ledger.fact(1, h("before")) is not None
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
    sent: list[SignedTransaction] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        for i in range(5):
            prepared = ledger.prepare_anchor(
                tax, schema_id=INVOICE, root=h(f"w{worker}-{i}"), count=1
            )
            (tx,) = ledger.send_prepared(sender, [prepared], gas=150_000)
            with lock:
                sent.append(tx)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A real node may receive the nonces out of order and mine a queued one only once the
    # gap before it is filled, so the receipts are waited for, not read at once.
    receipts = sender.wait(sent, timeout=60)
    assert all(r.status == 1 for r in receipts)
    assert sorted(tx.nonce for tx in sent) == list(range(20))  # each nonce exactly once
    for worker in range(4):
        for i in range(5):
            assert ledger.batch(1, h(f"w{worker}-{i}")) is not None


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
