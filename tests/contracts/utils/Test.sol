// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "./Vm.sol";

/// @title Test
/// @notice Minimal base of the taxledger Solidity tests: the cheatcode handle, assertions that
/// report both values on failure, and `bound` for shaping fuzzed inputs.
abstract contract Test {
    address internal constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;
    Vm internal constant vm = Vm(VM_ADDRESS);

    // The secp256k1 group order: valid private keys are 1 .. SECP256K1_ORDER - 1.
    uint256 internal constant SECP256K1_ORDER =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function assertTrue(bool condition, string memory what) internal pure {
        vm.assertTrue(condition, what);
    }

    function assertFalse(bool condition, string memory what) internal pure {
        vm.assertFalse(condition, what);
    }

    function assertEq(bool left, bool right, string memory what) internal pure {
        vm.assertEq(left, right, what);
    }

    function assertEq(uint256 left, uint256 right, string memory what) internal pure {
        vm.assertEq(left, right, what);
    }

    function assertEq(address left, address right, string memory what) internal pure {
        vm.assertEq(left, right, what);
    }

    function assertEq(bytes32 left, bytes32 right, string memory what) internal pure {
        vm.assertEq(left, right, what);
    }

    function assertEq(string memory left, string memory right, string memory what) internal pure {
        vm.assertEq(left, right, what);
    }

    function assertNotEq(bytes32 left, bytes32 right, string memory what) internal pure {
        vm.assertNotEq(left, right, what);
    }

    /// @dev Maps any `x` into [min, max] without rejecting fuzz runs, unlike `vm.assume`.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        // Cannot overflow: size < 2^256 - 1 unless [min, max] is the whole range, handled above.
        unchecked {
            return min + (x % (size + 1));
        }
    }

    /// @dev A valid secp256k1 private key derived from any fuzzed seed.
    function boundPrivateKey(uint256 seed) internal pure returns (uint256) {
        return bound(seed, 1, SECP256K1_ORDER - 1);
    }
}
