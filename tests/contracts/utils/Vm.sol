// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Vm
/// @notice The subset of the Foundry cheatcodes that the taxledger tests use, as served by Hardhat's
/// Solidity test runner at `VM_ADDRESS`. Declared here rather than taken from `forge-std`, whose
/// npm package is stale and unofficial; the signatures are those of forge-std's `Vm.sol`.
interface Vm {
    // Environment.
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function roll(uint256 newHeight) external;
    function warp(uint256 newTimestamp) external;
    function chainId(uint256 newChainId) external;

    // Expectations.
    function expectRevert(bytes calldata revertData) external;
    /// @dev Expects the next event, all topics and data, from `emitter`.
    function expectEmit(address emitter) external;

    // Fuzzer.
    function assume(bool condition) external pure;

    // Keys and signing.
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    // Utilities.
    function label(address account, string calldata newLabel) external;
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function getNonce(address account) external view returns (uint64 nonce);

    // Assertions: they revert with both values in the message.
    function assertTrue(bool condition, string calldata error) external pure;
    function assertFalse(bool condition, string calldata error) external pure;
    function assertEq(bool left, bool right, string calldata error) external pure;
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;
    function assertEq(address left, address right, string calldata error) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;
    function assertEq(string calldata left, string calldata right, string calldata error) external pure;
    function assertNotEq(bytes32 left, bytes32 right, string calldata error) external pure;
}
