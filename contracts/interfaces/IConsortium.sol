// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IConsortium
/// @notice Membership and schema registry of the taxledger consortium, governed M-of-N by its
/// member agencies: who the members are, their signing and encryption keys, the schemas they
/// attest, who may read which schema through the exchange and for what (the read policy), and
/// which agency kinds hold the keys of each subject-tag domain. Every change is a proposal that
/// takes effect only once a threshold of active member agencies has approved it, and from the
/// block after the one that executed it.
interface IConsortium {
    /// @notice What a member agency is. Decides which schemas it may attest.
    enum AgencyKind {
        None,
        TaxBureau,
        Bank,
        MarketRegulator,
        Auditor
    }

    /// @notice Whether an agency may currently sign attestations and govern.
    enum AgencyStatus {
        None,
        Active,
        Suspended
    }

    /// @notice The governance actions a proposal can carry.
    enum ActionType {
        AddAgency,
        SuspendAgency,
        ReinstateAgency,
        RotateKey,
        RegisterSchema,
        SetThreshold,
        SetEncryptionKey,
        SetReadPolicy,
        RegisterTagKey
    }

    /// @notice A member agency. `key` is its latest signing key, `status` its latest status and
    /// `encryptionKey` its latest X25519 public key (RFC 7748), to which other agencies encrypt
    /// what they disclose to it (HPKE, RFC 9180).
    /// @dev Every change takes effect from the block after the one that made it, so that what
    /// a block's writes were checked against is the same whatever their order in the block:
    /// before `statusFrom` the agency's effective status is still `previousStatus`; the
    /// encryption key in force at a block is `encryptionKeyAt`'s.
    struct Agency {
        AgencyKind kind;
        AgencyStatus status;
        address key;
        uint64 statusFrom;
        AgencyStatus previousStatus;
        bytes32 encryptionKey;
        string name;
    }

    /// @notice Which agency a signing key belonged to, and the blocks it was valid in:
    /// from `fromBlock` up to, not including, `untilBlock`.
    /// @dev `untilBlock` is 0 while the key is current. A key is never reused.
    struct KeyRecord {
        uint32 agencyId;
        uint64 fromBlock;
        uint64 untilBlock;
    }

    /// @notice One entry of an agency's status history: the status in effect from a block on.
    struct StatusChange {
        uint64 blockNumber;
        AgencyStatus status;
    }

    /// @notice One entry of an agency's encryption-key history: the key in force from a block on.
    struct EncryptionKeyChange {
        uint64 fromBlock;
        bytes32 encryptionKey;
    }

    /// @notice What an agency of one kind may read of one schema through the exchange, from a
    /// block on. `purposeMask` has bit `p` set when purpose code `p` is allowed (0: no purpose,
    /// nothing may be read); `consentRequired` says the taxpayer's consent must be cited;
    /// `fields` names what may be disclosed, comma-separated field paths or `*` for the whole
    /// record (opaque here: the off-chain disclosure code defines the path syntax).
    /// @dev A schema without a rule for a kind is readable by that kind for no purpose.
    struct ReadRule {
        uint64 fromBlock;
        uint32 purposeMask;
        bool consentRequired;
        string fields;
    }

    /// @notice One version of a subject-tag domain's key: an opaque commitment to the key (the
    /// key itself never comes on chain), the agency kinds that hold it (bit `k` for
    /// `AgencyKind(k)`) and the block it took effect. Versions count from 1 and stay listed
    /// after a rotation, so tags made under an old version stay verifiable.
    struct TagKeyVersion {
        uint32 version;
        uint16 holderMask;
        uint64 fromBlock;
        bytes32 keyCommitment;
    }

    /// @notice An attestation schema: who may attest it and whether its facts can be revoked.
    /// @dev `kindMask` has bit `k` set when `AgencyKind(k)` may attest. `index` starts at 1.
    struct Schema {
        uint32 index;
        uint16 kindMask;
        bool revocable;
        string name;
    }

    /// @notice A founding member, registered by the constructor.
    struct Founder {
        AgencyKind kind;
        address key;
        bytes32 encryptionKey;
        string name;
    }

    /// @notice A founding schema, registered by the constructor.
    struct SchemaInit {
        bytes32 schemaId;
        uint16 kindMask;
        bool revocable;
        string name;
    }

    /// @notice A founding read rule, registered by the constructor after the founding schemas.
    struct ReadRuleInit {
        bytes32 schemaId;
        AgencyKind readerKind;
        uint32 purposeMask;
        bool consentRequired;
        string fields;
    }

    /// @notice A founding subject-tag domain key (version 1 of its domain, or the next).
    struct TagKeyInit {
        bytes32 domain;
        uint16 holderMask;
        bytes32 keyCommitment;
    }

