// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @title StandardMerkleTree
/// @notice The batch tree of the ledger built in Solidity, in the layout of OpenZeppelin's
/// `StandardMerkleTree` (JS) for `["bytes32", "bytes32"]` values `(schemaId, commitment)`: leaves
/// double-hashed and sorted, a complete binary tree in one array with the root at 0 and the
/// leaves at the end, pairs hashed sorted. Tests build batches with it and pin it to a vector of
/// the JS library, so the contract is checked against the layout the gateways produce.
library StandardMerkleTree {
    /// @notice The leaf of `(schemaId, commitment)`: keccak256(bytes.concat(keccak256(abi.encode(..)))).
    function leafHash(bytes32 schemaId, bytes32 commitment) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(schemaId, commitment))));
    }

    /// @notice The tree over `leaves` (at least one); `leaves` is sorted in place, as the JS
    /// library sorts them by default.
    function build(bytes32[] memory leaves) internal pure returns (bytes32[] memory tree) {
        require(leaves.length > 0, "StandardMerkleTree: no leaves");
        _sort(leaves);
        tree = new bytes32[](2 * leaves.length - 1);
        for (uint256 i = 0; i < leaves.length; ++i) {
            tree[tree.length - 1 - i] = leaves[i];
        }
        for (uint256 i = tree.length - leaves.length; i > 0; --i) {
            tree[i - 1] = Hashes.commutativeKeccak256(tree[2 * i - 1], tree[2 * i]);
        }
    }

    function root(bytes32[] memory tree) internal pure returns (bytes32) {
        return tree[0];
    }

    /// @notice The proof of the leaf `leaf`, which must be in `tree`.
    function proof(bytes32[] memory tree, bytes32 leaf) internal pure returns (bytes32[] memory path) {
        return proofAt(tree, _indexOf(tree, leaf));
    }

    /// @notice The siblings on the way from node `index` (a leaf or an inner node) to the root.
    function proofAt(bytes32[] memory tree, uint256 index) internal pure returns (bytes32[] memory path) {
        uint256 depth = 0;
        for (uint256 j = index; j > 0; j = (j - 1) / 2) {
            ++depth;
        }
        path = new bytes32[](depth);
        uint256 k = 0;
        for (uint256 j = index; j > 0; j = (j - 1) / 2) {
            // A left child has an odd index, its sibling is the next node; a right child the previous.
            path[k++] = tree[j % 2 == 1 ? j + 1 : j - 1];
        }
    }

    function _indexOf(bytes32[] memory tree, bytes32 leaf) private pure returns (uint256) {
        // Leaves occupy the last (length + 1) / 2 slots.
        for (uint256 i = tree.length / 2; i < tree.length; ++i) {
            if (tree[i] == leaf) return i;
        }
        revert("StandardMerkleTree: leaf not in tree");
    }

    // Insertion sort: test trees hold a handful of leaves.
    function _sort(bytes32[] memory a) private pure {
        for (uint256 i = 1; i < a.length; ++i) {
            bytes32 x = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > x) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = x;
        }
    }
}
