// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IConsortium
/// @notice Membership and schema registry of the taxledger consortium, governed M-of-N by its
/// member agencies. Every change of membership, keys, schemas or threshold is a proposal that
/// takes effect only once a threshold of active member agencies has approved it.
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
        SetThreshold
    }

    /// @notice A member agency. `key` is its latest signing key and `status` its latest status.
    /// @dev Every change takes effect from the block after the one that made it, so that what
    /// a block's writes were checked against is the same whatever their order in the block:
    /// before `statusFrom` the agency's effective status is still `previousStatus`.
    struct Agency {
        AgencyKind kind;
        AgencyStatus status;
        address key;
        uint64 statusFrom;
        AgencyStatus previousStatus;
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
        string name;
    }

    /// @notice A founding schema, registered by the constructor.
    struct SchemaInit {
        bytes32 schemaId;
        uint16 kindMask;
        bool revocable;
        string name;
    }

    /// @notice A governance action. Only the fields its `actionType` names are read:
    /// AddAgency(kind, key, name), SuspendAgency(agencyId), ReinstateAgency(agencyId),
    /// RotateKey(agencyId, key), RegisterSchema(schemaId, kindMask, revocable, name),
    /// SetThreshold(threshold).
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
}
