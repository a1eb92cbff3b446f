// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {Consortium} from "./Consortium.sol";
import {ITaxLedger} from "./interfaces/ITaxLedger.sol";

/// @title TaxLedger
/// @notice The taxledger consortium's attestation ledger: hashed invoice, payment, registration
/// and credit facts, signed by member agencies and checked against the membership at the block
/// they are written in.
contract TaxLedger is ITaxLedger, Consortium, EIP712 {
    /// @notice EIP-712 type hash of an attestation request:
    /// keccak256("Attest(bytes32 schemaId,bytes32 commitment,bytes32 subject,bytes32 refUID,uint64 expiration,uint256 nonce,uint64 deadline)")
    bytes32 public constant ATTEST_TYPEHASH = keccak256(
        "Attest(bytes32 schemaId,bytes32 commitment,bytes32 subject,bytes32 refUID,uint64 expiration,uint256 nonce,uint64 deadline)"
    );
    /// @notice EIP-712 type hash of a batch-anchoring request:
    /// keccak256("AnchorBatch(bytes32 schemaId,bytes32 root,uint32 count,uint64 deadline)")
    bytes32 public constant ANCHOR_BATCH_TYPEHASH =
        keccak256("AnchorBatch(bytes32 schemaId,bytes32 root,uint32 count,uint64 deadline)");
    /// @notice EIP-712 type hash of a revocation request:
    /// keccak256("Revoke(bytes32 uid,bytes32 reason,uint256 nonce,uint64 deadline)")
    bytes32 public constant REVOKE_TYPEHASH = keccak256("Revoke(bytes32 uid,bytes32 reason,uint256 nonce,uint64 deadline)");
    /// @notice EIP-712 type hash of a leaf-revocation request:
    /// keccak256("RevokeLeaf(bytes32 root,bytes32 schemaId,bytes32 commitment,bytes32 reason,uint256 nonce,uint64 deadline)")
    bytes32 public constant REVOKE_LEAF_TYPEHASH = keccak256(
        "RevokeLeaf(bytes32 root,bytes32 schemaId,bytes32 commitment,bytes32 reason,uint256 nonce,uint64 deadline)"
    );

    mapping(address signer => uint256 nextNoncePlusOne) private _nonces;
    mapping(uint32 agencyId => mapping(bytes32 uid => Fact fact)) private _facts;
    mapping(uint32 agencyId => mapping(bytes32 root => Batch batch)) private _batches;
    mapping(uint32 agencyId => mapping(bytes32 root => mapping(bytes32 leaf => uint64 revokedBlock))) private
        _leafRevocations;

    /// @param founders The founding agencies; all start active.
    /// @param schemas The founding schemas.
    /// @param readRules The founding read policy.
    /// @param tagKeys The founding subject-tag domain keys.
    /// @param initialThreshold Approvals a governance proposal needs.
    constructor(
        Founder[] memory founders,
        SchemaInit[] memory schemas,
        ReadRuleInit[] memory readRules,
        TagKeyInit[] memory tagKeys,
        uint16 initialThreshold
    ) Consortium(founders, schemas, readRules, tagKeys, initialThreshold) EIP712("TaxLedger", "1") {}

    /// @inheritdoc ITaxLedger
    function attest(AttestRequest calldata request, bytes calldata signature) external returns (bytes32 uid) {
        _checkDeadline(request.deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ATTEST_TYPEHASH,
                    request.schemaId,
                    request.commitment,
                    request.subject,
                    request.refUID,
                    request.expiration,
                    request.nonce,
                    request.deadline
                )
            )
        );
        address signer = _recover(digest, signature);
        (uint32 agencyId, uint32 schemaIndex) = _authorize(signer, request.schemaId);
        _useNonce(signer, request.nonce);

        uid = request.commitment;
        if (uid == bytes32(0)) revert LedgerZeroHash();
        mapping(bytes32 uid => Fact fact) storage facts = _facts[agencyId];
        if (facts[uid].attestedBlock != 0) revert LedgerDuplicateCommitment(agencyId, uid);
        if (request.expiration != 0 && request.expiration <= block.timestamp) {
            revert LedgerInvalidExpiration(request.expiration);
        }
        if (request.refUID != bytes32(0)) {
            Fact storage ref = facts[request.refUID];
            if (ref.attestedBlock == 0 || ref.schemaIndex != schemaIndex) revert LedgerInvalidReference(request.refUID);
        }
        facts[uid] = Fact(agencyId, schemaIndex, uint64(block.number), request.expiration, 0);
        emit Attested(uid, agencyId, request.subject, request.schemaId, signer, request.refUID, request.expiration);
    }

    /// @inheritdoc ITaxLedger
    function anchorBatch(BatchRequest calldata request, bytes calldata signature) external {
        _checkDeadline(request.deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(ANCHOR_BATCH_TYPEHASH, request.schemaId, request.root, request.count, request.deadline)
            )
        );
        address signer = _recover(digest, signature);
        (uint32 agencyId, uint32 schemaIndex) = _authorize(signer, request.schemaId);

        if (request.root == bytes32(0)) revert LedgerZeroHash();
        if (request.count == 0) revert LedgerEmptyBatch();
        mapping(bytes32 root => Batch batch) storage batches = _batches[agencyId];
        if (batches[request.root].anchoredBlock != 0) revert LedgerDuplicateRoot(agencyId, request.root);
        batches[request.root] = Batch(agencyId, schemaIndex, uint64(block.number), request.count);
        emit BatchAnchored(request.root, request.schemaId, agencyId, signer, request.count);
    }

    /// @inheritdoc ITaxLedger
    function revoke(RevokeRequest calldata request, bytes calldata signature) external {
        _checkDeadline(request.deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(REVOKE_TYPEHASH, request.uid, request.reason, request.nonce, request.deadline))
        );
        address signer = _recover(digest, signature);
        uint32 agencyId = _activeAgencyOf(signer);
        Fact storage fact = _facts[agencyId][request.uid];
        if (fact.attestedBlock == 0) revert LedgerUnknownFact(agencyId, request.uid);
        bytes32 schemaId = schemaIdAt(fact.schemaIndex);
        if (!_schema(schemaId).revocable) revert LedgerNotRevocable(schemaId);
        if (fact.revokedBlock != 0) revert LedgerAlreadyRevoked(request.uid);
        _useNonce(signer, request.nonce);
        fact.revokedBlock = uint64(block.number);
        emit Revoked(request.uid, agencyId, signer, request.reason);
    }

    /// @inheritdoc ITaxLedger
    function revokeLeaf(LeafRevokeRequest calldata request, bytes32[] calldata proof, bytes calldata signature)
        external
    {
        _checkDeadline(request.deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    REVOKE_LEAF_TYPEHASH,
                    request.root,
                    request.schemaId,
                    request.commitment,
                    request.reason,
                    request.nonce,
                    request.deadline
                )
            )
        );
        address signer = _recover(digest, signature);
        uint32 agencyId = _activeAgencyOf(signer);
        bytes32 leaf = _leafInBatch(agencyId, request, proof);
        mapping(bytes32 leaf => uint64 revokedBlock) storage revoked = _leafRevocations[agencyId][request.root];
        if (revoked[leaf] != 0) revert LedgerAlreadyRevoked(leaf);
        _useNonce(signer, request.nonce);
        revoked[leaf] = uint64(block.number);
        emit LeafRevoked(request.root, leaf, agencyId, signer, request.reason);
    }

    /// @inheritdoc ITaxLedger
    function nonces(address signer) external view returns (uint256) {
        uint256 slot = _nonces[signer];
        return slot == 0 ? 0 : slot - 1;
    }

    /// @inheritdoc ITaxLedger
    function getFact(uint32 agencyId, bytes32 uid) external view returns (Fact memory) {
        return _facts[agencyId][uid];
    }

    /// @inheritdoc ITaxLedger
    function getBatch(uint32 agencyId, bytes32 root) external view returns (Batch memory) {
        return _batches[agencyId][root];
    }

    /// @inheritdoc ITaxLedger
    function leafRevokedAt(uint32 agencyId, bytes32 root, bytes32 leaf) external view returns (uint64) {
        return _leafRevocations[agencyId][root][leaf];
    }

    /// @inheritdoc ITaxLedger
    function authorizedAt(address signer, bytes32 schemaId, uint64 blockNumber)
        external
        view
        returns (bool authorized, uint32 agencyId)
    {
        KeyRecord memory record = _keyRecord(signer);
        agencyId = record.agencyId;
        if (!_validAt(record, blockNumber) || !wasActiveAt(agencyId, blockNumber)) return (false, agencyId);
        uint16 kindMask = _schema(schemaId).kindMask;
        authorized = kindMask & (uint16(1) << uint8(_agency(agencyId).kind)) != 0;
    }

    /// @inheritdoc ITaxLedger
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _checkDeadline(uint64 deadline) private view {
        if (block.timestamp > deadline) revert LedgerSignatureExpired(deadline);
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError) revert LedgerInvalidSignature();
    }

    /// @dev The leaf of the fact `request` names, computed as the batch tree computes it, after
    /// checking that the agency anchored `request.root` with facts of that revocable schema and
    /// that `proof` shows the leaf in it.
    function _leafInBatch(uint32 agencyId, LeafRevokeRequest calldata request, bytes32[] calldata proof)
        private
        view
        returns (bytes32 leaf)
    {
        Batch storage batch = _batches[agencyId][request.root];
        if (batch.anchoredBlock == 0) revert LedgerUnknownBatch(agencyId, request.root);
        bytes32 schemaId = schemaIdAt(batch.schemaIndex);
        if (request.schemaId != schemaId) revert LedgerSchemaMismatch(request.root, schemaId, request.schemaId);
        if (!_schema(schemaId).revocable) revert LedgerNotRevocable(schemaId);
        leaf = keccak256(bytes.concat(keccak256(abi.encode(schemaId, request.commitment))));
        if (!MerkleProof.verifyCalldata(proof, request.root, leaf)) revert LedgerLeafNotInBatch(request.root, leaf);
    }

    /// @dev Reverts unless `signer` is the current key of an active agency whose kind may attest
    /// `schemaId`; returns that agency and the schema's index.
    function _authorize(address signer, bytes32 schemaId) private view returns (uint32 agencyId, uint32 schemaIndex) {
        agencyId = _activeAgencyOf(signer);
        Agency storage agency = _agency(agencyId);
        Schema storage schema = _schema(schemaId);
        schemaIndex = schema.index;
        if (schemaIndex == 0) revert LedgerUnknownSchema(schemaId);
        if (schema.kindMask & (uint16(1) << uint8(agency.kind)) == 0) {
            revert LedgerKindNotAllowed(agencyId, schemaId);
        }
    }

    /// @dev Reverts unless `signer` is a valid key of an active agency in this block; returns
    /// the agency. The same rule as `authorizedAt` at this block.
    /// Revocation needs no kind check: an agency revokes only its own facts, and its kind was
    /// checked when it wrote them (kinds and schemas never change).
    function _activeAgencyOf(address signer) private view returns (uint32 agencyId) {
        KeyRecord memory record;
        (agencyId, record) = _agencyOfValidKey(signer);
        if (agencyId == 0) {
            if (record.agencyId == 0) revert LedgerUnknownSigner(signer);
            revert LedgerUnauthorizedSigner(signer);
        }
        if (!_isActive(agencyId)) revert LedgerAgencySuspended(agencyId);
    }

    /// @dev A nonce slot holds the next nonce plus one. It is set to 1 when the key joins, so
    /// the 20,000-gas write of a fresh slot is paid by governance, not by the key's first
    /// attestation. Only keys that joined reach this (they passed `_activeAgencyOf`).
    function _useNonce(address signer, uint256 nonce) private {
        uint256 slot = _nonces[signer];
        // Cannot underflow or overflow: the slot of a key that joined is at least 1, and a
        // signer would need 2^256 writes to wrap it.
        unchecked {
            uint256 expected = slot - 1;
            if (nonce != expected) revert LedgerInvalidNonce(signer, expected, nonce);
            _nonces[signer] = slot + 1;
        }
    }

    /// @dev Pre-pays a new key's nonce slot (see `_useNonce`).
    function _keyRegistered(address key) internal override {
        _nonces[key] = 1;
    }
}
