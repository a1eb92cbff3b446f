// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortium} from "./interfaces/IConsortium.sol";

/// @title ExchangeRegistry
/// @notice What agencies need from the chain to exchange facts with one another: every agency's
/// encryption keys over time, the read policy of each schema for each reader kind with its
/// history, and the key versions of the subject-tag domains. Only the consortium's governance
/// (`Consortium`) changes it, and every change is in force from the block it names: the block
/// after the one that executed it, or the founding block.
abstract contract ExchangeRegistry is IConsortium {
    // Bits 1..4: one per valid AgencyKind.
    uint16 internal constant _VALID_KIND_BITS = 0x1e;

    bytes32[] private _tagDomains;
    mapping(uint32 agencyId => EncryptionKeyChange[] history) private _encryptionKeys;
    mapping(bytes32 encryptionKey => bool used) private _encryptionKeyUsed;
    mapping(bytes32 schemaId => mapping(AgencyKind readerKind => ReadRule[] history)) private _readRules;
    mapping(bytes32 domain => TagKeyVersion[] versions) private _tagKeys;

    /// @inheritdoc IConsortium
    function getEncryptionKeyHistory(uint32 agencyId) external view returns (EncryptionKeyChange[] memory) {
        return _encryptionKeys[agencyId];
    }

    /// @inheritdoc IConsortium
    function encryptionKeyAt(uint32 agencyId, uint64 blockNumber) external view returns (bytes32) {
        EncryptionKeyChange[] storage history = _encryptionKeys[agencyId];
        for (uint256 i = history.length; i > 0; --i) {
            if (history[i - 1].fromBlock <= blockNumber) return history[i - 1].encryptionKey;
        }
        return bytes32(0);
    }

    /// @inheritdoc IConsortium
    function readRuleAt(bytes32 schemaId, AgencyKind readerKind, uint64 blockNumber)
        external
        view
        returns (ReadRule memory rule)
    {
        ReadRule[] storage history = _readRules[schemaId][readerKind];
        for (uint256 i = history.length; i > 0; --i) {
            if (history[i - 1].fromBlock <= blockNumber) return history[i - 1];
        }
        return rule;
    }

    /// @inheritdoc IConsortium
    function getReadRuleHistory(bytes32 schemaId, AgencyKind readerKind) external view returns (ReadRule[] memory) {
        return _readRules[schemaId][readerKind];
    }

    /// @inheritdoc IConsortium
    function tagDomainCount() external view returns (uint32) {
        return uint32(_tagDomains.length);
    }

    /// @inheritdoc IConsortium
    function tagDomainAt(uint32 index) external view returns (bytes32) {
        return index == 0 || index > _tagDomains.length ? bytes32(0) : _tagDomains[index - 1];
    }

    /// @inheritdoc IConsortium
    function getTagKeyVersions(bytes32 domain) external view returns (TagKeyVersion[] memory) {
        return _tagKeys[domain];
    }

    /// @inheritdoc IConsortium
    function tagKeyAt(bytes32 domain, uint64 blockNumber) external view returns (TagKeyVersion memory version) {
        TagKeyVersion[] storage versions = _tagKeys[domain];
        for (uint256 i = versions.length; i > 0; --i) {
            if (versions[i - 1].fromBlock <= blockNumber) return versions[i - 1];
        }
        return version;
    }

    /// @dev Whether a schema with this id is registered.
    function _schemaExists(bytes32 schemaId) internal view virtual returns (bool);

    /// @dev Adds an agency's encryption key to its history, in force from `effectiveFrom`.
    function _setEncryptionKey(uint32 agencyId, bytes32 encryptionKey, uint64 effectiveFrom) internal {
        _checkNewEncryptionKey(encryptionKey);
        _encryptionKeyUsed[encryptionKey] = true;
        EncryptionKeyChange[] storage history = _encryptionKeys[agencyId];
        // A second change in the same block replaces the first: only the last one takes effect.
        if (history.length != 0 && history[history.length - 1].fromBlock == effectiveFrom) {
            history[history.length - 1].encryptionKey = encryptionKey;
        } else {
            history.push(EncryptionKeyChange(effectiveFrom, encryptionKey));
        }
        emit EncryptionKeySet(agencyId, encryptionKey, effectiveFrom);
    }

    /// @dev Adds a read rule to the history of its schema and reader kind, in force from
    /// `effectiveFrom`.
    function _setReadRule(
        bytes32 schemaId,
        AgencyKind readerKind,
        uint32 purposeMask,
        bool consentRequired,
        string memory fields,
        uint64 effectiveFrom
    ) internal {
        _checkReadRule(schemaId, readerKind, purposeMask, consentRequired, fields);
        ReadRule[] storage history = _readRules[schemaId][readerKind];
        ReadRule memory rule = ReadRule(effectiveFrom, purposeMask, consentRequired, fields);
        // As for keys and status: a second change in the same block replaces the first.
        if (history.length != 0 && history[history.length - 1].fromBlock == effectiveFrom) {
            history[history.length - 1] = rule;
        } else {
            history.push(rule);
        }
        emit ReadPolicySet(schemaId, readerKind, purposeMask, consentRequired, fields, effectiveFrom);
    }

    /// @dev Registers the next key version of a tag domain, in force from `effectiveFrom`.
    function _registerTagKey(bytes32 domain, uint16 holderMask, bytes32 keyCommitment, uint64 effectiveFrom)
        internal
    {
        _checkTagKey(domain, holderMask, keyCommitment);
        TagKeyVersion[] storage versions = _tagKeys[domain];
        if (versions.length == 0) _tagDomains.push(domain);
        // Every version keeps its number, even one superseded in the block it was registered
        // in: tags may have been announced under it. `tagKeyAt` answers with the latest.
        uint32 version = uint32(versions.length) + 1;
        versions.push(TagKeyVersion(version, holderMask, effectiveFrom, keyCommitment));
        emit TagKeyRegistered(domain, version, holderMask, keyCommitment, effectiveFrom);
    }

    /// @dev Reverts unless `encryptionKey` is non-zero and was never any agency's.
    function _checkNewEncryptionKey(bytes32 encryptionKey) internal view {
        if (encryptionKey == bytes32(0)) revert ConsortiumZeroEncryptionKey();
        if (_encryptionKeyUsed[encryptionKey]) revert ConsortiumEncryptionKeyAlreadyUsed(encryptionKey);
    }

    /// @dev Reverts unless the rule names a registered schema and a valid kind, and is coherent.
    function _checkReadRule(
        bytes32 schemaId,
        AgencyKind readerKind,
        uint32 purposeMask,
        bool consentRequired,
        string memory fields
    ) internal view {
        if (!_schemaExists(schemaId)) revert ConsortiumUnknownSchema(schemaId);
        _checkKind(readerKind);
        // A rule either allows something and says what, or allows nothing at all: history
        // then never holds a rule whose fields or consent mean nothing.
        bool allows = purposeMask != 0;
        if (allows != (bytes(fields).length != 0) || (!allows && consentRequired)) {
            revert ConsortiumInvalidReadRule(schemaId, uint8(readerKind), purposeMask);
        }
    }

    /// @dev Reverts unless the key version is well-formed and new to its domain.
    function _checkTagKey(bytes32 domain, uint16 holderMask, bytes32 keyCommitment) internal view {
        if (domain == bytes32(0) || keyCommitment == bytes32(0) || !_validKindMask(holderMask)) {
            revert ConsortiumInvalidTagKey(domain, holderMask, keyCommitment);
        }
        TagKeyVersion[] storage versions = _tagKeys[domain];
        for (uint256 i = 0; i < versions.length; ++i) {
            if (versions[i].keyCommitment == keyCommitment) revert ConsortiumTagKeyReused(domain, keyCommitment);
        }
    }

    /// @dev Reverts for `AgencyKind.None` (out-of-range kinds never decode).
    function _checkKind(AgencyKind kind) internal pure {
        if (kind == AgencyKind.None) revert ConsortiumInvalidKind(uint8(kind));
    }

    /// @dev Whether a kind mask names at least one kind and only valid ones.
    function _validKindMask(uint16 kindMask) internal pure returns (bool) {
        return kindMask != 0 && kindMask & ~_VALID_KIND_BITS == 0;
    }
}
