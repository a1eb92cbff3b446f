// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

import {IConsortium} from "../../contracts/interfaces/IConsortium.sol";
import {ITaxLedger} from "../../contracts/interfaces/ITaxLedger.sol";

import {LedgerFixture} from "./utils/LedgerFixture.sol";
import {StandardMerkleTree} from "./utils/StandardMerkleTree.sol";

/// @notice Shared set-up of the ledger write tests: a second bank, so that "another agency of the
/// right kind" exists, and a small anchored batch.
abstract contract LedgerWriteFixture is LedgerFixture {
    uint256 internal constant SECOND_BANK_PK = uint256(keccak256("taxledger.test.key.second-bank"));
    uint32 internal constant SECOND_BANK_ID = 5;

    function _addSecondBank() internal {
        assertEq(
            _addAgency(IConsortium.AgencyKind.Bank, SECOND_BANK_PK, "Agricultural Bank"), SECOND_BANK_ID, "second bank"
        );
    }

    /// @dev The commitment of fact `i` of the batch labelled `label`.
    function _commitment(string memory label, uint256 i) internal pure returns (bytes32) {
        return keccak256(abi.encode(label, i));
    }

    /// @dev Anchors a tree of `count` facts of `schemaId` (commitments `_commitment(label, i)`)
    /// and returns the tree; its leaves are at the end of the array.
    function _anchorTree(uint256 privateKey, bytes32 schemaId, string memory label, uint256 count)
        internal
        returns (bytes32[] memory tree)
    {
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            leaves[i] = StandardMerkleTree.leafHash(schemaId, _commitment(label, i));
        }
        tree = StandardMerkleTree.build(leaves);
        _anchor(privateKey, schemaId, StandardMerkleTree.root(tree), uint32(count));
    }

    /// @dev The fact `uid` of agency `agencyId` as stored (all zero: the agency has none).
    function _assertFact(uint32 agencyId, bytes32 uid, uint32 schemaIndex, uint64 attestedBlock, uint64 revokedBlock)
        internal
        view
    {
        ITaxLedger.Fact memory fact = ledger.getFact(agencyId, uid);
        assertEq(fact.agencyId, attestedBlock == 0 ? 0 : agencyId, "fact agencyId");
        assertEq(fact.schemaIndex, schemaIndex, "fact schemaIndex");
        assertEq(fact.attestedBlock, attestedBlock, "fact attestedBlock");
        assertEq(fact.revokedBlock, revokedBlock, "fact revokedBlock");
    }

    /// @dev The batch `root` of agency `agencyId` as stored (all zero: the agency has none).
    function _assertBatch(uint32 agencyId, bytes32 root, uint32 schemaIndex, uint64 anchoredBlock, uint32 count)
        internal
        view
    {
        ITaxLedger.Batch memory batch = ledger.getBatch(agencyId, root);
        assertEq(batch.agencyId, anchoredBlock == 0 ? 0 : agencyId, "batch agencyId");
        assertEq(batch.schemaIndex, schemaIndex, "batch schemaIndex");
        assertEq(batch.anchoredBlock, anchoredBlock, "batch anchoredBlock");
        assertEq(batch.count, count, "batch count");
    }

    function _assertAuthorizedAt(address signer, bytes32 schemaId, uint64 blockNumber, bool expected, uint32 agencyId)
        internal
        view
    {
        (bool authorized, uint32 id) = ledger.authorizedAt(signer, schemaId, blockNumber);
        assertEq(authorized, expected, "authorizedAt");
        assertEq(id, agencyId, "authorizedAt agencyId");
    }
}