    /// @notice A governance action. Only the fields its `actionType` names are read:
    /// AddAgency(kind, key, encryptionKey, name), SuspendAgency(agencyId),
    /// ReinstateAgency(agencyId), RotateKey(agencyId, key),
    /// RegisterSchema(schemaId, kindMask, revocable, name), SetThreshold(threshold),
    /// SetEncryptionKey(agencyId, encryptionKey),
    /// SetReadPolicy(schemaId, kind: the reader's kind, purposeMask, consentRequired, fields),
    /// RegisterTagKey(tagDomain, kindMask: the kinds holding the key, keyCommitment).
    struct Action {
        ActionType actionType;
        uint32 agencyId;
        AgencyKind kind;
        address key;
        string name;
        bytes32 schemaId;
        uint16 kindMask;
        bool revocable;
        uint16 threshold;
        bytes32 encryptionKey;
        uint32 purposeMask;
        bool consentRequired;
        string fields;
        bytes32 tagDomain;
        bytes32 keyCommitment;
    }

    /// @notice A governance proposal.
    struct Proposal {
        Action action;
        uint32 proposer;
        uint64 createdBlock;
        bool executed;
        uint32[] approvers;
    }

    /// @notice The caller is not a valid key, in this block, of an active member agency.
    error ConsortiumNotGovernor(address caller);
    /// @notice No agency has this id.
    error ConsortiumUnknownAgency(uint32 agencyId);
    /// @notice No proposal has this id.
    error ConsortiumUnknownProposal(uint256 proposalId);
    /// @notice The agency has already approved this proposal.
    error ConsortiumAlreadyApproved(uint256 proposalId, uint32 agencyId);
    /// @notice The proposal was executed already.
    error ConsortiumProposalExecuted(uint256 proposalId);
    /// @notice Too few active agencies approved the proposal.
    error ConsortiumInsufficientApprovals(uint256 proposalId, uint256 approvals, uint256 threshold);
    /// @notice The threshold would be 0 or above the number of active agencies.
    error ConsortiumInvalidThreshold(uint256 threshold, uint256 activeAgencies);
    /// @notice The agency kind is `None` or out of range.
    error ConsortiumInvalidKind(uint8 kind);
    /// @notice The key is the zero address.
    error ConsortiumZeroKey();
    /// @notice The key belongs, or belonged, to an agency; keys are never reused.
    error ConsortiumKeyAlreadyUsed(address key);
    /// @notice The agency is not active (for suspension).
    error ConsortiumAgencyNotActive(uint32 agencyId);
    /// @notice The agency is not suspended (for reinstatement).
    error ConsortiumAgencyNotSuspended(uint32 agencyId);
    /// @notice A schema with this id exists already.
    error ConsortiumSchemaExists(bytes32 schemaId);
    /// @notice The schema id is zero, or its kind mask admits no valid kind.
    error ConsortiumInvalidSchema(bytes32 schemaId, uint16 kindMask);
    /// @notice A name must not be empty.
    error ConsortiumEmptyName();
    /// @notice At least one founding agency is needed.
    error ConsortiumNoFounders();
    /// @notice An agency's encryption key must not be zero.
    error ConsortiumZeroEncryptionKey();
    /// @notice The encryption key is, or was, an agency's; encryption keys are never reused.
    error ConsortiumEncryptionKeyAlreadyUsed(bytes32 encryptionKey);
    /// @notice No schema has this id (a read rule needs a registered schema).
    error ConsortiumUnknownSchema(bytes32 schemaId);
    /// @notice A read rule that allows a purpose must name the fields it discloses; one that
    /// allows none must name no fields and require no consent.
    error ConsortiumInvalidReadRule(bytes32 schemaId, uint8 readerKind, uint32 purposeMask);
    /// @notice A tag domain and a key commitment must not be zero, and the holders must be
    /// valid agency kinds (at least one).
    error ConsortiumInvalidTagKey(bytes32 domain, uint16 holderMask, bytes32 keyCommitment);
    /// @notice A version of this domain has this key commitment already; a new version needs a
    /// new key.
    error ConsortiumTagKeyReused(bytes32 domain, bytes32 keyCommitment);

