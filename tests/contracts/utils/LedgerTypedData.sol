// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ITaxLedger} from "../../../contracts/interfaces/ITaxLedger.sol";

/// @title LedgerTypedData
/// @notice The ledger's EIP-712 typed data, written out independently of the contract from the
/// literal type strings, so that a test signature proves the contract hashes what an off-chain
/// signer (the Python client) signs, and a domain can be varied to forge a wrong one.
library LedgerTypedData {
    /// @notice An EIP-712 domain with the fields the ledger uses.
    struct Domain {
        string name;
        string version;
        uint256 chainId;
        address verifyingContract;
    }

    string internal constant DOMAIN_TYPE =
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
    string internal constant ATTEST_TYPE =
        "Attest(bytes32 schemaId,bytes32 commitment,bytes32 subject,bytes32 refUID,uint64 expiration,uint256 nonce,uint64 deadline)";
    string internal constant ANCHOR_BATCH_TYPE = "AnchorBatch(bytes32 schemaId,bytes32 root,uint32 count,uint64 deadline)";
    string internal constant REVOKE_TYPE = "Revoke(bytes32 uid,bytes32 reason,uint256 nonce,uint64 deadline)";
    string internal constant REVOKE_LEAF_TYPE =
        "RevokeLeaf(bytes32 root,bytes32 schemaId,bytes32 commitment,bytes32 reason,uint256 nonce,uint64 deadline)";

    /// @notice The domain the ledger at `ledger` signs in on the current chain.
    function ledgerDomain(address ledger) internal view returns (Domain memory) {
        return Domain({name: "TaxLedger", version: "1", chainId: block.chainid, verifyingContract: ledger});
    }

    function separator(Domain memory d) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256(bytes(DOMAIN_TYPE)),
                keccak256(bytes(d.name)),
                keccak256(bytes(d.version)),
                d.chainId,
                d.verifyingContract
            )
        );
    }

    function digest(Domain memory d, bytes32 structHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", separator(d), structHash));
    }

    function hashStruct(ITaxLedger.AttestRequest memory r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256(bytes(ATTEST_TYPE)),
                r.schemaId,
                r.commitment,
                r.subject,
                r.refUID,
                r.expiration,
                r.nonce,
                r.deadline
            )
        );
    }

    function hashStruct(ITaxLedger.BatchRequest memory r) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(ANCHOR_BATCH_TYPE)), r.schemaId, r.root, r.count, r.deadline));
    }

    function hashStruct(ITaxLedger.RevokeRequest memory r) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(REVOKE_TYPE)), r.uid, r.reason, r.nonce, r.deadline));
    }

    function hashStruct(ITaxLedger.LeafRevokeRequest memory r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256(bytes(REVOKE_LEAF_TYPE)), r.root, r.schemaId, r.commitment, r.reason, r.nonce, r.deadline
            )
        );
    }
}
