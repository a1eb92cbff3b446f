// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortium} from "../../contracts/interfaces/IConsortium.sol";

import {LedgerFixture} from "./utils/LedgerFixture.sol";

/// @notice Governance of the registry beyond membership: agencies' encryption keys, the read
/// policy of the exchange and the subject-tag key registry. Each change needs M-of-N approval,
/// takes effect from the block after the one that executed it, and leaves a history.
abstract contract RegistryFixture is LedgerFixture {
    /// @dev Proposes `a` as the tax bureau, approves it by one more agency (2 of 3), and checks
    /// that it cannot be executed, so that nothing changed.
    function _assertNeedsThreshold(IConsortium.Action memory a) internal {
        uint256 id = _propose(taxBureau, a);
        _approve(bank, id);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInsufficientApprovals.selector, id, 2, THRESHOLD));
        _execute(id);
    }

    function _expectProposeReverts(IConsortium.Action memory a, bytes memory err) internal {
        vm.prank(taxBureau);
        vm.expectRevert(err);
        ledger.propose(a);
    }
}

contract EncryptionKeyTest is RegistryFixture {
    bytes32 internal constant NEW_KEY = keccak256("bank's second encryption key");

    function test_SetEncryptionKey_TakesEffectFromTheNextBlock() public {
        bytes32 oldKey = _encryptionKey(bank);
        uint64 executed = _nextBlock();
        uint256 id = _propose(taxBureau, _setEncryptionKeyAction(BANK_ID, NEW_KEY));
        _approve(bank, id);
        _approve(auditor, id);
        vm.expectEmit(address(ledger));
        emit IConsortium.EncryptionKeySet(BANK_ID, NEW_KEY, executed + 1);
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.SetEncryptionKey);
        _execute(id);

        assertEq(ledger.getAgency(BANK_ID).encryptionKey, NEW_KEY, "the latest key");
        assertEq(ledger.encryptionKeyAt(BANK_ID, executed), oldKey, "the old key in the executing block");
        assertEq(ledger.encryptionKeyAt(BANK_ID, executed + 1), NEW_KEY, "the new key from the next block");
        IConsortium.EncryptionKeyChange[] memory history = ledger.getEncryptionKeyHistory(BANK_ID);
        assertEq(history.length, 2, "history keeps both");
        assertEq(history[0].encryptionKey, oldKey, "founding key");
        assertEq(history[0].fromBlock, uint64(START_BLOCK), "founding key from founding");
        assertEq(history[1].encryptionKey, NEW_KEY, "rotated key");
        assertEq(history[1].fromBlock, executed + 1, "rotated key from the next block");
        // Other agencies keep theirs.
        assertEq(ledger.getEncryptionKeyHistory(TAX_BUREAU_ID).length, 1, "tax bureau untouched");
    }

    function test_SetEncryptionKey_NeedsThreshold() public {
        _assertNeedsThreshold(_setEncryptionKeyAction(BANK_ID, NEW_KEY));
        assertEq(ledger.getAgency(BANK_ID).encryptionKey, _encryptionKey(bank), "unchanged");
        assertEq(ledger.getEncryptionKeyHistory(BANK_ID).length, 1, "no history entry");
    }

    function test_SetEncryptionKey_RevertWhen_Invalid() public {
        _expectProposeReverts(
            _setEncryptionKeyAction(BANK_ID, bytes32(0)),
            abi.encodeWithSelector(IConsortium.ConsortiumZeroEncryptionKey.selector)
        );
        _expectProposeReverts(
            _setEncryptionKeyAction(9, NEW_KEY), abi.encodeWithSelector(IConsortium.ConsortiumUnknownAgency.selector, 9)
        );
        // Never reused: not its own current key, nor another agency's, nor a key rotated out.
        bytes32[2] memory taken = [_encryptionKey(bank), _encryptionKey(auditor)];
        for (uint256 i = 0; i < taken.length; ++i) {
            _expectProposeReverts(
                _setEncryptionKeyAction(BANK_ID, taken[i]),
                abi.encodeWithSelector(IConsortium.ConsortiumEncryptionKeyAlreadyUsed.selector, taken[i])
            );
        }
        _enact(_setEncryptionKeyAction(BANK_ID, NEW_KEY));
        _nextBlock();
        _expectProposeReverts(
            _setEncryptionKeyAction(TAX_BUREAU_ID, _encryptionKey(bank)),
            abi.encodeWithSelector(IConsortium.ConsortiumEncryptionKeyAlreadyUsed.selector, _encryptionKey(bank))
        );
    }

    function test_SetEncryptionKey_TwiceInOneBlockLeavesTheLast() public {
        bytes32 third = keccak256("bank's third encryption key");
        uint64 executed = _nextBlock();
        _enact(_setEncryptionKeyAction(BANK_ID, NEW_KEY));
        _enact(_setEncryptionKeyAction(BANK_ID, third));
        IConsortium.EncryptionKeyChange[] memory history = ledger.getEncryptionKeyHistory(BANK_ID);
        assertEq(history.length, 2, "one entry for the block");
        assertEq(history[1].encryptionKey, third, "the last one takes effect");
        assertEq(ledger.encryptionKeyAt(BANK_ID, executed + 1), third, "in force");
        // The replaced key was registered, so it stays taken.
        _expectProposeReverts(
            _setEncryptionKeyAction(TAX_BUREAU_ID, NEW_KEY),
            abi.encodeWithSelector(IConsortium.ConsortiumEncryptionKeyAlreadyUsed.selector, NEW_KEY)
        );
    }

    function test_SetEncryptionKey_OfSuspendedAgency() public {
        // A suspended agency still receives what it asked for before: its key can be replaced.
        _suspend(AUDITOR_ID);
        _enact(_setEncryptionKeyAction(AUDITOR_ID, NEW_KEY));
        assertEq(ledger.getAgency(AUDITOR_ID).encryptionKey, NEW_KEY, "rotated");
    }

    function test_Proposal_CarriesTheEncryptionKey() public {
        uint256 id = _propose(bank, _setEncryptionKeyAction(BANK_ID, NEW_KEY));
        IConsortium.Action memory a = ledger.getProposal(id).action;
        assertEq(uint8(a.actionType), uint8(IConsortium.ActionType.SetEncryptionKey), "actionType");
        assertEq(a.agencyId, BANK_ID, "agencyId");
        assertEq(a.encryptionKey, NEW_KEY, "encryptionKey");
    }
}