    /// @notice An agency joined the consortium.
    event AgencyAdded(uint32 indexed agencyId, AgencyKind kind, address indexed key, string name);
    /// @notice An agency was suspended: from the next block its key can no longer attest or govern.
    event AgencySuspended(uint32 indexed agencyId);
    /// @notice A suspended agency was reinstated.
    event AgencyReinstated(uint32 indexed agencyId);
    /// @notice An agency's signing key was replaced.
    event AgencyKeyRotated(uint32 indexed agencyId, address indexed oldKey, address indexed newKey);
    /// @notice A schema was registered.
    event SchemaRegistered(bytes32 indexed schemaId, uint32 index, uint16 kindMask, bool revocable, string name);
    /// @notice The governance threshold changed.
    event ThresholdChanged(uint16 oldThreshold, uint16 newThreshold);
    /// @notice An agency's encryption key was set (at its founding or joining, or by rotation),
    /// in force from block `fromBlock`.
    event EncryptionKeySet(uint32 indexed agencyId, bytes32 encryptionKey, uint64 fromBlock);
    /// @notice The read rule of a schema for a reader kind was set, in force from `fromBlock`.
    event ReadPolicySet(
        bytes32 indexed schemaId,
        AgencyKind indexed readerKind,
        uint32 purposeMask,
        bool consentRequired,
        string fields,
        uint64 fromBlock
    );
    /// @notice A version of a subject-tag domain's key was registered, in force from `fromBlock`.
    event TagKeyRegistered(
        bytes32 indexed domain, uint32 indexed version, uint16 holderMask, bytes32 keyCommitment, uint64 fromBlock
    );
    /// @notice A proposal was created (and approved by its proposer).
    event ProposalCreated(uint256 indexed proposalId, uint32 indexed proposer, ActionType actionType);
    /// @notice An agency approved a proposal.
    event ProposalApproved(uint256 indexed proposalId, uint32 indexed agencyId);
    /// @notice A proposal's action took effect.
    event ProposalExecuted(uint256 indexed proposalId, ActionType actionType);

    /// @notice Propose a governance action; the proposer's approval is counted at once.
    /// @param action The action to take once approved.
    /// @return proposalId The new proposal's id, counting from 1.
    function propose(Action calldata action) external returns (uint256 proposalId);

    /// @notice Approve a proposal as the agency whose key, valid in this block, is the caller.
    /// @param proposalId The proposal to approve.
    function approve(uint256 proposalId) external;

    /// @notice Execute a proposal approved by at least `threshold()` currently active agencies.
    /// Anyone may call it.
    /// @param proposalId The proposal to execute.
    function execute(uint256 proposalId) external;

    /// @notice The number of approvals a proposal needs.
    function threshold() external view returns (uint16);

    /// @notice The number of agencies ever added; ids run from 1 to this number.
    function agencyCount() external view returns (uint32);

    /// @notice The number of currently active agencies.
    function activeAgencyCount() external view returns (uint32);

    /// @notice The number of proposals ever made; ids run from 1 to this number.
    function proposalCount() external view returns (uint256);

    /// @notice An agency by id.
    function getAgency(uint32 agencyId) external view returns (Agency memory);

    /// @notice Which agency a key belonged to, and from/until which block (0: still current).
    function getKeyRecord(address key) external view returns (KeyRecord memory);

    /// @notice Every status change of an agency, oldest first, from the block it was added.
    function getStatusHistory(uint32 agencyId) external view returns (StatusChange[] memory);

    /// @notice Whether the agency was active at the given block.
    function wasActiveAt(uint32 agencyId, uint64 blockNumber) external view returns (bool);

    /// @notice A schema by id; `index` is 0 when unknown.
    function getSchema(bytes32 schemaId) external view returns (Schema memory);

    /// @notice The id of the schema with the given index (from 1).
    function schemaIdAt(uint32 index) external view returns (bytes32);

    /// @notice A proposal by id.
    function getProposal(uint256 proposalId) external view returns (Proposal memory);

    /// @notice Every encryption key of an agency, oldest first, from the block it was added.
    function getEncryptionKeyHistory(uint32 agencyId) external view returns (EncryptionKeyChange[] memory);

    /// @notice The agency's encryption key in force at the given block (0: none yet).
    function encryptionKeyAt(uint32 agencyId, uint64 blockNumber) external view returns (bytes32);

    /// @notice The read rule of `schemaId` for readers of `readerKind` in force at the given
    /// block; a rule with `purposeMask` 0 (and `fromBlock` 0 if none was ever set) allows nothing.
    function readRuleAt(bytes32 schemaId, AgencyKind readerKind, uint64 blockNumber)
        external
        view
        returns (ReadRule memory);

    /// @notice Every read rule of `schemaId` for readers of `readerKind`, oldest first.
    function getReadRuleHistory(bytes32 schemaId, AgencyKind readerKind) external view returns (ReadRule[] memory);

    /// @notice The number of subject-tag domains with a registered key; they are listed from 1.
    function tagDomainCount() external view returns (uint32);

    /// @notice The subject-tag domain with the given index (from 1, in order of registration).
    function tagDomainAt(uint32 index) external view returns (bytes32);

    /// @notice Every key version of a subject-tag domain, oldest first.
    function getTagKeyVersions(bytes32 domain) external view returns (TagKeyVersion[] memory);

    /// @notice The key version of a subject-tag domain in force at the given block (`version`
    /// 0: none yet).
    function tagKeyAt(bytes32 domain, uint64 blockNumber) external view returns (TagKeyVersion memory);
}
