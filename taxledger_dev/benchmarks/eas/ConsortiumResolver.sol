// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.29;

import {IEAS, Attestation} from "@ethereum-attestation-service/eas-contracts/contracts/IEAS.sol";
import {SchemaResolver} from "@ethereum-attestation-service/eas-contracts/contracts/resolver/SchemaResolver.sol";
import {ITaxLedger} from "contracts/interfaces/ITaxLedger.sol";

/// @title ConsortiumResolver
/// @notice An EAS schema resolver that admits only the agencies of a taxledger consortium: an
/// attestation (or revocation) counts only if its attester may attest `schemaId` on the ledger
/// at this block, the same permission taxledger itself enforces. EAS reverts with
/// `InvalidAttestation()` (or `InvalidAttestations()` in a multi-attestation) otherwise.
/// Used by `taxledger bench` to compare EAS with taxledger under equal rules; not deployed.
contract ConsortiumResolver is SchemaResolver {
    ITaxLedger public immutable ledger;
    bytes32 public immutable schemaId;

    constructor(IEAS eas, ITaxLedger ledger_, bytes32 schemaId_) SchemaResolver(eas) {
        ledger = ledger_;
        schemaId = schemaId_;
    }

    function onAttest(Attestation calldata attestation, uint256 /* value */ ) internal view override returns (bool) {
        return _member(attestation.attester);
    }

    function onRevoke(Attestation calldata attestation, uint256 /* value */ ) internal view override returns (bool) {
        return _member(attestation.attester);
    }

    function _member(address attester) private view returns (bool authorized) {
        (authorized,) = ledger.authorizedAt(attester, schemaId, uint64(block.number));
    }
}