contract AttestTest is LedgerWriteFixture {
    bytes32 internal constant RATING = keccak256("rating 2024 A");

    function test_Attest_RecordsFactAndEmits() public {
        ITaxLedger.AttestRequest memory request = _attestRequest(TAX_BUREAU_PK, TAX_RATING, RATING);
        request.subject = keccak256("subject tag");
        request.expiration = uint64(block.timestamp + 365 days);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);

        vm.expectEmit(address(ledger));
        emit ITaxLedger.Attested(
            RATING, TAX_BUREAU_ID, request.subject, TAX_RATING, taxBureau, bytes32(0), request.expiration
        );
        vm.prank(relayer);
        bytes32 uid = ledger.attest(request, signature);

        assertEq(uid, RATING, "uid is the commitment");
        _assertFact(TAX_BUREAU_ID, uid, 4, uint64(block.number), 0);
        assertEq(ledger.getFact(TAX_BUREAU_ID, uid).expiration, request.expiration, "expiration");
        assertEq(ledger.nonces(taxBureau), 1, "nonce used");
        assertEq(ledger.nonces(relayer), 0, "relayer's nonce untouched");
    }

    function test_Attest_EachAgencyOnItsSchemas() public {
        _attest(TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("invoice"));
        _attest(BANK_PK, PAYMENT_SETTLED, keccak256("payment"));
        _attest(MARKET_REGULATOR_PK, REGISTRATION_STATUS, keccak256("registration"));
        _attest(TAX_BUREAU_PK, TAX_RATING, keccak256("rating"));
        _attest(BANK_PK, BANK_DECISION, keccak256("decision"));
        _attest(BANK_PK, NON_REVOCABLE, keccak256("non-revocable"));
        _assertFact(TAX_BUREAU_ID, keccak256("invoice"), 1, uint64(block.number), 0);
        _assertFact(BANK_ID, keccak256("payment"), 2, uint64(block.number), 0);
        _assertFact(MARKET_REGULATOR_ID, keccak256("registration"), 3, uint64(block.number), 0);
        _assertFact(TAX_BUREAU_ID, keccak256("rating"), 4, uint64(block.number), 0);
        _assertFact(BANK_ID, keccak256("decision"), 5, uint64(block.number), 0);
        _assertFact(BANK_ID, keccak256("non-revocable"), 6, uint64(block.number), 0);
        assertEq(ledger.nonces(taxBureau), 2, "tax bureau nonces");
        assertEq(ledger.nonces(bank), 3, "bank nonces");
    }

    function test_Attest_UnknownFactReadsAsZero() public view {
        _assertFact(TAX_BUREAU_ID, RATING, 0, 0, 0);
    }

    function test_Attest_RevertWhen_CommitmentZero() public {
        ITaxLedger.AttestRequest memory request = _attestRequest(TAX_BUREAU_PK, TAX_RATING, bytes32(0));
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerZeroHash.selector));
        ledger.attest(request, signature);
    }

    function test_Attest_RevertWhen_CommitmentDuplicate() public {
        _attest(TAX_BUREAU_PK, TAX_RATING, RATING);
        ITaxLedger.AttestRequest memory again = _attestRequest(TAX_BUREAU_PK, TAX_RATING, RATING);
        bytes memory signature = _sign(TAX_BUREAU_PK, again);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerDuplicateCommitment.selector, TAX_BUREAU_ID, RATING));
        ledger.attest(again, signature);
        // Within the agency a uid is taken under every schema.
        ITaxLedger.AttestRequest memory otherSchema = _attestRequest(TAX_BUREAU_PK, INVOICE_ISSUED, RATING);
        signature = _sign(TAX_BUREAU_PK, otherSchema);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerDuplicateCommitment.selector, TAX_BUREAU_ID, RATING));
        ledger.attest(otherSchema, signature);
    }

    function test_Attest_RevertWhen_SchemaUnknown() public {
        bytes32 unknown = keccak256("invoice.issued/v2");
        ITaxLedger.AttestRequest memory request = _attestRequest(TAX_BUREAU_PK, unknown, RATING);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownSchema.selector, unknown));
        ledger.attest(request, signature);
    }

    function test_Attest_ExpirationMustBeInFuture() public {
        uint64 nowTime = uint64(block.timestamp);
        uint64[2] memory invalid = [nowTime, nowTime - 1];
        for (uint256 i = 0; i < invalid.length; ++i) {
            ITaxLedger.AttestRequest memory request = _attestRequest(TAX_BUREAU_PK, TAX_RATING, RATING);
            request.expiration = invalid[i];
            bytes memory signature = _sign(TAX_BUREAU_PK, request);
            vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerInvalidExpiration.selector, invalid[i]));
            ledger.attest(request, signature);
        }
        ITaxLedger.AttestRequest memory valid = _attestRequest(TAX_BUREAU_PK, TAX_RATING, RATING);
        valid.expiration = nowTime + 1;
        _attest(TAX_BUREAU_PK, valid);
        assertEq(ledger.getFact(TAX_BUREAU_ID, RATING).expiration, nowTime + 1, "expires a second from now");
        // 0 means "never expires".
        _attest(TAX_BUREAU_PK, TAX_RATING, keccak256("forever"));
        assertEq(ledger.getFact(TAX_BUREAU_ID, keccak256("forever")).expiration, 0, "never expires");
    }

    function test_Attest_SupersedesOwnFactOfSameSchema() public {
        _attest(TAX_BUREAU_PK, TAX_RATING, RATING);
        uint64 firstBlock = uint64(block.number);
        _nextBlock();
        bytes32 corrected = keccak256("rating 2024 B");
        ITaxLedger.AttestRequest memory request = _attestRequest(TAX_BUREAU_PK, TAX_RATING, corrected);
        request.refUID = RATING;

        vm.expectEmit(address(ledger));
        emit ITaxLedger.Attested(corrected, TAX_BUREAU_ID, request.subject, TAX_RATING, taxBureau, RATING, 0);
        _attest(TAX_BUREAU_PK, request);

        // Supersession is a pointer for auditors; the old fact is not revoked by it.
        _assertFact(TAX_BUREAU_ID, RATING, 4, firstBlock, 0);
        _assertFact(TAX_BUREAU_ID, corrected, 4, uint64(block.number), 0);
    }

    function _assertInvalidReference(uint256 privateKey, bytes32 schemaId, bytes32 refUID) internal {
        ITaxLedger.AttestRequest memory request = _attestRequest(privateKey, schemaId, keccak256("superseding"));
        request.refUID = refUID;
        bytes memory signature = _sign(privateKey, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerInvalidReference.selector, refUID));
        ledger.attest(request, signature);
    }

    function test_Attest_RevertWhen_ReferenceUnknown() public {
        _assertInvalidReference(TAX_BUREAU_PK, TAX_RATING, keccak256("never attested"));
    }

    function test_Attest_RevertWhen_ReferenceIsBatchRoot() public {
        bytes32[] memory tree = _anchorTree(TAX_BUREAU_PK, TAX_RATING, "ratings", 2);
        _assertInvalidReference(TAX_BUREAU_PK, TAX_RATING, StandardMerkleTree.root(tree));
    }

    function test_Attest_RevertWhen_ReferenceOfOtherAgency() public {
        _addSecondBank();
        _attest(SECOND_BANK_PK, BANK_DECISION, keccak256("decision by the second bank"));
        _assertInvalidReference(BANK_PK, BANK_DECISION, keccak256("decision by the second bank"));
    }

    function test_Attest_RevertWhen_ReferenceOfOtherSchema() public {
        _attest(TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("invoice"));
        _assertInvalidReference(TAX_BUREAU_PK, TAX_RATING, keccak256("invoice"));
    }

    function test_Attest_ReferenceSurvivesKeyRotation() public {
        // The reference is checked by agency, not by key.
        _attest(TAX_BUREAU_PK, TAX_RATING, RATING);
        uint256 newKey = uint256(keccak256("taxledger.test.key.tax-bureau.2"));
        _rotateKey(TAX_BUREAU_ID, newKey);
        ITaxLedger.AttestRequest memory request = _attestRequest(newKey, TAX_RATING, keccak256("corrected"));
        request.refUID = RATING;
        _attest(newKey, request);
        assertEq(
            ledger.getFact(TAX_BUREAU_ID, keccak256("corrected")).agencyId, TAX_BUREAU_ID, "superseded by the same agency"
        );
    }
}

contract AnchorBatchTest is LedgerWriteFixture {
    bytes32 internal constant ROOT = keccak256("root of 1000 invoices");

    function test_AnchorBatch_RecordsBatchAndEmits() public {
        ITaxLedger.BatchRequest memory request = _batchRequest(INVOICE_ISSUED, ROOT, 1000);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectEmit(address(ledger));
        emit ITaxLedger.BatchAnchored(ROOT, INVOICE_ISSUED, TAX_BUREAU_ID, taxBureau, 1000);
        vm.prank(relayer);
        ledger.anchorBatch(request, signature);

        _assertBatch(TAX_BUREAU_ID, ROOT, 1, uint64(block.number), 1000);
        // A batch is replay-protected by its root, not by a nonce.
        assertEq(ledger.nonces(taxBureau), 0, "nonce untouched");
    }

    function test_AnchorBatch_UnknownRootReadsAsZero() public view {
        _assertBatch(TAX_BUREAU_ID, ROOT, 0, 0, 0);
    }

    function test_AnchorBatch_RevertWhen_RootZero() public {
        ITaxLedger.BatchRequest memory request = _batchRequest(INVOICE_ISSUED, bytes32(0), 10);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerZeroHash.selector));
        ledger.anchorBatch(request, signature);
    }

    function test_AnchorBatch_RevertWhen_Empty() public {
        ITaxLedger.BatchRequest memory request = _batchRequest(INVOICE_ISSUED, ROOT, 0);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerEmptyBatch.selector));
        ledger.anchorBatch(request, signature);
    }

    function test_AnchorBatch_RevertWhen_SchemaUnknown() public {
        bytes32 unknown = keccak256("payment.settled/v0");
        ITaxLedger.BatchRequest memory request = _batchRequest(unknown, ROOT, 10);
        bytes memory signature = _sign(BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownSchema.selector, unknown));
        ledger.anchorBatch(request, signature);
    }

    function test_AnchorBatch_RevertWhen_Replayed() public {
        ITaxLedger.BatchRequest memory request = _batchRequest(INVOICE_ISSUED, ROOT, 10);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        ledger.anchorBatch(request, signature);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerDuplicateRoot.selector, TAX_BUREAU_ID, ROOT));
        ledger.anchorBatch(request, signature);
    }

    function test_AnchorBatch_RevertWhen_RootDuplicate() public {
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, ROOT, 10);
        // Re-signed by the same agency with another count, or under another of its schemas.
        ITaxLedger.BatchRequest memory again = _batchRequest(INVOICE_ISSUED, ROOT, 11);
        bytes memory signature = _sign(TAX_BUREAU_PK, again);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerDuplicateRoot.selector, TAX_BUREAU_ID, ROOT));
        ledger.anchorBatch(again, signature);
        ITaxLedger.BatchRequest memory otherSchema = _batchRequest(TAX_RATING, ROOT, 10);
        signature = _sign(TAX_BUREAU_PK, otherSchema);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerDuplicateRoot.selector, TAX_BUREAU_ID, ROOT));
        ledger.anchorBatch(otherSchema, signature);
    }

    function test_AnchorBatch_RootAndFactUidsAreSeparate() public {
        // A root and a single fact live in separate maps; neither blocks the other.
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, ROOT, 10);
        _attest(TAX_BUREAU_PK, INVOICE_ISSUED, ROOT);
        assertEq(ledger.getFact(TAX_BUREAU_ID, ROOT).agencyId, TAX_BUREAU_ID, "fact");
        assertEq(ledger.getBatch(TAX_BUREAU_ID, ROOT).agencyId, TAX_BUREAU_ID, "batch");
    }
}