contract ReadPolicyTest is RegistryFixture {
    function _assertRule(
        IConsortium.ReadRule memory rule,
        uint64 fromBlock,
        uint32 purposeMask,
        bool consentRequired,
        string memory fields
    ) internal pure {
        assertEq(rule.fromBlock, fromBlock, "rule fromBlock");
        assertEq(rule.purposeMask, purposeMask, "rule purposeMask");
        assertEq(rule.consentRequired, consentRequired, "rule consentRequired");
        assertEq(rule.fields, fields, "rule fields");
    }

    function test_SetReadPolicy_TakesEffectFromTheNextBlock() public {
        uint64 executed = _nextBlock();
        IConsortium.Action memory widened = _setReadPolicyAction(
            TAX_RATING, IConsortium.AgencyKind.Bank, CREDIT_ASSESSMENT | AUDIT, true, "uscc,year,level,score"
        );
        uint256 id = _propose(taxBureau, widened);
        _approve(bank, id);
        _approve(marketRegulator, id);
        vm.expectEmit(address(ledger));
        emit IConsortium.ReadPolicySet(
            TAX_RATING, IConsortium.AgencyKind.Bank, CREDIT_ASSESSMENT | AUDIT, true, "uscc,year,level,score", executed + 1
        );
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.SetReadPolicy);
        _execute(id);

        IConsortium.AgencyKind bankKind = IConsortium.AgencyKind.Bank;
        _assertRule(
            ledger.readRuleAt(TAX_RATING, bankKind, executed), uint64(START_BLOCK), CREDIT_ASSESSMENT, true, "uscc,year,level"
        );
        _assertRule(
            ledger.readRuleAt(TAX_RATING, bankKind, executed + 1),
            executed + 1,
            CREDIT_ASSESSMENT | AUDIT,
            true,
            "uscc,year,level,score"
        );
        IConsortium.ReadRule[] memory history = ledger.getReadRuleHistory(TAX_RATING, bankKind);
        assertEq(history.length, 2, "history keeps both");
        _assertRule(history[0], uint64(START_BLOCK), CREDIT_ASSESSMENT, true, "uscc,year,level");
        _assertRule(history[1], executed + 1, CREDIT_ASSESSMENT | AUDIT, true, "uscc,year,level,score");
        // The rule is per reader kind: the market regulator still may read nothing.
        _assertRule(ledger.readRuleAt(TAX_RATING, IConsortium.AgencyKind.MarketRegulator, executed + 1), 0, 0, false, "");
    }

    function test_ReadRuleAt_WithoutRuleAllowsNothing() public view {
        _assertRule(ledger.readRuleAt(INVOICE_ISSUED, IConsortium.AgencyKind.Bank, uint64(block.number)), 0, 0, false, "");
        assertEq(ledger.getReadRuleHistory(INVOICE_ISSUED, IConsortium.AgencyKind.Bank).length, 0, "no history");
        // Before founding, no rule was in force either.
        _assertRule(ledger.readRuleAt(TAX_RATING, IConsortium.AgencyKind.Bank, uint64(START_BLOCK) - 1), 0, 0, false, "");
    }

    function test_SetReadPolicy_WithdrawsAccess() public {
        _enact(_setReadPolicyAction(PAYMENT_SETTLED, IConsortium.AgencyKind.TaxBureau, 0, false, ""));
        uint64 next = _nextBlock();
        _assertRule(ledger.readRuleAt(PAYMENT_SETTLED, IConsortium.AgencyKind.TaxBureau, next), next, 0, false, "");
        _assertRule(
            ledger.readRuleAt(PAYMENT_SETTLED, IConsortium.AgencyKind.TaxBureau, next - 1),
            uint64(START_BLOCK),
            TAX_ADMINISTRATION,
            false,
            "*"
        );
    }

    function test_SetReadPolicy_NeedsThreshold() public {
        _assertNeedsThreshold(_setReadPolicyAction(INVOICE_ISSUED, IConsortium.AgencyKind.Bank, CREDIT_ASSESSMENT, true, "*"));
        assertEq(ledger.getReadRuleHistory(INVOICE_ISSUED, IConsortium.AgencyKind.Bank).length, 0, "no rule");
    }

    function test_SetReadPolicy_RevertWhen_Invalid() public {
        bytes32 unknown = keccak256("customs.declaration/v1");
        _expectProposeReverts(
            _setReadPolicyAction(unknown, IConsortium.AgencyKind.Bank, CREDIT_ASSESSMENT, false, "*"),
            abi.encodeWithSelector(IConsortium.ConsortiumUnknownSchema.selector, unknown)
        );
        _expectProposeReverts(
            _setReadPolicyAction(TAX_RATING, IConsortium.AgencyKind.None, CREDIT_ASSESSMENT, false, "*"),
            abi.encodeWithSelector(IConsortium.ConsortiumInvalidKind.selector, 0)
        );
        uint8 bankKind = uint8(IConsortium.AgencyKind.Bank);
        // A purpose without fields; fields, or a consent, without a purpose.
        _expectProposeReverts(
            _setReadPolicyAction(TAX_RATING, IConsortium.AgencyKind.Bank, CREDIT_ASSESSMENT, true, ""),
            abi.encodeWithSelector(IConsortium.ConsortiumInvalidReadRule.selector, TAX_RATING, bankKind, CREDIT_ASSESSMENT)
        );
        _expectProposeReverts(
            _setReadPolicyAction(TAX_RATING, IConsortium.AgencyKind.Bank, 0, false, "uscc"),
            abi.encodeWithSelector(IConsortium.ConsortiumInvalidReadRule.selector, TAX_RATING, bankKind, 0)
        );
        _expectProposeReverts(
            _setReadPolicyAction(TAX_RATING, IConsortium.AgencyKind.Bank, 0, true, ""),
            abi.encodeWithSelector(IConsortium.ConsortiumInvalidReadRule.selector, TAX_RATING, bankKind, 0)
        );
        assertEq(ledger.proposalCount(), 0, "no proposal recorded");
    }

    function test_SetReadPolicy_TwiceInOneBlockLeavesTheLast() public {
        uint64 executed = _nextBlock();
        _enact(_setReadPolicyAction(TAX_RATING, IConsortium.AgencyKind.Bank, AUDIT, false, "*"));
        _enact(_setReadPolicyAction(TAX_RATING, IConsortium.AgencyKind.Bank, CREDIT_ASSESSMENT, true, "uscc,level"));
        IConsortium.ReadRule[] memory history = ledger.getReadRuleHistory(TAX_RATING, IConsortium.AgencyKind.Bank);
        assertEq(history.length, 2, "one entry for the block");
        _assertRule(history[1], executed + 1, CREDIT_ASSESSMENT, true, "uscc,level");
    }

    function test_SetReadPolicy_ForASchemaRegisteredByGovernance() public {
        bytes32 declaration = keccak256("tax.declaration/v1");
        _enact(_registerSchemaAction(declaration, _mask(IConsortium.AgencyKind.TaxBureau), true, "tax.declaration/v1"));
        _enact(_setReadPolicyAction(declaration, IConsortium.AgencyKind.Auditor, AUDIT, false, "*"));
        uint64 next = _nextBlock();
        _assertRule(ledger.readRuleAt(declaration, IConsortium.AgencyKind.Auditor, next), next, AUDIT, false, "*");
    }

    function test_Proposal_CarriesTheReadRule() public {
        uint256 id = _propose(
            bank, _setReadPolicyAction(TAX_RATING, IConsortium.AgencyKind.Bank, CREDIT_ASSESSMENT, true, "uscc,level")
        );
        IConsortium.Action memory a = ledger.getProposal(id).action;
        assertEq(uint8(a.actionType), uint8(IConsortium.ActionType.SetReadPolicy), "actionType");
        assertEq(a.schemaId, TAX_RATING, "schemaId");
        assertEq(uint8(a.kind), uint8(IConsortium.AgencyKind.Bank), "reader kind");
        assertEq(a.purposeMask, CREDIT_ASSESSMENT, "purposeMask");
        assertTrue(a.consentRequired, "consentRequired");
        assertEq(a.fields, "uscc,level", "fields");
    }
}

