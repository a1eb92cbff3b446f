// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ITaxLedger} from "../../contracts/interfaces/ITaxLedger.sol";

import {LedgerFixture} from "./utils/LedgerFixture.sol";
import {StandardMerkleTree} from "./utils/StandardMerkleTree.sol";

/// @notice Leaf revocation against batches built in the layout the gateways use (OpenZeppelin
/// StandardMerkleTree over `(schemaId, commitment)`), with fixed and fuzzed trees.
contract MerkleRevocationTest is LedgerFixture {
    uint256 internal constant MAX_LEAVES = 16;

    // Pinned from @openzeppelin/merkle-tree 1.0.8:
    //   StandardMerkleTree.of([1..5].map(i => [keccak256("invoice.issued/v1"), bytes32(i)]),
    //                         ["bytes32", "bytes32"])
    bytes32 internal constant JS_ROOT = 0x8b41433f4e33ff4c0ec2ec3d4d76d71e9298462b0ad34086e55f7a39afd30a9b;
    // leafHash and getProof of the value with commitment bytes32(4).
    bytes32 internal constant JS_LEAF_4 = 0x17bca84462a0d6a613933d9eb946b24dcfc798c2f88402e8b8aab5ebf36cdd6b;
    bytes32 internal constant JS_PROOF_4_0 = 0x1373cd85dcb0f8de93feee4e119773b89c69a546dfbcac80844661476dcc2ec4;
    bytes32 internal constant JS_PROOF_4_1 = 0x793f0fdf195bda02f350706c303c881a08b498e0dc9533073e558075046e98ca;
    bytes32 internal constant JS_PROOF_4_2 = 0x51f9dc5a1de691bc866c9d6f3c92ed79130a2501dcbde0e7ed105057bb0efda9;

    function _pinnedLeaves() internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](5);
        for (uint256 i = 0; i < leaves.length; ++i) {
            leaves[i] = StandardMerkleTree.leafHash(INVOICE_ISSUED, bytes32(i + 1));
        }
    }

    function _pinnedProof() internal pure returns (bytes32[] memory proof) {
        proof = new bytes32[](3);
        proof[0] = JS_PROOF_4_0;
        proof[1] = JS_PROOF_4_1;
        proof[2] = JS_PROOF_4_2;
    }

    function test_TreeBuilder_MatchesOpenZeppelinJs() public pure {
        bytes32[] memory tree = StandardMerkleTree.build(_pinnedLeaves());
        assertEq(StandardMerkleTree.root(tree), JS_ROOT, "root");
        assertEq(StandardMerkleTree.leafHash(INVOICE_ISSUED, bytes32(uint256(4))), JS_LEAF_4, "leaf hash");
        bytes32[] memory proof = StandardMerkleTree.proof(tree, JS_LEAF_4);
        bytes32[] memory expected = _pinnedProof();
        assertEq(proof.length, expected.length, "proof length");
        for (uint256 i = 0; i < proof.length; ++i) {
            assertEq(proof[i], expected[i], "proof element");
        }
    }

    function test_RevokeLeaf_AcceptsProofMadeByOpenZeppelinJs() public {
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, JS_ROOT, 5);
        _revokeLeaf(TAX_BUREAU_PK, JS_ROOT, INVOICE_ISSUED, bytes32(uint256(4)), _pinnedProof());
        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, JS_ROOT, JS_LEAF_4), uint64(block.number), "revoked");
    }

    function test_RevokeLeaf_EveryLeafOfATree() public {
        bytes32[] memory tree = StandardMerkleTree.build(_pinnedLeaves());
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, JS_ROOT, 5);
        for (uint256 i = 1; i <= 5; ++i) {
            bytes32 leaf = StandardMerkleTree.leafHash(INVOICE_ISSUED, bytes32(i));
            _revokeLeaf(TAX_BUREAU_PK, JS_ROOT, INVOICE_ISSUED, bytes32(i), StandardMerkleTree.proof(tree, leaf));
            assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, JS_ROOT, leaf), uint64(block.number), "revoked");
        }
        assertEq(ledger.nonces(taxBureau), 5, "one nonce per revocation");
    }

    function test_RevokeLeaf_SingleLeafBatch() public {
        // A one-leaf tree's root is its leaf, and the proof is empty.
        bytes32 rating = keccak256("only rating");
        bytes32 leaf = StandardMerkleTree.leafHash(TAX_RATING, rating);
        _anchor(TAX_BUREAU_PK, TAX_RATING, leaf, 1);
        _revokeLeaf(TAX_BUREAU_PK, leaf, TAX_RATING, rating, new bytes32[](0));
        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, leaf, leaf), uint64(block.number), "revoked");
    }

    /// @dev A batch of 1..MAX_LEAVES fuzzed facts of one schema, anchored by the bank; returns
    /// the tree and the commitments.
    function _anchorFuzzedBatch(uint256 seed, uint256 sizeSeed)
        internal
        returns (bytes32[] memory tree, bytes32[] memory commitments)
    {
        uint256 size = bound(sizeSeed, 1, MAX_LEAVES);
        commitments = new bytes32[](size);
        bytes32[] memory leaves = new bytes32[](size);
        for (uint256 i = 0; i < size; ++i) {
            commitments[i] = keccak256(abi.encode(seed, i));
            leaves[i] = StandardMerkleTree.leafHash(PAYMENT_SETTLED, commitments[i]);
        }
        tree = StandardMerkleTree.build(leaves);
        _anchor(BANK_PK, PAYMENT_SETTLED, StandardMerkleTree.root(tree), uint32(size));
    }

    /// @dev The commitment at position `indexSeed` (wrapped).
    function _member(bytes32[] memory commitments, uint256 indexSeed) internal pure returns (bytes32) {
        return commitments[bound(indexSeed, 0, commitments.length - 1)];
    }

    function _proofOf(bytes32[] memory tree, bytes32 commitment) internal pure returns (bytes32[] memory) {
        return StandardMerkleTree.proof(tree, StandardMerkleTree.leafHash(PAYMENT_SETTLED, commitment));
    }

    function _expectNotInBatch(bytes32 root, bytes32 commitment, bytes32[] memory proof) internal {
        ITaxLedger.LeafRevokeRequest memory request = _leafRevokeRequest(BANK_PK, root, PAYMENT_SETTLED, commitment);
        bytes memory signature = _sign(BANK_PK, request);
        bytes32 leaf = StandardMerkleTree.leafHash(PAYMENT_SETTLED, commitment);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerLeafNotInBatch.selector, root, leaf));
        ledger.revokeLeaf(request, proof, signature);
    }

    function testFuzz_RevokeLeaf_AcceptsEveryMember(uint256 seed, uint256 sizeSeed, uint256 indexSeed) public {
        (bytes32[] memory tree, bytes32[] memory commitments) = _anchorFuzzedBatch(seed, sizeSeed);
        bytes32 root = StandardMerkleTree.root(tree);
        bytes32 commitment = _member(commitments, indexSeed);
        bytes32 leaf = StandardMerkleTree.leafHash(PAYMENT_SETTLED, commitment);
        ITaxLedger.LeafRevokeRequest memory request = _leafRevokeRequest(BANK_PK, root, PAYMENT_SETTLED, commitment);
        bytes memory signature = _sign(BANK_PK, request);
        vm.expectEmit(address(ledger));
        emit ITaxLedger.LeafRevoked(root, leaf, BANK_ID, bank, request.reason);
        ledger.revokeLeaf(request, _proofOf(tree, commitment), signature);
        assertEq(ledger.leafRevokedAt(BANK_ID, root, leaf), uint64(block.number), "revoked");
    }

    function testFuzz_RevokeLeaf_RejectsNonMember(uint256 seed, uint256 sizeSeed, uint256 indexSeed, bytes32 other)
        public
    {
        (bytes32[] memory tree, bytes32[] memory commitments) = _anchorFuzzedBatch(seed, sizeSeed);
        for (uint256 i = 0; i < commitments.length; ++i) {
            vm.assume(commitments[i] != other);
        }
        // Whatever member's proof it borrows.
        bytes32[] memory proof = _proofOf(tree, _member(commitments, indexSeed));
        _expectNotInBatch(StandardMerkleTree.root(tree), other, proof);
    }

    function testFuzz_RevokeLeaf_RejectsWrongProof(
        uint256 seed,
        uint256 sizeSeed,
        uint256 indexSeed,
        uint256 flawSeed,
        bytes32 noise
    ) public {
        // At least two leaves, so that a proof has something to corrupt.
        (bytes32[] memory tree, bytes32[] memory commitments) =
            _anchorFuzzedBatch(seed, bound(sizeSeed, 2, MAX_LEAVES));
        bytes32 root = StandardMerkleTree.root(tree);
        bytes32 commitment = _member(commitments, indexSeed);
        bytes32[] memory proof = _proofOf(tree, commitment);
        bytes32[] memory wrong;

        uint256 flaw = bound(flawSeed, 0, 3);
        if (flaw == 0) {
            // One element altered.
            vm.assume(noise != bytes32(0));
            wrong = proof;
            wrong[bound(uint256(noise), 0, wrong.length - 1)] ^= noise;
        } else if (flaw == 1) {
            // Last element dropped: the proof stops below the root.
            wrong = new bytes32[](proof.length - 1);
            for (uint256 i = 0; i < wrong.length; ++i) {
                wrong[i] = proof[i];
            }
        } else if (flaw == 2) {
            // One element too many: the proof climbs past the root.
            wrong = new bytes32[](proof.length + 1);
            for (uint256 i = 0; i < proof.length; ++i) {
                wrong[i] = proof[i];
            }
            wrong[proof.length] = noise;
        } else {
            // Another member's proof.
            bytes32 other = _member(commitments, uint256(noise));
            vm.assume(other != commitment);
            wrong = _proofOf(tree, other);
        }
        _expectNotInBatch(root, commitment, wrong);
    }
}