contract RevokeTest is LedgerWriteFixture {
    bytes32 internal constant PAYMENT = keccak256("payment 42");

    function setUp() public override {
        super.setUp();
        _attest(BANK_PK, PAYMENT_SETTLED, PAYMENT);
    }

    function test_Revoke_MarksFactAndEmits() public {
        uint64 attestedBlock = uint64(block.number);
        uint64 revokedBlock = _nextBlock();
        ITaxLedger.RevokeRequest memory request = _revokeRequest(BANK_PK, PAYMENT);
        bytes memory signature = _sign(BANK_PK, request);
        vm.expectEmit(address(ledger));
        emit ITaxLedger.Revoked(PAYMENT, BANK_ID, bank, request.reason);
        vm.prank(relayer);
        ledger.revoke(request, signature);

        _assertFact(BANK_ID, PAYMENT, 2, attestedBlock, revokedBlock);
        assertEq(ledger.nonces(bank), 2, "nonce used");
    }

    function test_Revoke_RevertWhen_FactUnknown() public {
        bytes32 unknown = keccak256("payment 43");
        ITaxLedger.RevokeRequest memory request = _revokeRequest(BANK_PK, unknown);
        bytes memory signature = _sign(BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownFact.selector, BANK_ID, unknown));
        ledger.revoke(request, signature);
    }

    function test_Revoke_RevertWhen_NotAttester() public {
        // Another agency's revocation looks among its own facts, where the uid is not.
        _addSecondBank();
        ITaxLedger.RevokeRequest memory request = _revokeRequest(SECOND_BANK_PK, PAYMENT);
        bytes memory signature = _sign(SECOND_BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownFact.selector, SECOND_BANK_ID, PAYMENT));
        ledger.revoke(request, signature);
        _assertFact(BANK_ID, PAYMENT, 2, uint64(START_BLOCK), 0);
    }

    function test_Revoke_RevertWhen_SchemaNotRevocable() public {
        bytes32 uid = _attest(BANK_PK, NON_REVOCABLE, keccak256("permanent"));
        ITaxLedger.RevokeRequest memory request = _revokeRequest(BANK_PK, uid);
        bytes memory signature = _sign(BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerNotRevocable.selector, NON_REVOCABLE));
        ledger.revoke(request, signature);
    }

    function test_Revoke_RevertWhen_AlreadyRevoked() public {
        _revoke(BANK_PK, PAYMENT);
        ITaxLedger.RevokeRequest memory request = _revokeRequest(BANK_PK, PAYMENT);
        bytes memory signature = _sign(BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerAlreadyRevoked.selector, PAYMENT));
        ledger.revoke(request, signature);
    }

    function test_Revoke_ByAgencyThroughItsNewKey() public {
        uint256 newKey = uint256(keccak256("taxledger.test.key.bank.2"));
        _rotateKey(BANK_ID, newKey);
        _revoke(newKey, PAYMENT);
        assertEq(ledger.getFact(BANK_ID, PAYMENT).revokedBlock, uint64(block.number), "revoked through the new key");
        assertEq(ledger.nonces(vm.addr(newKey)), 1, "the new key has its own nonces");
    }

    function test_Revoke_ExpiredOrSupersededFactStillRevocable() public {
        ITaxLedger.AttestRequest memory request = _attestRequest(BANK_PK, PAYMENT_SETTLED, keccak256("short-lived"));
        request.expiration = uint64(block.timestamp + 1);
        request.refUID = PAYMENT;
        _attest(BANK_PK, request);
        vm.warp(block.timestamp + 2);
        _revoke(BANK_PK, keccak256("short-lived"));
        _revoke(BANK_PK, PAYMENT);
        assertEq(ledger.getFact(BANK_ID, PAYMENT).revokedBlock, uint64(block.number), "superseded fact revoked");
    }
}