contract TagKeyTest is RegistryFixture {
    bytes32 internal constant CREDIT_KEY_2 = keccak256("taxpayer-credit key, version 2");

    function _assertVersion(
        IConsortium.TagKeyVersion memory v,
        uint32 version,
        uint16 holderMask,
        uint64 fromBlock,
        bytes32 keyCommitment
    ) internal pure {
        assertEq(v.version, version, "version");
        assertEq(v.holderMask, holderMask, "holderMask");
        assertEq(v.fromBlock, fromBlock, "fromBlock");
        assertEq(v.keyCommitment, keyCommitment, "keyCommitment");
    }

    function test_RegisterTagKey_RotatesFromTheNextBlock_OldVersionsStay() public {
        uint16 holders = _mask(IConsortium.AgencyKind.TaxBureau) | _mask(IConsortium.AgencyKind.Bank)
            | _mask(IConsortium.AgencyKind.Auditor);
        uint64 executed = _nextBlock();
        uint256 id = _propose(taxBureau, _registerTagKeyAction(TAXPAYER_CREDIT, holders, CREDIT_KEY_2));
        _approve(bank, id);
        _approve(auditor, id);
        vm.expectEmit(address(ledger));
        emit IConsortium.TagKeyRegistered(TAXPAYER_CREDIT, 2, holders, CREDIT_KEY_2, executed + 1);
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.RegisterTagKey);
        _execute(id);

        uint16 founding = _mask(IConsortium.AgencyKind.TaxBureau) | _mask(IConsortium.AgencyKind.Bank);
        _assertVersion(ledger.tagKeyAt(TAXPAYER_CREDIT, executed), 1, founding, uint64(START_BLOCK), CREDIT_KEY_1);
        _assertVersion(ledger.tagKeyAt(TAXPAYER_CREDIT, executed + 1), 2, holders, executed + 1, CREDIT_KEY_2);
        IConsortium.TagKeyVersion[] memory versions = ledger.getTagKeyVersions(TAXPAYER_CREDIT);
        assertEq(versions.length, 2, "both versions listed");
        _assertVersion(versions[0], 1, founding, uint64(START_BLOCK), CREDIT_KEY_1);
        _assertVersion(versions[1], 2, holders, executed + 1, CREDIT_KEY_2);
        assertEq(ledger.tagDomainCount(), 2, "no new domain");
    }

    function test_RegisterTagKey_OfANewDomain() public {
        bytes32 domain = keccak256("taxpayer-invoices");
        bytes32 commitment = keccak256("taxpayer-invoices key, version 1");
        uint16 holders = _mask(IConsortium.AgencyKind.MarketRegulator);
        _enact(_registerTagKeyAction(domain, holders, commitment));
        assertEq(ledger.tagDomainCount(), 3, "a third domain");
        assertEq(ledger.tagDomainAt(3), domain, "listed last");
        uint64 next = _nextBlock();
        _assertVersion(ledger.tagKeyAt(domain, next), 1, holders, next, commitment);
        assertEq(ledger.tagKeyAt(domain, next - 1).version, 0, "not before it took effect");
    }

    function test_RegisterTagKey_TwiceInOneBlockKeepsBothVersions() public {
        bytes32 third = keccak256("taxpayer-credit key, version 3");
        uint16 holders = _mask(IConsortium.AgencyKind.TaxBureau);
        uint64 executed = _nextBlock();
        _enact(_registerTagKeyAction(TAXPAYER_CREDIT, holders, CREDIT_KEY_2));
        _enact(_registerTagKeyAction(TAXPAYER_CREDIT, holders, third));
        assertEq(ledger.getTagKeyVersions(TAXPAYER_CREDIT).length, 3, "every version keeps its number");
        _assertVersion(ledger.tagKeyAt(TAXPAYER_CREDIT, executed + 1), 3, holders, executed + 1, third);
    }

    function test_RegisterTagKey_NeedsThreshold() public {
        _assertNeedsThreshold(_registerTagKeyAction(TAXPAYER_CREDIT, _mask(IConsortium.AgencyKind.Bank), CREDIT_KEY_2));
        assertEq(ledger.getTagKeyVersions(TAXPAYER_CREDIT).length, 1, "no new version");
    }

    function test_RegisterTagKey_RevertWhen_Invalid() public {
        uint16 bankOnly = _mask(IConsortium.AgencyKind.Bank);
        _expectProposeReverts(
            _registerTagKeyAction(bytes32(0), bankOnly, CREDIT_KEY_2),
            abi.encodeWithSelector(IConsortium.ConsortiumInvalidTagKey.selector, bytes32(0), bankOnly, CREDIT_KEY_2)
        );
        _expectProposeReverts(
            _registerTagKeyAction(TAXPAYER_CREDIT, bankOnly, bytes32(0)),
            abi.encodeWithSelector(IConsortium.ConsortiumInvalidTagKey.selector, TAXPAYER_CREDIT, bankOnly, bytes32(0))
        );
        uint16[3] memory badMasks = [uint16(0), uint16(0x01), uint16(0x20)];
        for (uint256 i = 0; i < badMasks.length; ++i) {
            _expectProposeReverts(
                _registerTagKeyAction(TAXPAYER_CREDIT, badMasks[i], CREDIT_KEY_2),
                abi.encodeWithSelector(
                    IConsortium.ConsortiumInvalidTagKey.selector, TAXPAYER_CREDIT, badMasks[i], CREDIT_KEY_2
                )
            );
        }
        // A rotation needs a new key: the commitment of an earlier version is refused.
        _expectProposeReverts(
            _registerTagKeyAction(TAXPAYER_CREDIT, bankOnly, CREDIT_KEY_1),
            abi.encodeWithSelector(IConsortium.ConsortiumTagKeyReused.selector, TAXPAYER_CREDIT, CREDIT_KEY_1)
        );
        assertEq(ledger.proposalCount(), 0, "no proposal recorded");
    }

    function test_Proposal_CarriesTheTagKey() public {
        uint16 bankOnly = _mask(IConsortium.AgencyKind.Bank);
        uint256 id = _propose(bank, _registerTagKeyAction(TAXPAYER_CREDIT, bankOnly, CREDIT_KEY_2));
        IConsortium.Action memory a = ledger.getProposal(id).action;
        assertEq(uint8(a.actionType), uint8(IConsortium.ActionType.RegisterTagKey), "actionType");
        assertEq(a.tagDomain, TAXPAYER_CREDIT, "tagDomain");
        assertEq(a.kindMask, bankOnly, "holders");
        assertEq(a.keyCommitment, CREDIT_KEY_2, "keyCommitment");
    }
}

