// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "./IConsortium.sol";

/// @title ITaxLedger
/// @notice The attestation ledger. Facts are commitments to off-chain records; no record data is
/// stored. Every write carries an EIP-712 signature of the attesting agency's key, so any
/// relayer may submit it: provenance rests on the signature, not on who paid for gas.
/// Authorisation is checked when a fact is written, against the membership of that block.
/// Facts and batches belong to the agency that wrote them: a uid (a commitment) or a root is
/// unique within one agency, so no member can block or take over another agency's write by
/// writing the same value first. Every read names the agency.
interface ITaxLedger is IConsortium {
    /// @notice One fact. Signed as
    /// `Attest(bytes32 schemaId,bytes32 commitment,bytes32 subject,bytes32 refUID,uint64 expiration,uint256 nonce,uint64 deadline)`.
    /// @dev `commitment` becomes the fact's uid within the signer's agency. `refUID` names a
    /// fact of the same agency and schema that this one supersedes (0: none). `expiration` is a
    /// unix time (0: never).
    struct AttestRequest {
        bytes32 schemaId;
        bytes32 commitment;
        bytes32 subject;
        bytes32 refUID;
        uint64 expiration;
        uint256 nonce;
        uint64 deadline;
    }

    /// @notice A Merkle root over `count` leaves of one schema. Signed as
    /// `AnchorBatch(bytes32 schemaId,bytes32 root,uint32 count,uint64 deadline)`.
    /// @dev An agency can anchor a root once, which is what stops a replay.
    struct BatchRequest {
        bytes32 schemaId;
        bytes32 root;
        uint32 count;
        uint64 deadline;
    }

    /// @notice Revocation of a single fact of the signer's agency. Signed as
    /// `Revoke(bytes32 uid,bytes32 reason,uint256 nonce,uint64 deadline)`.
    struct RevokeRequest {
        bytes32 uid;
        bytes32 reason;
        uint256 nonce;
        uint64 deadline;
    }

    /// @notice Revocation of one fact of a batch of the signer's agency, named by its values.
    /// Signed as
    /// `RevokeLeaf(bytes32 root,bytes32 schemaId,bytes32 commitment,bytes32 reason,uint256 nonce,uint64 deadline)`.
    /// @dev The ledger computes the leaf itself, as OpenZeppelin's StandardMerkleTree does:
    /// `keccak256(bytes.concat(keccak256(abi.encode(schemaId, commitment))))`. A leaf is thus a
    /// hash of 32 bytes and an inner node a hash of 64, so no inner node can pass for a leaf.
    struct LeafRevokeRequest {
        bytes32 root;
        bytes32 schemaId;
        bytes32 commitment;
        bytes32 reason;
        uint256 nonce;
        uint64 deadline;
    }

    /// @notice A single fact as stored. Fits one storage slot.
    struct Fact {
        uint32 agencyId;
        uint32 schemaIndex;
        uint64 attestedBlock;
        uint64 expiration;
        uint64 revokedBlock;
    }

    /// @notice An anchored batch as stored. Fits one storage slot.
    struct Batch {
        uint32 agencyId;
        uint32 schemaIndex;
        uint64 anchoredBlock;
        uint32 count;
    }

    /// @notice The signature could not be parsed (length, `s` value or no signer recovered).
    error LedgerInvalidSignature();
    /// @notice The signer is not, and never was, a member agency's key.
    error LedgerUnknownSigner(address signer);
    /// @notice The signer was an agency's key but is no longer its current key.
    error LedgerUnauthorizedSigner(address signer);
    /// @notice The signer's agency is suspended.
    error LedgerAgencySuspended(uint32 agencyId);
    /// @notice The agency's kind may not attest this schema.
    error LedgerKindNotAllowed(uint32 agencyId, bytes32 schemaId);
    /// @notice No schema has this id.
    error LedgerUnknownSchema(bytes32 schemaId);
    /// @notice The signed nonce is not the signer's next nonce.
    error LedgerInvalidNonce(address signer, uint256 expected, uint256 given);
    /// @notice The signature's deadline has passed.
    error LedgerSignatureExpired(uint64 deadline);
    /// @notice The agency has a fact with this commitment already.
    error LedgerDuplicateCommitment(uint32 agencyId, bytes32 uid);
    /// @notice The agency has anchored a batch with this root already.
    error LedgerDuplicateRoot(uint32 agencyId, bytes32 root);
    /// @notice The commitment or root is zero.
    error LedgerZeroHash();
    /// @notice A batch must hold at least one fact.
    error LedgerEmptyBatch();
    /// @notice The expiration is in the past.
    error LedgerInvalidExpiration(uint64 expiration);
    /// @notice The superseded fact is not one of the agency's, or of another schema.
    error LedgerInvalidReference(bytes32 refUID);
    /// @notice The agency has no fact with this uid (only the attester may revoke a fact).
    error LedgerUnknownFact(uint32 agencyId, bytes32 uid);
    /// @notice The agency has no batch with this root (only the anchoring agency may revoke).
    error LedgerUnknownBatch(uint32 agencyId, bytes32 root);
    /// @notice The batch holds facts of another schema than the one the revocation names.
    error LedgerSchemaMismatch(bytes32 root, bytes32 batchSchemaId, bytes32 schemaId);
    /// @notice Facts of this schema cannot be revoked.
    error LedgerNotRevocable(bytes32 schemaId);
    /// @notice The fact or leaf is revoked already.
    error LedgerAlreadyRevoked(bytes32 uid);
    /// @notice The proof does not show the leaf in the batch.
    error LedgerLeafNotInBatch(bytes32 root, bytes32 leaf);