contract RevokeLeafTest is LedgerWriteFixture {
    bytes32[] internal tree;
    bytes32 internal root;
    bytes32 internal commitment;
    bytes32 internal leaf;

    function setUp() public override {
        super.setUp();
        tree = _anchorTree(TAX_BUREAU_PK, INVOICE_ISSUED, "invoices", 3);
        root = StandardMerkleTree.root(tree);
        commitment = _commitment("invoices", 0);
        leaf = StandardMerkleTree.leafHash(INVOICE_ISSUED, commitment);
    }

    function _proof(bytes32 aLeaf) internal view returns (bytes32[] memory) {
        return StandardMerkleTree.proof(tree, aLeaf);
    }

    function test_RevokeLeaf_MarksLeafAndEmits() public {
        uint64 revokedBlock = _nextBlock();
        ITaxLedger.LeafRevokeRequest memory request =
            _leafRevokeRequest(TAX_BUREAU_PK, root, INVOICE_ISSUED, commitment);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectEmit(address(ledger));
        emit ITaxLedger.LeafRevoked(root, leaf, TAX_BUREAU_ID, taxBureau, request.reason);
        vm.prank(relayer);
        ledger.revokeLeaf(request, _proof(leaf), signature);

        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, root, leaf), revokedBlock, "leaf revoked");
        bytes32 sibling = StandardMerkleTree.leafHash(INVOICE_ISSUED, _commitment("invoices", 1));
        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, root, sibling), 0, "sibling untouched");
        assertEq(ledger.getBatch(TAX_BUREAU_ID, root).count, 3, "batch untouched");
        assertEq(ledger.nonces(taxBureau), 1, "nonce used");
    }

    function test_RevokeLeaf_RevertWhen_BatchUnknown() public {
        bytes32 unknown = keccak256("unknown root");
        ITaxLedger.LeafRevokeRequest memory request =
            _leafRevokeRequest(TAX_BUREAU_PK, unknown, INVOICE_ISSUED, commitment);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownBatch.selector, TAX_BUREAU_ID, unknown));
        ledger.revokeLeaf(request, _proof(leaf), signature);
    }

    function test_RevokeLeaf_RevertWhen_NotAttester() public {
        // Another agency's revocation looks among its own batches, where the root is not.
        _addSecondBank();
        bytes32[] memory paymentTree = _anchorTree(BANK_PK, PAYMENT_SETTLED, "payments", 2);
        bytes32 paymentRoot = StandardMerkleTree.root(paymentTree);
        bytes32 payment = _commitment("payments", 1);
        bytes32 paymentLeaf = StandardMerkleTree.leafHash(PAYMENT_SETTLED, payment);
        ITaxLedger.LeafRevokeRequest memory request =
            _leafRevokeRequest(SECOND_BANK_PK, paymentRoot, PAYMENT_SETTLED, payment);
        bytes memory signature = _sign(SECOND_BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownBatch.selector, SECOND_BANK_ID, paymentRoot));
        ledger.revokeLeaf(request, StandardMerkleTree.proof(paymentTree, paymentLeaf), signature);
    }

    function test_RevokeLeaf_RevertWhen_SchemaNotRevocable() public {
        bytes32[] memory permanent = _anchorTree(TAX_BUREAU_PK, NON_REVOCABLE, "permanent", 2);
        bytes32 permanentRoot = StandardMerkleTree.root(permanent);
        bytes32 fact = _commitment("permanent", 1);
        ITaxLedger.LeafRevokeRequest memory request =
            _leafRevokeRequest(TAX_BUREAU_PK, permanentRoot, NON_REVOCABLE, fact);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerNotRevocable.selector, NON_REVOCABLE));
        ledger.revokeLeaf(
            request, StandardMerkleTree.proof(permanent, StandardMerkleTree.leafHash(NON_REVOCABLE, fact)), signature
        );
    }

    function test_RevokeLeaf_RevertWhen_AlreadyRevoked() public {
        _revokeLeaf(TAX_BUREAU_PK, root, INVOICE_ISSUED, commitment, _proof(leaf));
        ITaxLedger.LeafRevokeRequest memory request =
            _leafRevokeRequest(TAX_BUREAU_PK, root, INVOICE_ISSUED, commitment);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerAlreadyRevoked.selector, leaf));
        ledger.revokeLeaf(request, _proof(leaf), signature);
    }

    function test_RevokeLeaf_RevertWhen_SchemaIsNotTheBatchs() public {
        // The same commitment under another schema names another fact, which this batch lacks.
        ITaxLedger.LeafRevokeRequest memory request = _leafRevokeRequest(TAX_BUREAU_PK, root, TAX_RATING, commitment);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(
            abi.encodeWithSelector(ITaxLedger.LedgerSchemaMismatch.selector, root, INVOICE_ISSUED, TAX_RATING)
        );
        ledger.revokeLeaf(request, _proof(leaf), signature);
    }

    function _assertNotInBatch(bytes32 aCommitment, bytes32[] memory proof) internal {
        ITaxLedger.LeafRevokeRequest memory request =
            _leafRevokeRequest(TAX_BUREAU_PK, root, INVOICE_ISSUED, aCommitment);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        bytes32 computed = StandardMerkleTree.leafHash(INVOICE_ISSUED, aCommitment);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerLeafNotInBatch.selector, root, computed));
        ledger.revokeLeaf(request, proof, signature);
    }

    function test_RevokeLeaf_RevertWhen_LeafNotInBatch() public {
        bytes32[] memory proof = _proof(leaf);
        // A fact of another batch, with a member's proof.
        _assertNotInBatch(keccak256("elsewhere"), proof);
        // A member with another member's proof, with no proof, and with a corrupted proof.
        bytes32 sibling = StandardMerkleTree.leafHash(INVOICE_ISSUED, _commitment("invoices", 1));
        _assertNotInBatch(commitment, _proof(sibling));
        _assertNotInBatch(commitment, new bytes32[](0));
        proof[0] = bytes32(uint256(proof[0]) ^ 1);
        _assertNotInBatch(commitment, proof);
        assertEq(ledger.nonces(taxBureau), 0, "failed revocations use no nonce");
    }

    /// @dev The attack that a revocation by leaf allowed: revoking an inner node (the hash of two
    /// siblings) with the rest of a proof. The node with that proof does reach the root, but
    /// named as a commitment it is hashed into a leaf, which the batch does not hold.
    function test_RevokeLeaf_RevertWhen_InnerNodeGiven() public {
        // Three leaves: node 1 is the inner node over leaves 3 and 4, its sibling leaf 2.
        bytes32 inner = tree[1];
        bytes32[] memory rest = StandardMerkleTree.proofAt(tree, 1);
        assertEq(rest.length, 1, "one step from the inner node to the root");
        assertEq(Hashes.commutativeKeccak256(inner, rest[0]), root, "the inner node reaches the root");
        _assertNotInBatch(inner, rest);
        for (uint256 i = 2; i < tree.length; ++i) {
            assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, root, tree[i]), 0, "every real leaf unrevoked");
        }
        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, root, inner), 0, "the inner node unrevoked");
        assertEq(ledger.nonces(taxBureau), 0, "no nonce used");
    }

    /// @dev Every inner node of a fuzzed batch, with the rest of its proof, is refused.
    function testFuzz_RevokeLeaf_RefusesEveryInnerNode(uint256 seed, uint256 sizeSeed) public {
        uint256 size = bound(sizeSeed, 2, 16);
        bytes32[] memory leaves = new bytes32[](size);
        for (uint256 i = 0; i < size; ++i) {
            leaves[i] = StandardMerkleTree.leafHash(INVOICE_ISSUED, keccak256(abi.encode(seed, i)));
        }
        bytes32[] memory fuzzed = StandardMerkleTree.build(leaves);
        bytes32 fuzzedRoot = StandardMerkleTree.root(fuzzed);
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, fuzzedRoot, uint32(size));
        // Inner nodes are at 1 .. size - 2 (0 is the root, the leaves follow).
        for (uint256 node = 1; node < size - 1; ++node) {
            ITaxLedger.LeafRevokeRequest memory request =
                _leafRevokeRequest(TAX_BUREAU_PK, fuzzedRoot, INVOICE_ISSUED, fuzzed[node]);
            bytes memory signature = _sign(TAX_BUREAU_PK, request);
            bytes32 computed = StandardMerkleTree.leafHash(INVOICE_ISSUED, fuzzed[node]);
            vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerLeafNotInBatch.selector, fuzzedRoot, computed));
            ledger.revokeLeaf(request, StandardMerkleTree.proofAt(fuzzed, node), signature);
        }
    }
}