/// @notice No single key changes the registry: whatever one agency proposes, its approval alone
/// never executes, for every new action.
contract RegistryGovernanceFuzzTest is RegistryFixture {
    function testFuzz_NoSingleKeyChangesTheRegistry(uint256 agencySeed, uint256 actionSeed, bytes32 value) public {
        vm.assume(value != bytes32(0) && value != CREDIT_KEY_1);
        uint32 actor = uint32(bound(agencySeed, 1, 4));
        address actorKey = ledger.getAgency(actor).key;
        IConsortium.Action memory a;
        uint256 choice = bound(actionSeed, 0, 2);
        if (choice == 0) {
            a = _setEncryptionKeyAction(actor, value);
        } else if (choice == 1) {
            a = _setReadPolicyAction(TAX_RATING, ledger.getAgency(actor).kind, uint32(uint256(value)) | 1, false, "*");
        } else {
            a = _registerTagKeyAction(TAXPAYER_CREDIT, _mask(ledger.getAgency(actor).kind), value);
        }
        uint256 id = _propose(actorKey, a);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInsufficientApprovals.selector, id, 1, THRESHOLD));
        vm.prank(actorKey);
        ledger.execute(id);

        assertEq(ledger.getEncryptionKeyHistory(actor).length, 1, "encryption keys unchanged");
        assertEq(
            ledger.getReadRuleHistory(TAX_RATING, ledger.getAgency(actor).kind).length,
            ledger.getAgency(actor).kind == IConsortium.AgencyKind.Bank ? 1 : 0,
            "read policy unchanged"
        );
        assertEq(ledger.getTagKeyVersions(TAXPAYER_CREDIT).length, 1, "tag keys unchanged");
    }
}