    /// @notice A batch root was anchored.
    event BatchAnchored(
        bytes32 indexed root,
        bytes32 indexed schemaId,
        uint32 indexed agencyId,
        address signer,
        uint32 count
    );
    /// @notice A single fact was attested.
    event Attested(
        bytes32 indexed uid,
        uint32 indexed agencyId,
        bytes32 indexed subject,
        bytes32 schemaId,
        address signer,
        bytes32 refUID,
        uint64 expiration
    );
    /// @notice A single fact was revoked by its attester.
    event Revoked(bytes32 indexed uid, uint32 indexed agencyId, address signer, bytes32 reason);
    /// @notice One leaf of a batch was revoked by the batch's agency.
    event LeafRevoked(
        bytes32 indexed root,
        bytes32 indexed leaf,
        uint32 indexed agencyId,
        address signer,
        bytes32 reason
    );

    /// @notice Record one fact signed by an agency key.
    /// @param request The fact and its nonce and deadline.
    /// @param signature The agency key's EIP-712 signature of `request` (65 bytes).
    /// @return uid The fact's uid: its commitment.
    function attest(AttestRequest calldata request, bytes calldata signature) external returns (bytes32 uid);

    /// @notice Anchor a Merkle root over a batch of facts of one schema, signed by an agency key.
    /// @param request The batch's schema, root, size and deadline.
    /// @param signature The agency key's EIP-712 signature of `request` (65 bytes).
    function anchorBatch(BatchRequest calldata request, bytes calldata signature) external;

    /// @notice Revoke a single fact of the signer's agency.
    /// @param request The fact's uid, a reason code, the nonce and deadline.
    /// @param signature The agency key's EIP-712 signature of `request`.
    function revoke(RevokeRequest calldata request, bytes calldata signature) external;

    /// @notice Revoke one fact of a batch anchored by the signer's agency.
    /// @param request The batch root, the fact's schema and commitment, a reason code, the nonce
    /// and deadline.
    /// @param proof The Merkle proof that the fact's leaf is in the batch.
    /// @param signature The agency key's EIP-712 signature of `request`.
    function revokeLeaf(LeafRevokeRequest calldata request, bytes32[] calldata proof, bytes calldata signature)
        external;

    /// @notice The next nonce a signer must use for `attest`, `revoke` and `revokeLeaf`.
    function nonces(address signer) external view returns (uint256);

    /// @notice A single fact of an agency by uid; `attestedBlock` is 0 when unknown.
    function getFact(uint32 agencyId, bytes32 uid) external view returns (Fact memory);

    /// @notice A batch of an agency by root; `anchoredBlock` is 0 when unknown.
    function getBatch(uint32 agencyId, bytes32 root) external view returns (Batch memory);

    /// @notice The block at which a leaf of an agency's batch was revoked (0: not revoked).
    function leafRevokedAt(uint32 agencyId, bytes32 root, bytes32 leaf) external view returns (uint64);

    /// @notice Whether `signer` could attest `schemaId` at `blockNumber`, and for which agency.
    function authorizedAt(address signer, bytes32 schemaId, uint64 blockNumber)
        external
        view
        returns (bool authorized, uint32 agencyId);

    /// @notice The EIP-712 domain separator of this ledger on this chain.
    function domainSeparator() external view returns (bytes32);
}