/// @notice Facts and batches belong to the agency that wrote them. A member that sees another
/// agency's write pending could once write the same root or commitment first, under its own key
/// and even under another schema, so that the honest write reverted as a duplicate and the thief
/// held the root. Now the honest write goes through, each agency keeps its own record, and
/// neither can revoke or supersede the other's.
contract AgencyScopingTest is LedgerWriteFixture {
    bytes32[] internal invoices;
    bytes32 internal root;

    function setUp() public override {
        super.setUp();
        bytes32[] memory leaves = new bytes32[](3);
        for (uint256 i = 0; i < leaves.length; ++i) {
            leaves[i] = StandardMerkleTree.leafHash(INVOICE_ISSUED, _commitment("invoices", i));
        }
        invoices = StandardMerkleTree.build(leaves);
        root = StandardMerkleTree.root(invoices);
    }

    function test_FrontRunRoot_UnderAnotherSchema_DoesNotBlockTheVictim() public {
        // The tax bureau's request is signed and pending; the bank sees its root and anchors it
        // first, under its own key and a payment schema.
        ITaxLedger.BatchRequest memory victim = _batchRequest(INVOICE_ISSUED, root, 3);
        bytes memory victimSignature = _sign(TAX_BUREAU_PK, victim);
        _anchor(BANK_PK, PAYMENT_SETTLED, root, 3);

        vm.expectEmit(address(ledger));
        emit ITaxLedger.BatchAnchored(root, INVOICE_ISSUED, TAX_BUREAU_ID, taxBureau, 3);
        vm.prank(relayer);
        ledger.anchorBatch(victim, victimSignature);

        _assertBatch(TAX_BUREAU_ID, root, 1, uint64(block.number), 3);
        _assertBatch(BANK_ID, root, 2, uint64(block.number), 3);
    }

    function test_FrontRunRoot_UnderTheSameSchema_DoesNotBlockTheVictim() public {
        _addSecondBank();
        bytes32[] memory payments = _treeOf(PAYMENT_SETTLED, "payments", 2);
        bytes32 paymentRoot = StandardMerkleTree.root(payments);
        _anchor(SECOND_BANK_PK, PAYMENT_SETTLED, paymentRoot, 2);
        _anchor(BANK_PK, PAYMENT_SETTLED, paymentRoot, 2);
        _assertBatch(BANK_ID, paymentRoot, 2, uint64(block.number), 2);
        _assertBatch(SECOND_BANK_ID, paymentRoot, 2, uint64(block.number), 2);
    }

    function test_FrontRunRoot_ThiefCannotRevokeTheVictimsLeaves() public {
        _anchor(BANK_PK, PAYMENT_SETTLED, root, 3);
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, root, 3);
        bytes32 commitment = _commitment("invoices", 1);
        bytes32 leaf = StandardMerkleTree.leafHash(INVOICE_ISSUED, commitment);
        bytes32[] memory proof = StandardMerkleTree.proof(invoices, leaf);

        // Under the victim's schema: the thief's batch of that root is of another schema.
        ITaxLedger.LeafRevokeRequest memory asVictim = _leafRevokeRequest(BANK_PK, root, INVOICE_ISSUED, commitment);
        bytes memory signature = _sign(BANK_PK, asVictim);
        vm.expectRevert(
            abi.encodeWithSelector(ITaxLedger.LedgerSchemaMismatch.selector, root, PAYMENT_SETTLED, INVOICE_ISSUED)
        );
        ledger.revokeLeaf(asVictim, proof, signature);
        // Under its own schema: that leaf is not in the tree.
        ITaxLedger.LeafRevokeRequest memory asThief = _leafRevokeRequest(BANK_PK, root, PAYMENT_SETTLED, commitment);
        signature = _sign(BANK_PK, asThief);
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaxLedger.LedgerLeafNotInBatch.selector,
                root,
                StandardMerkleTree.leafHash(PAYMENT_SETTLED, commitment)
            )
        );
        ledger.revokeLeaf(asThief, proof, signature);
        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, root, leaf), 0, "the victim's leaf stands");

        // The victim revokes its own leaf; the thief's record of the root is untouched.
        _revokeLeaf(TAX_BUREAU_PK, root, INVOICE_ISSUED, commitment, proof);
        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, root, leaf), uint64(block.number), "revoked by the victim");
        assertEq(ledger.leafRevokedAt(BANK_ID, root, leaf), 0, "not in the thief's record");
    }

    function test_FrontRunCommitment_UnderAnotherSchema_DoesNotBlockTheVictim() public {
        bytes32 rating = keccak256("rating 2025 A");
        ITaxLedger.AttestRequest memory victim = _attestRequest(TAX_BUREAU_PK, TAX_RATING, rating);
        bytes memory victimSignature = _sign(TAX_BUREAU_PK, victim);
        _attest(BANK_PK, BANK_DECISION, rating);

        vm.prank(relayer);
        assertEq(ledger.attest(victim, victimSignature), rating, "the victim's fact");
        _assertFact(TAX_BUREAU_ID, rating, 4, uint64(block.number), 0);
        _assertFact(BANK_ID, rating, 5, uint64(block.number), 0);

        // The thief's revocation of that uid revokes its own fact, never the victim's.
        _revoke(BANK_PK, rating);
        _assertFact(BANK_ID, rating, 5, uint64(block.number), uint64(block.number));
        _assertFact(TAX_BUREAU_ID, rating, 4, uint64(block.number), 0);
    }

    /// @dev A tree of `count` facts of `schemaId`, not anchored.
    function _treeOf(bytes32 schemaId, string memory label, uint256 count)
        internal
        pure
        returns (bytes32[] memory)
    {
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            leaves[i] = StandardMerkleTree.leafHash(schemaId, _commitment(label, i));
        }
        return StandardMerkleTree.build(leaves);
    }
}

