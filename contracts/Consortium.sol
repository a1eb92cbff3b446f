// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ExchangeRegistry} from "./ExchangeRegistry.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";

/// @title Consortium
/// @notice Member agencies, their keys and status history, attestation schemas, and the M-of-N
/// governance that changes them and the exchange registry (`ExchangeRegistry`: encryption keys,
/// read policy, tag keys). There is no owner: the constructor founds the consortium and from then
/// on only proposals approved by `threshold` active agencies change it.
/// A change takes effect from the block after the one that made it: every write (or read) in a
/// block is judged against the same rules, whatever its order in the block, which is what lets
/// an auditor re-check it from block numbers alone.
abstract contract Consortium is ExchangeRegistry {
    uint16 private _threshold;
    uint32 private _agencyCount;
    uint32 private _activeAgencyCount;
    uint32 private _schemaCount;
    uint256 private _proposalCount;

    mapping(uint32 agencyId => Agency agency) private _agencies;
    mapping(address key => KeyRecord record) private _keyRecords;
    mapping(uint32 agencyId => StatusChange[] history) private _statusHistory;
    mapping(bytes32 schemaId => Schema schema) private _schemas;
    mapping(uint32 index => bytes32 schemaId) private _schemaIds;
    mapping(uint256 proposalId => Proposal proposal) private _proposals;
    mapping(uint256 proposalId => mapping(uint32 agencyId => bool approved)) private _approved;

    /// @param founders The founding agencies; all start active.
    /// @param schemas The founding schemas.
    /// @param readRules The founding read policy, over founding schemas.
    /// @param tagKeys The founding subject-tag domain keys.
    /// @param initialThreshold Approvals a proposal needs; between 1 and the number of founders.
    constructor(
        Founder[] memory founders,
        SchemaInit[] memory schemas,
        ReadRuleInit[] memory readRules,
        TagKeyInit[] memory tagKeys,
        uint16 initialThreshold
    ) {
        if (founders.length == 0) revert ConsortiumNoFounders();
        // Everything founded is in effect from the deployment block: nothing can be written
        // before it.
        uint64 here = uint64(block.number);
        for (uint256 i = 0; i < founders.length; ++i) {
            Founder memory f = founders[i];
            _addAgency(f.kind, f.key, f.encryptionKey, f.name, here);
        }
        for (uint256 i = 0; i < schemas.length; ++i) {
            SchemaInit memory s = schemas[i];
            _registerSchema(s.schemaId, s.kindMask, s.revocable, s.name);
        }
        for (uint256 i = 0; i < readRules.length; ++i) {
            ReadRuleInit memory r = readRules[i];
            _setReadRule(r.schemaId, r.readerKind, r.purposeMask, r.consentRequired, r.fields, here);
        }
        for (uint256 i = 0; i < tagKeys.length; ++i) {
            TagKeyInit memory t = tagKeys[i];
            _registerTagKey(t.domain, t.holderMask, t.keyCommitment, here);
        }
        _setThreshold(initialThreshold);
    }

    /// @inheritdoc IConsortium
    function propose(Action calldata action) external returns (uint256 proposalId) {
        uint32 proposer = _governorOf(msg.sender);
        _checkAction(action);
        proposalId = ++_proposalCount;
        Proposal storage p = _proposals[proposalId];
        p.action = action;
        p.proposer = proposer;
        p.createdBlock = uint64(block.number);
        p.approvers.push(proposer);
        _approved[proposalId][proposer] = true;
        emit ProposalCreated(proposalId, proposer, action.actionType);
        emit ProposalApproved(proposalId, proposer);
    }

    /// @inheritdoc IConsortium
    function approve(uint256 proposalId) external {
        uint32 agencyId = _governorOf(msg.sender);
        Proposal storage p = _openProposal(proposalId);
        if (_approved[proposalId][agencyId]) revert ConsortiumAlreadyApproved(proposalId, agencyId);
        _approved[proposalId][agencyId] = true;
        p.approvers.push(agencyId);
        emit ProposalApproved(proposalId, agencyId);
    }

    /// @inheritdoc IConsortium
    function execute(uint256 proposalId) external {
        Proposal storage p = _openProposal(proposalId);
        // Approvals of agencies suspended since they approved no longer count.
        uint256 approvals = 0;
        uint32[] storage approvers = p.approvers;
        for (uint256 i = 0; i < approvers.length; ++i) {
            if (_isActive(approvers[i])) ++approvals;
        }
        if (approvals < _threshold) revert ConsortiumInsufficientApprovals(proposalId, approvals, _threshold);
        p.executed = true;
        Action memory action = p.action;
        _checkAction(action);
        _apply(action);
        emit ProposalExecuted(proposalId, action.actionType);
    }

    /// @inheritdoc IConsortium
    function threshold() external view returns (uint16) {
        return _threshold;
    }

    /// @inheritdoc IConsortium
    function agencyCount() external view returns (uint32) {
        return _agencyCount;
    }

    /// @inheritdoc IConsortium
    function activeAgencyCount() external view returns (uint32) {
        return _activeAgencyCount;
    }

    /// @inheritdoc IConsortium
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IConsortium
    function getAgency(uint32 agencyId) external view returns (Agency memory) {
        return _agencies[agencyId];
    }

    /// @inheritdoc IConsortium
    function getKeyRecord(address key) external view returns (KeyRecord memory) {
        return _keyRecords[key];
    }

    /// @inheritdoc IConsortium
    function getStatusHistory(uint32 agencyId) external view returns (StatusChange[] memory) {
        return _statusHistory[agencyId];
    }

    /// @inheritdoc IConsortium
    function wasActiveAt(uint32 agencyId, uint64 blockNumber) public view returns (bool) {
        StatusChange[] storage history = _statusHistory[agencyId];
        for (uint256 i = history.length; i > 0; --i) {
            if (history[i - 1].blockNumber <= blockNumber) return history[i - 1].status == AgencyStatus.Active;
        }
        return false;
    }

    /// @inheritdoc IConsortium
    function getSchema(bytes32 schemaId) external view returns (Schema memory) {
        return _schemas[schemaId];
    }

    /// @inheritdoc IConsortium
    function schemaIdAt(uint32 index) public view returns (bytes32) {
        return _schemaIds[index];
    }

    /// @inheritdoc IConsortium
    function getProposal(uint256 proposalId) external view returns (Proposal memory) {
        if (proposalId == 0 || proposalId > _proposalCount) revert ConsortiumUnknownProposal(proposalId);
        return _proposals[proposalId];
    }

    /// @dev The agency `key` is valid for in this block, or 0; and the key's full record.
    function _agencyOfValidKey(address key) internal view returns (uint32 agencyId, KeyRecord memory record) {
        record = _keyRecords[key];
        agencyId = _validAt(record, uint64(block.number)) ? record.agencyId : 0;
    }

    /// @dev Whether a key record covers `blockNumber`.
    function _validAt(KeyRecord memory record, uint64 blockNumber) internal pure returns (bool) {
        return record.agencyId != 0 && record.fromBlock <= blockNumber
            && (record.untilBlock == 0 || blockNumber < record.untilBlock);
    }

    /// @dev Whether the agency is active in this block (one storage read).
    function _isActive(uint32 agencyId) internal view returns (bool) {
        Agency storage agency = _agencies[agencyId];
        AgencyStatus effective = block.number >= agency.statusFrom ? agency.status : agency.previousStatus;
        return effective == AgencyStatus.Active;
    }

    /// @dev Called once for every key that joins the consortium (founder, new agency, rotation).
    function _keyRegistered(address key) internal virtual;

    /// @dev The full key record of `key`, current or not.
    function _keyRecord(address key) internal view returns (KeyRecord memory) {
        return _keyRecords[key];
    }

    /// @dev Storage of an agency for the ledger's write-time checks.
    function _agency(uint32 agencyId) internal view returns (Agency storage) {
        return _agencies[agencyId];
    }

    /// @dev Storage of a schema for the ledger's write-time checks.
    function _schema(bytes32 schemaId) internal view returns (Schema storage) {
        return _schemas[schemaId];
    }

    function _governorOf(address caller) private view returns (uint32 agencyId) {
        (agencyId,) = _agencyOfValidKey(caller);
        if (agencyId == 0 || !_isActive(agencyId)) revert ConsortiumNotGovernor(caller);
    }

    function _openProposal(uint256 proposalId) private view returns (Proposal storage p) {
        if (proposalId == 0 || proposalId > _proposalCount) revert ConsortiumUnknownProposal(proposalId);
        p = _proposals[proposalId];
        if (p.executed) revert ConsortiumProposalExecuted(proposalId);
    }

    /// @dev Reverts with the reason an action cannot take effect in the current state.
    function _checkAction(Action memory a) private view {
        if (a.actionType == ActionType.AddAgency) {
            _checkKind(a.kind);
            _checkNewKey(a.key);
            _checkNewEncryptionKey(a.encryptionKey);
            if (bytes(a.name).length == 0) revert ConsortiumEmptyName();
        } else if (a.actionType == ActionType.SuspendAgency) {
            if (_agencies[a.agencyId].status != AgencyStatus.Active) {
                _knownAgency(a.agencyId);
                revert ConsortiumAgencyNotActive(a.agencyId);
            }
            if (_activeAgencyCount - 1 < _threshold) {
                revert ConsortiumInvalidThreshold(_threshold, _activeAgencyCount - 1);
            }
        } else if (a.actionType == ActionType.ReinstateAgency) {
            _knownAgency(a.agencyId);
            if (_agencies[a.agencyId].status != AgencyStatus.Suspended) {
                revert ConsortiumAgencyNotSuspended(a.agencyId);
            }
        } else if (a.actionType == ActionType.RotateKey) {
            _knownAgency(a.agencyId);
            _checkNewKey(a.key);
        } else if (a.actionType == ActionType.RegisterSchema) {
            _checkSchema(a.schemaId, a.kindMask, a.name);
        } else if (a.actionType == ActionType.SetThreshold) {
            if (a.threshold == 0 || a.threshold > _activeAgencyCount) {
                revert ConsortiumInvalidThreshold(a.threshold, _activeAgencyCount);
            }
        } else if (a.actionType == ActionType.SetEncryptionKey) {
            _knownAgency(a.agencyId);
            _checkNewEncryptionKey(a.encryptionKey);
        } else if (a.actionType == ActionType.SetReadPolicy) {
            _checkReadRule(a.schemaId, a.kind, a.purposeMask, a.consentRequired, a.fields);
        } else {
            _checkTagKey(a.tagDomain, a.kindMask, a.keyCommitment);
        }
    }

    function _apply(Action memory a) private {
        uint64 nextBlock = uint64(block.number) + 1;
        if (a.actionType == ActionType.AddAgency) {
            _addAgency(a.kind, a.key, a.encryptionKey, a.name, nextBlock);
        } else if (a.actionType == ActionType.SuspendAgency) {
            _setStatus(a.agencyId, AgencyStatus.Suspended);
            --_activeAgencyCount;
            emit AgencySuspended(a.agencyId);
        } else if (a.actionType == ActionType.ReinstateAgency) {
            _setStatus(a.agencyId, AgencyStatus.Active);
            ++_activeAgencyCount;
            emit AgencyReinstated(a.agencyId);
        } else if (a.actionType == ActionType.RotateKey) {
            Agency storage agency = _agencies[a.agencyId];
            address oldKey = agency.key;
            _keyRecords[oldKey].untilBlock = nextBlock;
            _keyRecords[a.key] = KeyRecord(a.agencyId, nextBlock, 0);
            _keyRegistered(a.key);
            agency.key = a.key;
            emit AgencyKeyRotated(a.agencyId, oldKey, a.key);
        } else if (a.actionType == ActionType.RegisterSchema) {
            _registerSchema(a.schemaId, a.kindMask, a.revocable, a.name);
        } else if (a.actionType == ActionType.SetThreshold) {
            _setThreshold(a.threshold);
        } else if (a.actionType == ActionType.SetEncryptionKey) {
            _setAgencyEncryptionKey(a.agencyId, a.encryptionKey, nextBlock);
        } else if (a.actionType == ActionType.SetReadPolicy) {
            _setReadRule(a.schemaId, a.kind, a.purposeMask, a.consentRequired, a.fields, nextBlock);
        } else {
            _registerTagKey(a.tagDomain, a.kindMask, a.keyCommitment, nextBlock);
        }
    }

    function _addAgency(
        AgencyKind kind,
        address key,
        bytes32 encryptionKey,
        string memory name,
        uint64 effectiveFrom
    ) private {
        _checkKind(kind);
        _checkNewKey(key);
        if (bytes(name).length == 0) revert ConsortiumEmptyName();
        uint32 agencyId = ++_agencyCount;
        _agencies[agencyId] = Agency(kind, AgencyStatus.Active, key, effectiveFrom, AgencyStatus.None, bytes32(0), name);
        _keyRecords[key] = KeyRecord(agencyId, effectiveFrom, 0);
        _keyRegistered(key);
        _statusHistory[agencyId].push(StatusChange(effectiveFrom, AgencyStatus.Active));
        ++_activeAgencyCount;
        emit AgencyAdded(agencyId, kind, key, name);
        _setAgencyEncryptionKey(agencyId, encryptionKey, effectiveFrom);
    }

    /// @dev Records the key in the registry's history and as the agency's latest.
    function _setAgencyEncryptionKey(uint32 agencyId, bytes32 encryptionKey, uint64 effectiveFrom) private {
        _setEncryptionKey(agencyId, encryptionKey, effectiveFrom);
        _agencies[agencyId].encryptionKey = encryptionKey;
    }

    function _schemaExists(bytes32 schemaId) internal view override returns (bool) {
        return _schemas[schemaId].index != 0;
    }

    function _registerSchema(bytes32 schemaId, uint16 kindMask, bool revocable, string memory name) private {
        _checkSchema(schemaId, kindMask, name);
        uint32 index = ++_schemaCount;
        _schemas[schemaId] = Schema(index, kindMask, revocable, name);
        _schemaIds[index] = schemaId;
        emit SchemaRegistered(schemaId, index, kindMask, revocable, name);
    }

    function _setThreshold(uint16 newThreshold) private {
        if (newThreshold == 0 || newThreshold > _activeAgencyCount) {
            revert ConsortiumInvalidThreshold(newThreshold, _activeAgencyCount);
        }
        emit ThresholdChanged(_threshold, newThreshold);
        _threshold = newThreshold;
    }

    function _setStatus(uint32 agencyId, AgencyStatus status) private {
        Agency storage agency = _agencies[agencyId];
        uint64 nextBlock = uint64(block.number) + 1;
        agency.previousStatus = block.number >= agency.statusFrom ? agency.status : agency.previousStatus;
        agency.status = status;
        agency.statusFrom = nextBlock;
        StatusChange[] storage history = _statusHistory[agencyId];
        // A second change in the same block replaces the first: only the last one takes effect.
        if (history[history.length - 1].blockNumber == nextBlock) {
            history[history.length - 1].status = status;
        } else {
            history.push(StatusChange(nextBlock, status));
        }
    }

    function _knownAgency(uint32 agencyId) private view {
        if (agencyId == 0 || agencyId > _agencyCount) revert ConsortiumUnknownAgency(agencyId);
    }

    function _checkNewKey(address key) private view {
        if (key == address(0)) revert ConsortiumZeroKey();
        if (_keyRecords[key].agencyId != 0) revert ConsortiumKeyAlreadyUsed(key);
    }

    function _checkSchema(bytes32 schemaId, uint16 kindMask, string memory name) private view {
        if (schemaId == bytes32(0) || !_validKindMask(kindMask)) revert ConsortiumInvalidSchema(schemaId, kindMask);
        if (_schemas[schemaId].index != 0) revert ConsortiumSchemaExists(schemaId);
        if (bytes(name).length == 0) revert ConsortiumEmptyName();
    }
}