/// @notice Authorisation is historical: rotation and suspension stop new writes by a key but never
/// change what it wrote or what `authorizedAt` says about the blocks in which it was valid. Every
/// membership change takes effect from the block after the one that executed it: within the
/// executing block the old membership still holds, for writes and for `authorizedAt` alike.
contract HistoricalAuthorizationTest is LedgerWriteFixture {
    uint256 internal constant NEW_TAX_BUREAU_PK = uint256(keccak256("taxledger.test.key.tax-bureau.2"));
    bytes32 internal constant INVOICE = keccak256("invoice 1");
    bytes32 internal constant ROOT = keccak256("invoice batch 1");

    uint64 internal writtenBlock;

    function setUp() public override {
        super.setUp();
        writtenBlock = _nextBlock();
        _attest(TAX_BUREAU_PK, INVOICE_ISSUED, INVOICE);
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, ROOT, 100);
    }

    function _assertEarlierWritesIntact() internal view {
        _assertFact(TAX_BUREAU_ID, INVOICE, 1, writtenBlock, 0);
        _assertBatch(TAX_BUREAU_ID, ROOT, 1, writtenBlock, 100);
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, writtenBlock, true, TAX_BUREAU_ID);
    }

    function _expectAttestReverts(uint256 privateKey, bytes32 schemaId, bytes32 commitment, bytes memory err)
        internal
    {
        ITaxLedger.AttestRequest memory request = _attestRequest(privateKey, schemaId, commitment);
        bytes memory signature = _sign(privateKey, request);
        vm.expectRevert(err);
        ledger.attest(request, signature);
    }

    function test_Rotation_OldKeyWritesThroughTheExecutingBlock_NewKeyFromTheNext() public {
        address newKey = vm.addr(NEW_TAX_BUREAU_PK);
        uint64 executed = _nextBlock();
        _enact(_rotateKeyAction(TAX_BUREAU_ID, newKey));

        // The executing block: the old key still writes, the new one not yet.
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, executed, true, TAX_BUREAU_ID);
        _assertAuthorizedAt(newKey, INVOICE_ISSUED, executed, false, TAX_BUREAU_ID);
        _attest(TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("old key, executing block"));
        _assertFact(TAX_BUREAU_ID, keccak256("old key, executing block"), 1, executed, 0);
        _expectAttestReverts(
            NEW_TAX_BUREAU_PK,
            INVOICE_ISSUED,
            keccak256("new key, executing block"),
            abi.encodeWithSelector(ITaxLedger.LedgerUnauthorizedSigner.selector, newKey)
        );

        // The next block: the other way round.
        uint64 next = _nextBlock();
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, next, false, TAX_BUREAU_ID);
        _assertAuthorizedAt(newKey, INVOICE_ISSUED, next, true, TAX_BUREAU_ID);
        _expectAttestReverts(
            TAX_BUREAU_PK,
            INVOICE_ISSUED,
            keccak256("old key, next block"),
            abi.encodeWithSelector(ITaxLedger.LedgerUnauthorizedSigner.selector, taxBureau)
        );
        _attest(NEW_TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("new key, next block"));
        _assertFact(TAX_BUREAU_ID, keccak256("new key, next block"), 1, next, 0);

        // What each key could do in each block stays on record.
        _nextBlock();
        _assertEarlierWritesIntact();
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, executed, true, TAX_BUREAU_ID);
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, next, false, TAX_BUREAU_ID);
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, uint64(block.number), false, TAX_BUREAU_ID);
        _assertAuthorizedAt(newKey, INVOICE_ISSUED, writtenBlock, false, TAX_BUREAU_ID);
        _assertAuthorizedAt(newKey, INVOICE_ISSUED, executed, false, TAX_BUREAU_ID);
        _assertAuthorizedAt(newKey, INVOICE_ISSUED, next, true, TAX_BUREAU_ID);
        _assertAuthorizedAt(newKey, INVOICE_ISSUED, type(uint64).max, true, TAX_BUREAU_ID);
    }

    function test_Suspension_AgencyWritesThroughTheExecutingBlock() public {
        uint64 executed = _nextBlock();
        _enact(_suspendAction(TAX_BUREAU_ID));

        // The executing block: the agency still writes.
        assertTrue(ledger.wasActiveAt(TAX_BUREAU_ID, executed), "active in the executing block");
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, executed, true, TAX_BUREAU_ID);
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("batch 2"), 5);
        _assertBatch(TAX_BUREAU_ID, keccak256("batch 2"), 1, executed, 5);

        // The next block: it does not.
        uint64 next = _nextBlock();
        assertFalse(ledger.wasActiveAt(TAX_BUREAU_ID, next), "suspended from the next block");
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, next, false, TAX_BUREAU_ID);
        ITaxLedger.BatchRequest memory request = _batchRequest(INVOICE_ISSUED, keccak256("batch 3"), 5);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, TAX_BUREAU_ID));
        ledger.anchorBatch(request, signature);

        _assertEarlierWritesIntact();
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, executed, true, TAX_BUREAU_ID);
    }

    function test_Reinstatement_AgencyWritesFromTheNextBlock() public {
        _suspend(TAX_BUREAU_ID);
        uint64 executed = _nextBlock();
        _enact(_reinstateAction(TAX_BUREAU_ID));

        // The executing block: the agency is still suspended.
        ITaxLedger.BatchRequest memory request = _batchRequest(INVOICE_ISSUED, keccak256("batch 2"), 5);
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        assertFalse(ledger.wasActiveAt(TAX_BUREAU_ID, executed), "suspended in the executing block");
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, executed, false, TAX_BUREAU_ID);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, TAX_BUREAU_ID));
        ledger.anchorBatch(request, signature);

        // The next block: the same signed request goes through.
        uint64 next = _nextBlock();
        assertTrue(ledger.wasActiveAt(TAX_BUREAU_ID, next), "active from the next block");
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, next, true, TAX_BUREAU_ID);
        ledger.anchorBatch(request, signature);
        _assertBatch(TAX_BUREAU_ID, keccak256("batch 2"), 1, next, 5);

        _assertEarlierWritesIntact();
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, executed, false, TAX_BUREAU_ID);
    }

    function test_AddedAgency_WritesFromTheNextBlock() public {
        address secondBank = vm.addr(SECOND_BANK_PK);
        uint64 executed = _nextBlock();
        _enact(_addAgencyAction(IConsortium.AgencyKind.Bank, secondBank, "Agricultural Bank"));

        // The executing block: its key is known but not valid yet.
        assertFalse(ledger.wasActiveAt(SECOND_BANK_ID, executed), "not active in the executing block");
        _assertAuthorizedAt(secondBank, PAYMENT_SETTLED, executed, false, SECOND_BANK_ID);
        _expectAttestReverts(
            SECOND_BANK_PK,
            PAYMENT_SETTLED,
            keccak256("payment, executing block"),
            abi.encodeWithSelector(ITaxLedger.LedgerUnauthorizedSigner.selector, secondBank)
        );

        uint64 next = _nextBlock();
        assertTrue(ledger.wasActiveAt(SECOND_BANK_ID, next), "active from the next block");
        _assertAuthorizedAt(secondBank, PAYMENT_SETTLED, next, true, SECOND_BANK_ID);
        _attest(SECOND_BANK_PK, PAYMENT_SETTLED, keccak256("payment, next block"));
        _assertFact(SECOND_BANK_ID, keccak256("payment, next block"), 2, next, 0);
        _assertAuthorizedAt(secondBank, PAYMENT_SETTLED, executed - 1, false, SECOND_BANK_ID);
        _assertAuthorizedAt(secondBank, PAYMENT_SETTLED, executed, false, SECOND_BANK_ID);
    }

    function test_AuthorizedAt_EdgeCases() public view {
        _assertAuthorizedAt(stranger, INVOICE_ISSUED, writtenBlock, false, 0);
        _assertAuthorizedAt(bank, INVOICE_ISSUED, writtenBlock, false, BANK_ID);
        _assertAuthorizedAt(auditor, INVOICE_ISSUED, writtenBlock, false, AUDITOR_ID);
        _assertAuthorizedAt(taxBureau, keccak256("unknown/v1"), writtenBlock, false, TAX_BUREAU_ID);
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, uint64(START_BLOCK) - 1, false, TAX_BUREAU_ID);
        _assertAuthorizedAt(taxBureau, INVOICE_ISSUED, uint64(START_BLOCK), true, TAX_BUREAU_ID);
        _assertAuthorizedAt(taxBureau, TAX_RATING, writtenBlock, true, TAX_BUREAU_ID);
        _assertAuthorizedAt(taxBureau, NON_REVOCABLE, writtenBlock, true, TAX_BUREAU_ID);
        _assertAuthorizedAt(bank, NON_REVOCABLE, writtenBlock, true, BANK_ID);
        _assertAuthorizedAt(marketRegulator, REGISTRATION_STATUS, writtenBlock, true, MARKET_REGULATOR_ID);
    }

}

/// @notice `authorizedAt(signer, schema, block.number)`, read just before a write, says whether
/// the write goes through, and keeps saying so for that block ever after: over random sequences
/// of governance actions (several to a block at times) and writes before, between and after them.
/// So two writes in one block are judged alike, whatever governance executed between them.
contract AuthorizationFuzzTest is LedgerWriteFixture {
    uint256 internal constant STEPS = 12;
    // At most two governance actions per step and one after the last, each adding at most one
    // key to the five the run starts with.
    uint256 internal constant MAX_KEYS = 5 + 2 * STEPS + 1;
    // One write before each step's governance actions and one after each.
    uint256 internal constant MAX_WRITES = 3 * STEPS;
    uint32 internal constant BATCH_SIZE = 10;

    enum WriteKind {
        Attest,
        AnchorBatch,
        Revoke
    }

    struct Write {
        WriteKind kind;
        uint256 key;
        bytes32 schemaId;
        // The fact attested or revoked, or the root anchored.
        bytes32 uid;
        uint64 blockNumber;
        // What `authorizedAt` said just before the write.
        bool authorized;
        uint32 agencyId;
        bool succeeded;
    }

    /// @dev The state of one fuzz run, in memory.
    struct Run {
        uint256 seed;
        uint256 draws;
        // Every key the run knows, by index: the founders', the stranger's, then each one
        // governance gave out; with its address and the agency it went to (0: the stranger's).
        uint256[] privateKeys;
        address[] addrs;
        uint32[] keyAgency;
        uint256 keyCount;
        Write[] writes;
        uint256 writeCount;
    }

    function _draw(Run memory run) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(run.seed, run.draws++)));
    }

    function _newKey(Run memory run, uint32 agencyId) internal pure returns (uint256 index) {
        index = run.keyCount++;
        run.privateKeys[index] = boundPrivateKey(uint256(keccak256(abi.encode(run.seed, "key", index))));
        run.addrs[index] = vm.addr(run.privateKeys[index]);
        run.keyAgency[index] = agencyId;
    }

    function _indexOf(Run memory run, address key) internal pure returns (uint256) {
        for (uint256 i = 0; i < run.keyCount; ++i) {
            if (run.addrs[i] == key) return i;
        }
        revert("unknown key");
    }

    function testFuzz_AuthorizedAtMatchesWriteOutcome(uint256 seed) public {
        // Threshold 2, so that governance may suspend up to half of the agencies.
        _enact(_setThresholdAction(2));
        Run memory run;
        run.seed = seed;
        run.privateKeys = new uint256[](MAX_KEYS);
        run.addrs = new address[](MAX_KEYS);
        run.keyAgency = new uint32[](MAX_KEYS);
        run.writes = new Write[](MAX_WRITES);
        uint256[5] memory initial = [TAX_BUREAU_PK, BANK_PK, MARKET_REGULATOR_PK, AUDITOR_PK, STRANGER_PK];
        for (uint256 i = 0; i < initial.length; ++i) {
            run.privateKeys[i] = initial[i];
            run.addrs[i] = vm.addr(initial[i]);
            run.keyAgency[i] = i < 4 ? uint32(i + 1) : 0;
        }
        run.keyCount = initial.length;

        for (uint256 step = 0; step < STEPS; ++step) {
            uint256 r = _draw(run);
            // One step in three stays in the block of the step before.
            if (r % 3 != 0) vm.roll(block.number + 1 + (r >> 8) % 3);
            _write(run, type(uint256).max);
            uint256 actions = 1 + (r >> 16) % 2;
            for (uint256 a = 0; a < actions; ++a) {
                _write(run, _govern(run));
            }
        }

        // Later blocks, and later changes, leave what `authorizedAt` says of past blocks alone.
        vm.roll(block.number + 1);
        _govern(run);
        vm.roll(block.number + 5);
        for (uint256 i = 0; i < run.writeCount; ++i) {
            Write memory w = run.writes[i];
            (bool authorized, uint32 agencyId) = ledger.authorizedAt(run.addrs[w.key], w.schemaId, w.blockNumber);
            assertEq(authorized, w.succeeded, "authorizedAt still agrees with the write outcome");
            assertEq(agencyId, w.agencyId, "authorizedAt agencyId unchanged");
        }
    }

    /// @dev Enacts a random valid governance action in this block, when enough agencies can vote
    /// in it; returns the index of the key most affected by it (max: none), for the next write.
    function _govern(Run memory run) internal returns (uint256 affected) {
        uint256 r = _draw(run);
        uint32 agencyCount = ledger.agencyCount();
        uint256 voters = 0;
        for (uint32 id = 1; id <= agencyCount; ++id) {
            if (_governsNow(id)) ++voters;
        }
        if (voters < ledger.threshold()) return type(uint256).max;

        uint32 agencyId = uint32(1 + (r >> 8) % agencyCount);
        IConsortium.Agency memory agency = ledger.getAgency(agencyId);
        bool active = agency.status == IConsortium.AgencyStatus.Active;
        // A quarter additions, a quarter rotations, half suspensions and reinstatements; but a
        // suspension that would leave fewer active agencies than the threshold is a rotation.
        uint256 op = r % 4;
        if (op == 0) {
            affected = _newKey(run, agencyCount + 1);
            IConsortium.AgencyKind kind = IConsortium.AgencyKind(1 + (r >> 16) % 4);
            _enact(_addAgencyAction(kind, run.addrs[affected], "Fuzzed Agency"));
        } else if (op == 1 || (active && ledger.activeAgencyCount() <= ledger.threshold())) {
            uint256 oldKey = _indexOf(run, agency.key);
            uint256 newKey = _newKey(run, agencyId);
            _enact(_rotateKeyAction(agencyId, run.addrs[newKey]));
            affected = (r >> 16) % 2 == 0 ? oldKey : newKey;
        } else {
            _enact(active ? _suspendAction(agencyId) : _reinstateAction(agencyId));
            affected = _indexOf(run, agency.key);
        }
    }

    /// @dev One random write: reads `authorizedAt` for this block, writes, and checks that the
    /// write went through exactly when authorised, and otherwise failed with the error the
    /// audit-time views predict. Signed half of the time by `preferred`, when given.
    function _write(Run memory run, uint256 preferred) internal {
        uint256 r = _draw(run);
        Write memory w;
        w.kind = WriteKind(r % 3);
        w.blockNumber = uint64(block.number);
        w.uid = keccak256(abi.encode(run.seed, "uid", run.draws));
        if (w.kind != WriteKind.Revoke || !_pickRevocation(run, w, r >> 8)) {
            if (w.kind == WriteKind.Revoke) w.kind = WriteKind.Attest;
            w.key = _pickSigner(run, preferred, r >> 8);
            w.schemaId = _pickSchema(run.keyAgency[w.key], r >> 16);
        }

        address signer = run.addrs[w.key];
        (w.authorized, w.agencyId) = ledger.authorizedAt(signer, w.schemaId, w.blockNumber);
        bytes memory expectedError = _expectedError(signer, w);
        bytes memory reason;
        (w.succeeded, reason) = _submit(run.privateKeys[w.key], w);

        assertEq(w.succeeded, w.authorized, "a write succeeds iff authorizedAt was true just before it");
        if (w.succeeded) _assertRecorded(w);
        else assertEq(keccak256(reason), keccak256(expectedError), "the authorisation error");
        run.writes[run.writeCount++] = w;
    }

    /// @dev `preferred` half of the time when there is one; else mostly the latest key of a
    /// random agency, and sometimes any key the run knows (retired, not yet valid, the stranger's).
    function _pickSigner(Run memory run, uint256 preferred, uint256 r) internal view returns (uint256) {
        if (preferred != type(uint256).max && r % 2 == 0) return preferred;
        if ((r >> 1) % 3 == 0) return (r >> 8) % run.keyCount;
        uint32 agencyId = uint32(1 + (r >> 8) % ledger.agencyCount());
        return _indexOf(run, ledger.getAgency(agencyId).key);
    }

    /// @dev Mostly a schema the agency's kind may attest, when there is one; else any schema.
    function _pickSchema(uint32 agencyId, uint256 r) internal view returns (bytes32) {
        bytes32[4] memory schemas = [INVOICE_ISSUED, PAYMENT_SETTLED, REGISTRATION_STATUS, NON_REVOCABLE];
        if (r % 4 != 0 && agencyId != 0) {
            uint16 kindBit = _mask(ledger.getAgency(agencyId).kind);
            for (uint256 i = 0; i < schemas.length; ++i) {
                bytes32 schemaId = schemas[((r >> 8) + i) % schemas.length];
                if (ledger.getSchema(schemaId).kindMask & kindBit != 0) return schemaId;
            }
        }
        return schemas[(r >> 8) % schemas.length];
    }

    /// @dev Turns `w` into the revocation of a random revocable, unrevoked fact attested so far,
    /// signed by a random key its attester ever had; false when there is no such fact.
    function _pickRevocation(Run memory run, Write memory w, uint256 r) internal view returns (bool) {
        for (uint256 n = 0; n < run.writeCount; ++n) {
            Write memory fact = run.writes[(r + n) % run.writeCount];
            if (fact.kind != WriteKind.Attest || !fact.succeeded || fact.schemaId == NON_REVOCABLE) continue;
            if (ledger.getFact(fact.agencyId, fact.uid).revokedBlock != 0) continue;
            uint256 keyCount = 0;
            for (uint256 k = 0; k < run.keyCount; ++k) {
                if (run.keyAgency[k] == fact.agencyId) ++keyCount;
            }
            uint256 pick = (r >> 128) % keyCount;
            for (uint256 k = 0; k < run.keyCount; ++k) {
                if (run.keyAgency[k] != fact.agencyId) continue;
                if (pick == 0) {
                    w.key = k;
                    break;
                }
                --pick;
            }
            w.schemaId = fact.schemaId;
            w.uid = fact.uid;
            return true;
        }
        return false;
    }

    /// @dev The error a write by `signer` fails with, derived from the audit-time views alone;
    /// empty when `authorizedAt` allows it.
    function _expectedError(address signer, Write memory w) internal view returns (bytes memory) {
        if (w.authorized) return "";
        IConsortium.KeyRecord memory record = ledger.getKeyRecord(signer);
        if (record.agencyId == 0) return abi.encodeWithSelector(ITaxLedger.LedgerUnknownSigner.selector, signer);
        if (record.fromBlock > w.blockNumber || (record.untilBlock != 0 && record.untilBlock <= w.blockNumber)) {
            return abi.encodeWithSelector(ITaxLedger.LedgerUnauthorizedSigner.selector, signer);
        }
        if (!ledger.wasActiveAt(record.agencyId, w.blockNumber)) {
            return abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, record.agencyId);
        }
        // Only writes of new facts check the kind; a revocation by the attester never fails on it.
        assertTrue(w.kind != WriteKind.Revoke, "a revocation is not refused for the kind");
        return abi.encodeWithSelector(ITaxLedger.LedgerKindNotAllowed.selector, record.agencyId, w.schemaId);
    }

    function _submit(uint256 privateKey, Write memory w) internal returns (bool ok, bytes memory reason) {
        if (w.kind == WriteKind.Attest) {
            ITaxLedger.AttestRequest memory request = _attestRequest(privateKey, w.schemaId, w.uid);
            bytes memory signature = _sign(privateKey, request);
            try ledger.attest(request, signature) {
                ok = true;
            } catch (bytes memory err) {
                reason = err;
            }
        } else if (w.kind == WriteKind.AnchorBatch) {
            ITaxLedger.BatchRequest memory request = _batchRequest(w.schemaId, w.uid, BATCH_SIZE);
            bytes memory signature = _sign(privateKey, request);
            try ledger.anchorBatch(request, signature) {
                ok = true;
            } catch (bytes memory err) {
                reason = err;
            }
        } else {
            ITaxLedger.RevokeRequest memory request = _revokeRequest(privateKey, w.uid);
            bytes memory signature = _sign(privateKey, request);
            try ledger.revoke(request, signature) {
                ok = true;
            } catch (bytes memory err) {
                reason = err;
            }
        }
    }

    function _assertRecorded(Write memory w) internal view {
        if (w.kind == WriteKind.Attest) {
            _assertFact(w.agencyId, w.uid, ledger.getSchema(w.schemaId).index, w.blockNumber, 0);
        } else if (w.kind == WriteKind.AnchorBatch) {
            _assertBatch(w.agencyId, w.uid, ledger.getSchema(w.schemaId).index, w.blockNumber, BATCH_SIZE);
        } else {
            assertEq(ledger.getFact(w.agencyId, w.uid).revokedBlock, w.blockNumber, "revoked in this block");
        }
    }
}
