// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {TaxLedger} from "../../contracts/TaxLedger.sol";
import {IConsortium} from "../../contracts/interfaces/IConsortium.sol";
import {ITaxLedger} from "../../contracts/interfaces/ITaxLedger.sol";

import {LedgerFixture} from "./utils/LedgerFixture.sol";

/// @notice Shared assertions on consortium state.
abstract contract ConsortiumAssertions is LedgerFixture {
    function _assertAgency(
        uint32 agencyId,
        IConsortium.AgencyKind kind,
        IConsortium.AgencyStatus status,
        address key,
        string memory name
    ) internal view {
        IConsortium.Agency memory agency = ledger.getAgency(agencyId);
        assertEq(uint8(agency.kind), uint8(kind), "agency kind");
        assertEq(uint8(agency.status), uint8(status), "agency status");
        assertEq(agency.key, key, "agency key");
        assertEq(agency.name, name, "agency name");
    }

    /// @dev The agency's only encryption key is `encryptionKey`, in force from `fromBlock`.
    function _assertSingleEncryptionKey(uint32 agencyId, bytes32 encryptionKey, uint64 fromBlock) internal view {
        assertEq(ledger.getAgency(agencyId).encryptionKey, encryptionKey, "agency encryptionKey");
        IConsortium.EncryptionKeyChange[] memory history = ledger.getEncryptionKeyHistory(agencyId);
        assertEq(history.length, 1, "one encryption key");
        assertEq(history[0].fromBlock, fromBlock, "encryption key fromBlock");
        assertEq(history[0].encryptionKey, encryptionKey, "encryption key");
        assertEq(ledger.encryptionKeyAt(agencyId, fromBlock - 1), bytes32(0), "no key before");
        assertEq(ledger.encryptionKeyAt(agencyId, fromBlock), encryptionKey, "in force from fromBlock");
    }

    /// @dev The agency's pending-change bookkeeping: its latest status is in effect from
    /// `statusFrom`, and `previousStatus` before that.
    function _assertStatusFrom(uint32 agencyId, uint64 statusFrom, IConsortium.AgencyStatus previousStatus)
        internal
        view
    {
        IConsortium.Agency memory agency = ledger.getAgency(agencyId);
        assertEq(agency.statusFrom, statusFrom, "agency statusFrom");
        assertEq(uint8(agency.previousStatus), uint8(previousStatus), "agency previousStatus");
    }

    function _assertKeyRecord(address key, uint32 agencyId, uint64 fromBlock, uint64 untilBlock) internal view {
        IConsortium.KeyRecord memory record = ledger.getKeyRecord(key);
        assertEq(record.agencyId, agencyId, "key record agencyId");
        assertEq(record.fromBlock, fromBlock, "key record fromBlock");
        assertEq(record.untilBlock, untilBlock, "key record untilBlock");
    }

    function _assertStatusChange(uint32 agencyId, uint256 index, uint64 blockNumber, IConsortium.AgencyStatus status)
        internal
        view
    {
        IConsortium.StatusChange[] memory history = ledger.getStatusHistory(agencyId);
        assertTrue(index < history.length, "status history too short");
        assertEq(history[index].blockNumber, blockNumber, "status change block");
        assertEq(uint8(history[index].status), uint8(status), "status change status");
    }

    function _assertSchema(bytes32 schemaId, uint32 index, uint16 kindMask, bool revocable, string memory name)
        internal
        view
    {
        IConsortium.Schema memory schema = ledger.getSchema(schemaId);
        assertEq(schema.index, index, "schema index");
        assertEq(schema.kindMask, kindMask, "schema kindMask");
        assertEq(schema.revocable, revocable, "schema revocable");
        assertEq(schema.name, name, "schema name");
        assertEq(ledger.schemaIdAt(index), schemaId, "schemaIdAt");
    }
}

contract ConsortiumConstructorTest is ConsortiumAssertions {
    /// @dev A ledger founded without read rules or tag keys.
    function _deploy(IConsortium.Founder[] memory founders, IConsortium.SchemaInit[] memory schemas, uint16 t)
        internal
        returns (TaxLedger)
    {
        return new TaxLedger(founders, schemas, new IConsortium.ReadRuleInit[](0), new IConsortium.TagKeyInit[](0), t);
    }

    function _schemaList(IConsortium.SchemaInit memory s) internal pure returns (IConsortium.SchemaInit[] memory list) {
        list = new IConsortium.SchemaInit[](1);
        list[0] = s;
    }

    function test_Constructor_RegistersFoundersSchemasAndThreshold() public view {
        assertEq(ledger.agencyCount(), 4, "agencyCount");
        assertEq(ledger.activeAgencyCount(), 4, "activeAgencyCount");
        assertEq(ledger.threshold(), THRESHOLD, "threshold");
        assertEq(ledger.proposalCount(), 0, "proposalCount");

        IConsortium.Founder[] memory founders = _founders();
        for (uint32 i = 0; i < founders.length; ++i) {
            uint32 id = i + 1;
            _assertAgency(id, founders[i].kind, IConsortium.AgencyStatus.Active, founders[i].key, founders[i].name);
            _assertKeyRecord(founders[i].key, id, uint64(START_BLOCK), 0);
            // Founders are in effect from the deployment block itself, not the next one.
            _assertStatusFrom(id, uint64(START_BLOCK), IConsortium.AgencyStatus.None);
            assertEq(ledger.getStatusHistory(id).length, 1, "status history length");
            _assertStatusChange(id, 0, uint64(START_BLOCK), IConsortium.AgencyStatus.Active);
            assertTrue(ledger.wasActiveAt(id, uint64(START_BLOCK)), "active from founding");
            assertFalse(ledger.wasActiveAt(id, uint64(START_BLOCK) - 1), "not active before founding");
            _assertSingleEncryptionKey(id, founders[i].encryptionKey, uint64(START_BLOCK));
        }

        IConsortium.SchemaInit[] memory schemas = _schemaInits();
        for (uint32 i = 0; i < schemas.length; ++i) {
            _assertSchema(schemas[i].schemaId, i + 1, schemas[i].kindMask, schemas[i].revocable, schemas[i].name);
            assertEq(schemas[i].schemaId, keccak256(bytes(schemas[i].name)), "schema id is keccak256 of its name");
        }
        assertEq(ledger.schemaIdAt(SCHEMA_COUNT + 1), bytes32(0), "no schema past the last index");
        assertEq(ledger.getSchema(keccak256("unknown")).index, 0, "unknown schema has index 0");
        assertEq(ledger.getAgency(5).key, address(0), "no agency past the last id");
    }

    function test_Constructor_EmitsFoundingEvents() public {
        IConsortium.Founder[] memory founders = _founders();
        IConsortium.SchemaInit[] memory schemas = _schemaInits();
        IConsortium.ReadRuleInit[] memory rules = _readRuleInits();
        IConsortium.TagKeyInit[] memory tagKeys = _tagKeyInits();
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        uint64 here = uint64(block.number);
        for (uint32 i = 0; i < founders.length; ++i) {
            vm.expectEmit(predicted);
            emit IConsortium.AgencyAdded(i + 1, founders[i].kind, founders[i].key, founders[i].name);
            vm.expectEmit(predicted);
            emit IConsortium.EncryptionKeySet(i + 1, founders[i].encryptionKey, here);
        }
        for (uint32 i = 0; i < schemas.length; ++i) {
            vm.expectEmit(predicted);
            emit IConsortium.SchemaRegistered(
                schemas[i].schemaId, i + 1, schemas[i].kindMask, schemas[i].revocable, schemas[i].name
            );
        }
        for (uint256 i = 0; i < rules.length; ++i) {
            vm.expectEmit(predicted);
            emit IConsortium.ReadPolicySet(
                rules[i].schemaId, rules[i].readerKind, rules[i].purposeMask, rules[i].consentRequired, rules[i].fields, here
            );
        }
        for (uint256 i = 0; i < tagKeys.length; ++i) {
            vm.expectEmit(predicted);
            emit IConsortium.TagKeyRegistered(tagKeys[i].domain, 1, tagKeys[i].holderMask, tagKeys[i].keyCommitment, here);
        }
        vm.expectEmit(predicted);
        emit IConsortium.ThresholdChanged(0, THRESHOLD);
        TaxLedger founded = new TaxLedger(founders, schemas, rules, tagKeys, THRESHOLD);
        assertEq(address(founded), predicted, "deployed at the predicted address");
    }

    function test_Constructor_FoundsReadPolicyAndTagKeys() public view {
        IConsortium.ReadRuleInit[] memory rules = _readRuleInits();
        for (uint256 i = 0; i < rules.length; ++i) {
            IConsortium.ReadRule[] memory history = ledger.getReadRuleHistory(rules[i].schemaId, rules[i].readerKind);
            assertEq(history.length, 1, "one rule");
            assertEq(history[0].fromBlock, uint64(START_BLOCK), "in force from founding");
            assertEq(history[0].purposeMask, rules[i].purposeMask, "purposeMask");
            assertEq(history[0].consentRequired, rules[i].consentRequired, "consentRequired");
            assertEq(history[0].fields, rules[i].fields, "fields");
        }
        assertEq(ledger.tagDomainCount(), 2, "tagDomainCount");
        assertEq(ledger.tagDomainAt(1), TAXPAYER_CREDIT, "first domain");
        assertEq(ledger.tagDomainAt(2), INVOICE_DOMAIN, "second domain");
        assertEq(ledger.tagDomainAt(3), bytes32(0), "no domain past the last index");
        IConsortium.TagKeyVersion memory version = ledger.tagKeyAt(TAXPAYER_CREDIT, uint64(START_BLOCK));
        assertEq(version.version, 1, "version");
        assertEq(version.keyCommitment, CREDIT_KEY_1, "keyCommitment");
        assertEq(version.fromBlock, uint64(START_BLOCK), "fromBlock");
        assertEq(
            version.holderMask,
            _mask(IConsortium.AgencyKind.TaxBureau) | _mask(IConsortium.AgencyKind.Bank),
            "holderMask"
        );
        assertEq(ledger.tagKeyAt(TAXPAYER_CREDIT, uint64(START_BLOCK) - 1).version, 0, "none before founding");
    }

    function test_Constructor_RevertWhen_FounderEncryptionKeyZero() public {
        IConsortium.Founder[] memory founders = _founders();
        founders[1].encryptionKey = bytes32(0);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumZeroEncryptionKey.selector));
        _deploy(founders, _schemaInits(), THRESHOLD);
    }

    function test_Constructor_RevertWhen_FounderEncryptionKeyShared() public {
        IConsortium.Founder[] memory founders = _founders();
        founders[3].encryptionKey = founders[0].encryptionKey;
        vm.expectRevert(
            abi.encodeWithSelector(IConsortium.ConsortiumEncryptionKeyAlreadyUsed.selector, founders[0].encryptionKey)
        );
        _deploy(founders, _schemaInits(), THRESHOLD);
    }

    function test_Constructor_RevertWhen_ReadRuleOfUnfoundedSchema() public {
        IConsortium.ReadRuleInit[] memory rules = _readRuleInits();
        rules[1].schemaId = keccak256("customs.declaration/v1");
        vm.expectRevert(
            abi.encodeWithSelector(IConsortium.ConsortiumUnknownSchema.selector, keccak256("customs.declaration/v1"))
        );
        new TaxLedger(_founders(), _schemaInits(), rules, _tagKeyInits(), THRESHOLD);
    }

    function test_Constructor_RevertWhen_TagKeyInvalid() public {
        IConsortium.TagKeyInit[] memory tagKeys = _tagKeyInits();
        tagKeys[1].keyCommitment = bytes32(0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumInvalidTagKey.selector, INVOICE_DOMAIN, tagKeys[1].holderMask, bytes32(0)
            )
        );
        new TaxLedger(_founders(), _schemaInits(), _readRuleInits(), tagKeys, THRESHOLD);
    }

    function test_Constructor_AcceptsSingleFounderWithoutSchemas() public {
        IConsortium.Founder[] memory founders = new IConsortium.Founder[](1);
        founders[0] = _founders()[0];
        TaxLedger single = _deploy(founders, new IConsortium.SchemaInit[](0), 1);
        assertEq(single.agencyCount(), 1, "agencyCount");
        assertEq(single.threshold(), 1, "threshold");
        assertEq(single.schemaIdAt(1), bytes32(0), "no schema");
    }

    function test_Constructor_RevertWhen_NoFounders() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNoFounders.selector));
        _deploy(new IConsortium.Founder[](0), _schemaInits(), 1);
    }

    function test_Constructor_RevertWhen_ThresholdZero() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidThreshold.selector, 0, 4));
        _deploy(_founders(), _schemaInits(), 0);
    }

    function test_Constructor_RevertWhen_ThresholdAboveFounders() public {
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidThreshold.selector, 5, 4));
        _deploy(_founders(), _schemaInits(), 5);
    }

    function testFuzz_Constructor_ThresholdMustBeWithinFounders(uint16 t) public {
        if (t == 0 || t > 4) {
            vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidThreshold.selector, t, 4));
            _deploy(_founders(), _schemaInits(), t);
        } else {
            assertEq(_deploy(_founders(), _schemaInits(), t).threshold(), t, "threshold");
        }
    }

    function test_Constructor_RevertWhen_FounderKeyZero() public {
        IConsortium.Founder[] memory founders = _founders();
        founders[2].key = address(0);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumZeroKey.selector));
        _deploy(founders, _schemaInits(), THRESHOLD);
    }

    function test_Constructor_RevertWhen_FounderKeyDuplicate() public {
        IConsortium.Founder[] memory founders = _founders();
        founders[3].key = bank;
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumKeyAlreadyUsed.selector, bank));
        _deploy(founders, _schemaInits(), THRESHOLD);
    }

    function test_Constructor_RevertWhen_FounderKindNone() public {
        IConsortium.Founder[] memory founders = _founders();
        founders[1].kind = IConsortium.AgencyKind.None;
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidKind.selector, 0));
        _deploy(founders, _schemaInits(), THRESHOLD);
    }

    function test_Constructor_RevertWhen_FounderNameEmpty() public {
        IConsortium.Founder[] memory founders = _founders();
        founders[0].name = "";
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumEmptyName.selector));
        _deploy(founders, _schemaInits(), THRESHOLD);
    }

    function test_Constructor_RevertWhen_SchemaIdZero() public {
        IConsortium.SchemaInit memory s = IConsortium.SchemaInit(bytes32(0), 2, true, "zero");
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, bytes32(0), 2));
        _deploy(_founders(), _schemaList(s), THRESHOLD);
    }

    function test_Constructor_RevertWhen_SchemaMaskZero() public {
        IConsortium.SchemaInit memory s = IConsortium.SchemaInit(INVOICE_ISSUED, 0, true, "invoice.issued/v1");
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, INVOICE_ISSUED, 0));
        _deploy(_founders(), _schemaList(s), THRESHOLD);
    }

    function test_Constructor_RevertWhen_SchemaMaskAdmitsKindNone() public {
        // Bit 0 is AgencyKind.None, which no agency has.
        IConsortium.SchemaInit memory s = IConsortium.SchemaInit(INVOICE_ISSUED, 0x03, true, "invoice.issued/v1");
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, INVOICE_ISSUED, 0x03));
        _deploy(_founders(), _schemaList(s), THRESHOLD);
    }

    function test_Constructor_RevertWhen_SchemaMaskAboveLastKind() public {
        IConsortium.SchemaInit memory s = IConsortium.SchemaInit(INVOICE_ISSUED, 0x22, true, "invoice.issued/v1");
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, INVOICE_ISSUED, 0x22));
        _deploy(_founders(), _schemaList(s), THRESHOLD);
    }

    function testFuzz_Constructor_SchemaMaskMustUseOnlyKindBits(uint16 kindMask) public {
        IConsortium.SchemaInit memory s = IConsortium.SchemaInit(INVOICE_ISSUED, kindMask, true, "invoice.issued/v1");
        if (kindMask == 0 || kindMask & ~uint16(0x1e) != 0) {
            vm.expectRevert(
                abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, INVOICE_ISSUED, kindMask)
            );
            _deploy(_founders(), _schemaList(s), THRESHOLD);
        } else {
            assertEq(_deploy(_founders(), _schemaList(s), THRESHOLD).getSchema(INVOICE_ISSUED).kindMask, kindMask, "mask");
        }
    }

    function test_Constructor_RevertWhen_SchemaNameEmpty() public {
        IConsortium.SchemaInit memory s = IConsortium.SchemaInit(INVOICE_ISSUED, 2, true, "");
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumEmptyName.selector));
        _deploy(_founders(), _schemaList(s), THRESHOLD);
    }

    function test_Constructor_RevertWhen_SchemaDuplicate() public {
        IConsortium.SchemaInit[] memory schemas = _schemaInits();
        schemas[4].schemaId = PAYMENT_SETTLED;
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumSchemaExists.selector, PAYMENT_SETTLED));
        _deploy(_founders(), schemas, THRESHOLD);
    }
}

contract ConsortiumGovernanceTest is ConsortiumAssertions {
    uint256 internal constant NEW_BANK_PK = uint256(keccak256("taxledger.test.key.new-bank"));
    uint256 internal constant ROTATED_TAX_BUREAU_PK = uint256(keccak256("taxledger.test.key.tax-bureau.2"));
    bytes32 internal constant NEW_SCHEMA = keccak256("customs.declaration/v1");

    /// @dev Proposes `a` as the tax bureau and approves it by `extraApprovals` more agencies, then
    /// checks that execution fails with the exact count, and that the proposal stays open.
    function _assertBelowThreshold(IConsortium.Action memory a, uint256 extraApprovals) internal {
        address[3] memory others = [bank, marketRegulator, auditor];
        uint256 id = _propose(taxBureau, a);
        for (uint256 i = 0; i < extraApprovals; ++i) {
            _approve(others[i], id);
        }
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsortium.ConsortiumInsufficientApprovals.selector, id, 1 + extraApprovals, THRESHOLD
            )
        );
        _execute(id);
        assertFalse(ledger.getProposal(id).executed, "proposal stays open");
    }

    // ------------------------------------------------------------------ propose / approve / execute

    function test_Propose_RecordsProposalAndCountsProposerApproval() public {
        IConsortium.Action memory a = _addAgencyAction(IConsortium.AgencyKind.Bank, vm.addr(NEW_BANK_PK), "New Bank");
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalCreated(1, BANK_ID, IConsortium.ActionType.AddAgency);
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalApproved(1, BANK_ID);
        assertEq(_propose(bank, a), 1, "first proposal id");

        IConsortium.Proposal memory p = ledger.getProposal(1);
        assertEq(uint8(p.action.actionType), uint8(IConsortium.ActionType.AddAgency), "actionType");
        assertEq(uint8(p.action.kind), uint8(IConsortium.AgencyKind.Bank), "kind");
        assertEq(p.action.key, vm.addr(NEW_BANK_PK), "key");
        assertEq(p.action.name, "New Bank", "name");
        assertEq(p.proposer, BANK_ID, "proposer");
        assertEq(p.createdBlock, uint64(block.number), "createdBlock");
        assertFalse(p.executed, "executed");
        assertEq(p.approvers.length, 1, "approvers");
        assertEq(p.approvers[0], BANK_ID, "approver");
        assertEq(ledger.proposalCount(), 1, "proposalCount");
    }

    function test_Approve_EmitsAndRecordsApprover() public {
        uint256 id = _propose(taxBureau, _setThresholdAction(2));
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalApproved(id, AUDITOR_ID);
        _approve(auditor, id);
        uint32[] memory approvers = ledger.getProposal(id).approvers;
        assertEq(approvers.length, 2, "approvers");
        assertEq(approvers[1], AUDITOR_ID, "second approver");
    }

    function test_AddAgency_ExecutesWhenThresholdMet() public {
        address newKey = vm.addr(NEW_BANK_PK);
        uint256 id = _propose(taxBureau, _addAgencyAction(IConsortium.AgencyKind.Bank, newKey, "New Bank"));
        _approve(bank, id);
        _approve(marketRegulator, id);
        uint64 executedBlock = _nextBlock();

        vm.expectEmit(address(ledger));
        emit IConsortium.AgencyAdded(5, IConsortium.AgencyKind.Bank, newKey, "New Bank");
        vm.expectEmit(address(ledger));
        emit IConsortium.EncryptionKeySet(5, _encryptionKey(newKey), executedBlock + 1);
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.AddAgency);
        _execute(id);

        assertEq(ledger.agencyCount(), 5, "agencyCount");
        assertEq(ledger.activeAgencyCount(), 5, "activeAgencyCount");
        _assertAgency(5, IConsortium.AgencyKind.Bank, IConsortium.AgencyStatus.Active, newKey, "New Bank");
        // The agency and its key are in effect from the block after the executing one.
        _assertStatusFrom(5, executedBlock + 1, IConsortium.AgencyStatus.None);
        _assertKeyRecord(newKey, 5, executedBlock + 1, 0);
        _assertSingleEncryptionKey(5, _encryptionKey(newKey), executedBlock + 1);
        assertEq(ledger.getStatusHistory(5).length, 1, "status history length");
        _assertStatusChange(5, 0, executedBlock + 1, IConsortium.AgencyStatus.Active);
        assertFalse(ledger.wasActiveAt(5, executedBlock), "not active in the executing block");
        assertTrue(ledger.wasActiveAt(5, executedBlock + 1), "active from the next block");
        IConsortium.Proposal memory p = ledger.getProposal(id);
        assertTrue(p.executed, "executed");
        assertEq(p.approvers.length, 3, "approvers");

        // The new agency cannot govern in the executing block, and governs from the next one.
        vm.prank(newKey);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, newKey));
        ledger.propose(_setThresholdAction(2));
        _nextBlock();
        _propose(newKey, _setThresholdAction(2));
    }

    function test_AddAgency_RevertWhen_ThresholdNotMet() public {
        IConsortium.Action memory a = _addAgencyAction(IConsortium.AgencyKind.Bank, vm.addr(NEW_BANK_PK), "New Bank");
        _assertBelowThreshold(a, 0);
        _assertBelowThreshold(a, 1);
        assertEq(ledger.agencyCount(), 4, "no agency added");
    }

    function test_SuspendAgency_ExecutesWhenThresholdMet() public {
        uint256 id = _propose(taxBureau, _suspendAction(MARKET_REGULATOR_ID));
        _approve(bank, id);
        _approve(auditor, id);
        uint64 executedBlock = _nextBlock();

        vm.expectEmit(address(ledger));
        emit IConsortium.AgencySuspended(MARKET_REGULATOR_ID);
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.SuspendAgency);
        _execute(id);

        assertEq(ledger.activeAgencyCount(), 3, "activeAgencyCount");
        assertEq(ledger.agencyCount(), 4, "agencyCount unchanged");
        _assertAgency(
            MARKET_REGULATOR_ID,
            IConsortium.AgencyKind.MarketRegulator,
            IConsortium.AgencyStatus.Suspended,
            marketRegulator,
            "State Administration for Market Regulation"
        );
        _assertStatusFrom(MARKET_REGULATOR_ID, executedBlock + 1, IConsortium.AgencyStatus.Active);
        assertEq(ledger.getStatusHistory(MARKET_REGULATOR_ID).length, 2, "status history length");
        _assertStatusChange(MARKET_REGULATOR_ID, 1, executedBlock + 1, IConsortium.AgencyStatus.Suspended);
        // Suspension keeps the key record: it is the status that stops the key.
        _assertKeyRecord(marketRegulator, MARKET_REGULATOR_ID, uint64(START_BLOCK), 0);
        assertTrue(ledger.wasActiveAt(MARKET_REGULATOR_ID, executedBlock - 1), "active before");
        assertTrue(ledger.wasActiveAt(MARKET_REGULATOR_ID, executedBlock), "active through the executing block");
        assertFalse(ledger.wasActiveAt(MARKET_REGULATOR_ID, executedBlock + 1), "suspended from the next block");
    }

    function test_SuspendAgency_RevertWhen_ThresholdNotMet() public {
        _assertBelowThreshold(_suspendAction(MARKET_REGULATOR_ID), 1);
        assertEq(ledger.activeAgencyCount(), 4, "nobody suspended");
    }

    function test_ReinstateAgency_ExecutesWhenThresholdMet() public {
        uint64 suspensionBlock = uint64(block.number);
        _suspend(AUDITOR_ID);
        uint256 id = _propose(taxBureau, _reinstateAction(AUDITOR_ID));
        _approve(bank, id);
        _approve(marketRegulator, id);
        uint64 executedBlock = _nextBlock();

        vm.expectEmit(address(ledger));
        emit IConsortium.AgencyReinstated(AUDITOR_ID);
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.ReinstateAgency);
        _execute(id);

        assertEq(ledger.activeAgencyCount(), 4, "activeAgencyCount");
        assertEq(uint8(ledger.getAgency(AUDITOR_ID).status), uint8(IConsortium.AgencyStatus.Active), "status");
        _assertStatusFrom(AUDITOR_ID, executedBlock + 1, IConsortium.AgencyStatus.Suspended);
        assertEq(ledger.getStatusHistory(AUDITOR_ID).length, 3, "status history length");
        _assertStatusChange(AUDITOR_ID, 1, suspensionBlock + 1, IConsortium.AgencyStatus.Suspended);
        _assertStatusChange(AUDITOR_ID, 2, executedBlock + 1, IConsortium.AgencyStatus.Active);
        assertFalse(ledger.wasActiveAt(AUDITOR_ID, executedBlock), "still suspended in the executing block");
        assertTrue(ledger.wasActiveAt(AUDITOR_ID, executedBlock + 1), "active from the next block");

        // The reinstated agency governs again, from the next block.
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, auditor));
        ledger.propose(_setThresholdAction(2));
        _nextBlock();
        _propose(auditor, _setThresholdAction(2));
    }

    function test_ReinstateAgency_RevertWhen_ThresholdNotMet() public {
        _suspend(AUDITOR_ID);
        _assertBelowThreshold(_reinstateAction(AUDITOR_ID), 1);
        assertEq(ledger.activeAgencyCount(), 3, "nobody reinstated");
    }

    function test_RotateKey_ExecutesWhenThresholdMet() public {
        address newKey = vm.addr(ROTATED_TAX_BUREAU_PK);
        uint256 id = _propose(bank, _rotateKeyAction(TAX_BUREAU_ID, newKey));
        _approve(marketRegulator, id);
        _approve(auditor, id);
        uint64 executedBlock = _nextBlock();

        vm.expectEmit(address(ledger));
        emit IConsortium.AgencyKeyRotated(TAX_BUREAU_ID, taxBureau, newKey);
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.RotateKey);
        _execute(id);

        assertEq(ledger.getAgency(TAX_BUREAU_ID).key, newKey, "latest key");
        // The old key stays valid through the executing block; the new one is valid after it.
        _assertKeyRecord(taxBureau, TAX_BUREAU_ID, uint64(START_BLOCK), executedBlock + 1);
        _assertKeyRecord(newKey, TAX_BUREAU_ID, executedBlock + 1, 0);
        // Rotation is not a status change.
        assertEq(ledger.getStatusHistory(TAX_BUREAU_ID).length, 1, "status history length");
        assertEq(ledger.activeAgencyCount(), 4, "activeAgencyCount");
    }

    function test_RotateKey_RevertWhen_ThresholdNotMet() public {
        _assertBelowThreshold(_rotateKeyAction(TAX_BUREAU_ID, vm.addr(ROTATED_TAX_BUREAU_PK)), 1);
        assertEq(ledger.getAgency(TAX_BUREAU_ID).key, taxBureau, "key unchanged");
    }

    function test_RotateKey_OfSuspendedAgency() public {
        // A compromised key is typically suspended first and rotated next.
        _suspend(BANK_ID);
        _rotateKey(BANK_ID, NEW_BANK_PK);
        assertEq(ledger.getAgency(BANK_ID).key, vm.addr(NEW_BANK_PK), "rotated");
        assertEq(uint8(ledger.getAgency(BANK_ID).status), uint8(IConsortium.AgencyStatus.Suspended), "still suspended");
    }

    function test_RegisterSchema_ExecutesWhenThresholdMet() public {
        uint16 mask = _mask(IConsortium.AgencyKind.TaxBureau) | _mask(IConsortium.AgencyKind.Auditor);
        uint256 id = _propose(auditor, _registerSchemaAction(NEW_SCHEMA, mask, false, "customs.declaration/v1"));
        _approve(bank, id);
        _approve(taxBureau, id);

        vm.expectEmit(address(ledger));
        emit IConsortium.SchemaRegistered(NEW_SCHEMA, SCHEMA_COUNT + 1, mask, false, "customs.declaration/v1");
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.RegisterSchema);
        _execute(id);

        _assertSchema(NEW_SCHEMA, SCHEMA_COUNT + 1, mask, false, "customs.declaration/v1");
    }

    function test_RegisterSchema_RevertWhen_ThresholdNotMet() public {
        _assertBelowThreshold(_registerSchemaAction(NEW_SCHEMA, 2, true, "customs.declaration/v1"), 1);
        assertEq(ledger.getSchema(NEW_SCHEMA).index, 0, "not registered");
    }

    function test_SetThreshold_ExecutesWhenThresholdMet() public {
        uint256 id = _propose(marketRegulator, _setThresholdAction(4));
        _approve(bank, id);
        _approve(taxBureau, id);

        vm.expectEmit(address(ledger));
        emit IConsortium.ThresholdChanged(THRESHOLD, 4);
        vm.expectEmit(address(ledger));
        emit IConsortium.ProposalExecuted(id, IConsortium.ActionType.SetThreshold);
        _execute(id);

        assertEq(ledger.threshold(), 4, "threshold");
    }

    function test_SetThreshold_RevertWhen_ThresholdNotMet() public {
        _assertBelowThreshold(_setThresholdAction(1), 1);
        assertEq(ledger.threshold(), THRESHOLD, "threshold unchanged");
    }

    function test_Execute_NeedsOnlyApprovals_AnyoneMayCall() public {
        uint256 id = _propose(taxBureau, _setThresholdAction(2));
        _approve(bank, id);
        _approve(auditor, id);
        vm.prank(stranger);
        ledger.execute(id);
        assertEq(ledger.threshold(), 2, "executed by a stranger");
    }

    function test_Execute_CountsApprovalsBeyondThreshold() public {
        uint256 id = _propose(taxBureau, _setThresholdAction(2));
        _approve(bank, id);
        _approve(marketRegulator, id);
        _approve(auditor, id);
        _execute(id);
        assertEq(ledger.getProposal(id).approvers.length, 4, "all four approvals recorded");
    }

    // ------------------------------------------------------------------ invalid actions

    function test_Propose_RevertWhen_AddAgencyInvalid() public {
        vm.startPrank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidKind.selector, 0));
        ledger.propose(_addAgencyAction(IConsortium.AgencyKind.None, vm.addr(NEW_BANK_PK), "New Bank"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumZeroKey.selector));
        ledger.propose(_addAgencyAction(IConsortium.AgencyKind.Bank, address(0), "New Bank"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumKeyAlreadyUsed.selector, auditor));
        ledger.propose(_addAgencyAction(IConsortium.AgencyKind.Bank, auditor, "New Bank"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumEmptyName.selector));
        ledger.propose(_addAgencyAction(IConsortium.AgencyKind.Bank, vm.addr(NEW_BANK_PK), ""));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumZeroEncryptionKey.selector));
        ledger.propose(_addAgencyAction(IConsortium.AgencyKind.Bank, vm.addr(NEW_BANK_PK), bytes32(0), "New Bank"));
        bytes32 banksKey = _encryptionKey(bank);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumEncryptionKeyAlreadyUsed.selector, banksKey));
        ledger.propose(_addAgencyAction(IConsortium.AgencyKind.Bank, vm.addr(NEW_BANK_PK), banksKey, "New Bank"));
        vm.stopPrank();
        assertEq(ledger.proposalCount(), 0, "no proposal recorded");
    }

    function test_Propose_RevertWhen_AgencyUnknown() public {
        vm.startPrank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownAgency.selector, 0));
        ledger.propose(_suspendAction(0));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownAgency.selector, 5));
        ledger.propose(_suspendAction(5));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownAgency.selector, 5));
        ledger.propose(_reinstateAction(5));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownAgency.selector, 0));
        ledger.propose(_rotateKeyAction(0, vm.addr(NEW_BANK_PK)));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownAgency.selector, 9));
        ledger.propose(_rotateKeyAction(9, vm.addr(NEW_BANK_PK)));
        vm.stopPrank();
    }

    function test_Propose_RevertWhen_StatusChangeIsNoChange() public {
        vm.prank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAgencyNotSuspended.selector, BANK_ID));
        ledger.propose(_reinstateAction(BANK_ID));
        _suspend(AUDITOR_ID);
        vm.prank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAgencyNotActive.selector, AUDITOR_ID));
        ledger.propose(_suspendAction(AUDITOR_ID));
    }

    function test_Propose_RevertWhen_RotateKeyInvalid() public {
        _rotateKey(TAX_BUREAU_ID, ROTATED_TAX_BUREAU_PK);
        vm.startPrank(bank);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumZeroKey.selector));
        ledger.propose(_rotateKeyAction(BANK_ID, address(0)));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumKeyAlreadyUsed.selector, marketRegulator));
        ledger.propose(_rotateKeyAction(BANK_ID, marketRegulator));
        // Keys are never reused, not even a key rotated out, nor by its own agency.
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumKeyAlreadyUsed.selector, taxBureau));
        ledger.propose(_rotateKeyAction(TAX_BUREAU_ID, taxBureau));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumKeyAlreadyUsed.selector, bank));
        ledger.propose(_rotateKeyAction(BANK_ID, bank));
        vm.stopPrank();
    }

    function test_Propose_RevertWhen_SchemaInvalid() public {
        vm.startPrank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, bytes32(0), 2));
        ledger.propose(_registerSchemaAction(bytes32(0), 2, true, "x"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, NEW_SCHEMA, 0));
        ledger.propose(_registerSchemaAction(NEW_SCHEMA, 0, true, "x"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, NEW_SCHEMA, 1));
        ledger.propose(_registerSchemaAction(NEW_SCHEMA, 1, true, "x"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidSchema.selector, NEW_SCHEMA, 0x20));
        ledger.propose(_registerSchemaAction(NEW_SCHEMA, 0x20, true, "x"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumSchemaExists.selector, TAX_RATING));
        ledger.propose(_registerSchemaAction(TAX_RATING, 2, true, "credit.tax-rating/v1"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumEmptyName.selector));
        ledger.propose(_registerSchemaAction(NEW_SCHEMA, 2, true, ""));
        vm.stopPrank();
    }

    function test_Propose_RevertWhen_ThresholdInvalid() public {
        vm.startPrank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidThreshold.selector, 0, 4));
        ledger.propose(_setThresholdAction(0));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidThreshold.selector, 5, 4));
        ledger.propose(_setThresholdAction(5));
        vm.stopPrank();
    }

    function test_Propose_RevertWhen_SuspensionMakesThresholdUnreachable() public {
        _suspend(AUDITOR_ID);
        // 3 active agencies, threshold 3: one more suspension would leave 2 voters for 3 approvals.
        vm.prank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidThreshold.selector, THRESHOLD, 2));
        ledger.propose(_suspendAction(BANK_ID));
    }

    function test_Execute_RevertWhen_SuspensionBecameThresholdBreaking() public {
        // Both proposals are valid while 4 agencies are active; once one passes the other is not.
        uint256 first = _propose(taxBureau, _suspendAction(AUDITOR_ID));
        uint256 second = _propose(taxBureau, _suspendAction(MARKET_REGULATOR_ID));
        _approve(bank, first);
        _approve(marketRegulator, first);
        _approve(bank, second);
        _approve(marketRegulator, second);
        _execute(first);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidThreshold.selector, THRESHOLD, 2));
        _execute(second);
    }

    function test_Execute_RevertWhen_ActionNoLongerValid() public {
        // Two proposals add the same key: the second fails once the first has taken it.
        address newKey = vm.addr(NEW_BANK_PK);
        uint256 first = _propose(taxBureau, _addAgencyAction(IConsortium.AgencyKind.Bank, newKey, "New Bank"));
        uint256 second = _propose(bank, _addAgencyAction(IConsortium.AgencyKind.Bank, newKey, "New Bank bis"));
        _approve(bank, first);
        _approve(auditor, first);
        _approve(taxBureau, second);
        _approve(auditor, second);
        _execute(first);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumKeyAlreadyUsed.selector, newKey));
        _execute(second);

        // A threshold proposal becomes invalid when a suspension lowers the active count.
        uint256 raise = _propose(taxBureau, _setThresholdAction(5));
        _approve(bank, raise);
        _approve(auditor, raise);
        _suspend(5);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInvalidThreshold.selector, 5, 4));
        _execute(raise);
    }

    // ------------------------------------------------------------------ who may govern

    function test_RevertWhen_NonMemberGoverns() public {
        uint256 id = _propose(taxBureau, _setThresholdAction(2));
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, stranger));
        ledger.propose(_setThresholdAction(1));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, stranger));
        ledger.approve(id);
        vm.stopPrank();
    }

    function test_RevertWhen_SuspendedAgencyGoverns() public {
        uint256 id = _propose(taxBureau, _setThresholdAction(2));
        _suspend(AUDITOR_ID);
        vm.startPrank(auditor);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, auditor));
        ledger.propose(_setThresholdAction(1));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, auditor));
        ledger.approve(id);
        vm.stopPrank();
    }

    function test_RevertWhen_RotatedOutKeyGoverns() public {
        uint256 id = _propose(bank, _setThresholdAction(2));
        _rotateKey(TAX_BUREAU_ID, ROTATED_TAX_BUREAU_PK);
        vm.startPrank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, taxBureau));
        ledger.propose(_setThresholdAction(1));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, taxBureau));
        ledger.approve(id);
        vm.stopPrank();
        // The agency governs on through its new key.
        _approve(vm.addr(ROTATED_TAX_BUREAU_PK), id);
        assertEq(ledger.getProposal(id).approvers[1], TAX_BUREAU_ID, "approval recorded for the agency");
    }

    function test_SuspendedAgencyGovernsThroughTheExecutingBlock() public {
        // Two like proposals, each approved by the tax bureau, the market regulator and the auditor.
        uint256 first = _propose(taxBureau, _setThresholdAction(THRESHOLD));
        uint256 second = _propose(taxBureau, _setThresholdAction(THRESHOLD));
        _approve(marketRegulator, first);
        _approve(auditor, first);
        _approve(marketRegulator, second);
        _approve(auditor, second);
        uint256 other = _propose(bank, _setThresholdAction(2));

        _nextBlock();
        _enact(_suspendAction(AUDITOR_ID));
        // In the executing block the auditor still proposes and approves, and its approvals count.
        _propose(auditor, _setThresholdAction(1));
        _approve(auditor, other);
        _execute(first);
        assertTrue(ledger.getProposal(first).executed, "executed with the auditor's approval");

        _nextBlock();
        vm.startPrank(auditor);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, auditor));
        ledger.propose(_setThresholdAction(1));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, auditor));
        ledger.approve(second);
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(IConsortium.ConsortiumInsufficientApprovals.selector, second, 2, THRESHOLD)
        );
        _execute(second);
    }

    function test_RotatedKeyGovernsThroughTheExecutingBlock() public {
        address newKey = vm.addr(ROTATED_TAX_BUREAU_PK);
        uint256 id = _propose(bank, _setThresholdAction(2));
        _nextBlock();
        _enact(_rotateKeyAction(TAX_BUREAU_ID, newKey));

        // In the executing block the old key governs and the new one does not yet.
        vm.prank(newKey);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, newKey));
        ledger.approve(id);
        _approve(taxBureau, id);
        assertEq(ledger.getProposal(id).approvers[1], TAX_BUREAU_ID, "approved through the old key");

        _nextBlock();
        vm.prank(taxBureau);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, taxBureau));
        ledger.propose(_setThresholdAction(1));
        // The new key governs, for the agency that already approved.
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAlreadyApproved.selector, id, TAX_BUREAU_ID));
        _approve(newKey, id);
        _propose(newKey, _setThresholdAction(1));
    }

    function test_DeployerHasNoPowerAfterConstruction() public {
        // This test contract deployed the ledger; it is no member and no owner.
        assertEq(ledger.getKeyRecord(address(this)).agencyId, 0, "deployer holds no key");
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, address(this)));
        ledger.propose(_setThresholdAction(1));
        uint256 id = _propose(taxBureau, _addAgencyAction(IConsortium.AgencyKind.Bank, address(this), "Deployer"));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, address(this)));
        ledger.approve(id);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInsufficientApprovals.selector, id, 1, THRESHOLD));
        ledger.execute(id);
    }

    function testFuzz_NoSingleKeyChangesMembership(uint256 thresholdSeed, uint256 agencySeed, uint256 actionSeed)
        public
    {
        uint16 t = uint16(bound(thresholdSeed, 2, 4));
        if (t != THRESHOLD) _enact(_setThresholdAction(t));
        uint32 actor = uint32(bound(agencySeed, 1, 4));
        uint32 target = actor % 4 + 1;
        address actorKey = ledger.getAgency(actor).key;

        IConsortium.Action memory a;
        uint256 choice = bound(actionSeed, 0, 3);
        if (choice == 0) a = _addAgencyAction(IConsortium.AgencyKind.Bank, vm.addr(NEW_BANK_PK), "New Bank");
        else if (choice == 1) a = _rotateKeyAction(target, vm.addr(NEW_BANK_PK));
        else if (choice == 2) a = _setThresholdAction(1);
        // Suspending one of four needs a threshold of at most 3 to be proposable at all.
        else if (t < 4) a = _suspendAction(target);
        else a = _rotateKeyAction(actor, vm.addr(NEW_BANK_PK));

        uint256 id = _propose(actorKey, a);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAlreadyApproved.selector, id, actor));
        _approve(actorKey, id);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInsufficientApprovals.selector, id, 1, t));
        vm.prank(actorKey);
        ledger.execute(id);

        assertEq(ledger.agencyCount(), 4, "agencyCount");
        assertEq(ledger.activeAgencyCount(), 4, "activeAgencyCount");
        assertEq(ledger.getAgency(target).key, vm.addr(_founderKey(target)), "target key");
        assertEq(ledger.threshold(), t, "threshold");
    }

    function test_SingleKeyGovernsWhenThresholdIsOne() public {
        _enact(_setThresholdAction(1));
        uint256 id = _propose(auditor, _suspendAction(BANK_ID));
        _execute(id);
        assertEq(uint8(ledger.getAgency(BANK_ID).status), uint8(IConsortium.AgencyStatus.Suspended), "suspended");
    }

    function _founderKey(uint32 agencyId) internal pure returns (uint256) {
        return [TAX_BUREAU_PK, BANK_PK, MARKET_REGULATOR_PK, AUDITOR_PK][agencyId - 1];
    }

    // ------------------------------------------------------------------ proposal bookkeeping

    function test_Approve_RevertWhen_AlreadyApproved() public {
        uint256 id = _propose(taxBureau, _setThresholdAction(2));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAlreadyApproved.selector, id, TAX_BUREAU_ID));
        _approve(taxBureau, id);
        _approve(bank, id);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAlreadyApproved.selector, id, BANK_ID));
        _approve(bank, id);
    }

    function test_Approve_RevertWhen_AgencyApprovedThroughItsOldKey() public {
        uint256 id = _propose(bank, _setThresholdAction(2));
        _approve(taxBureau, id);
        _rotateKey(TAX_BUREAU_ID, ROTATED_TAX_BUREAU_PK);
        // Approvals are per agency: a new key does not buy a second vote.
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumAlreadyApproved.selector, id, TAX_BUREAU_ID));
        _approve(vm.addr(ROTATED_TAX_BUREAU_PK), id);
    }

    function test_RevertWhen_ProposalExecutedTwice() public {
        uint256 id = _enact(_setThresholdAction(2));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumProposalExecuted.selector, id));
        _execute(id);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumProposalExecuted.selector, id));
        _approve(auditor, id);
    }

    function test_RevertWhen_ProposalUnknown() public {
        _propose(taxBureau, _setThresholdAction(2));
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownProposal.selector, 0));
        _approve(bank, 0);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownProposal.selector, 2));
        _approve(bank, 2);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownProposal.selector, 0));
        _execute(0);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownProposal.selector, 2));
        _execute(2);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownProposal.selector, 0));
        ledger.getProposal(0);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumUnknownProposal.selector, 2));
        ledger.getProposal(2);
    }

    function test_Execute_ApprovalsOfSuspendedAgencyStopCounting() public {
        uint256 id = _propose(taxBureau, _registerSchemaAction(NEW_SCHEMA, 2, true, "customs.declaration/v1"));
        _approve(bank, id);
        _approve(marketRegulator, id);

        // The market regulator is suspended (by the other three) after it approved.
        uint256 suspension = _propose(taxBureau, _suspendAction(MARKET_REGULATOR_ID));
        _approve(bank, suspension);
        _approve(auditor, suspension);
        _execute(suspension);
        // The suspension is in force from the next block.
        _nextBlock();

        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumInsufficientApprovals.selector, id, 2, THRESHOLD));
        _execute(id);

        // Once reinstated, its recorded approval counts again.
        _reinstate(MARKET_REGULATOR_ID);
        _execute(id);
        assertEq(ledger.getSchema(NEW_SCHEMA).index, SCHEMA_COUNT + 1, "executed with the reinstated approval");
    }

    // ------------------------------------------------------------------ status history

    function test_WasActiveAt_AcrossSuspendAndReinstate() public {
        // Each status change is recorded at the block after the one that executed it.
        uint64 added = uint64(START_BLOCK);
        vm.roll(START_BLOCK + 10);
        _enact(_suspendAction(BANK_ID));
        uint64 suspended = uint64(block.number) + 1;
        vm.roll(START_BLOCK + 20);
        _enact(_reinstateAction(BANK_ID));
        uint64 reinstated = uint64(block.number) + 1;
        vm.roll(START_BLOCK + 30);
        _enact(_suspendAction(BANK_ID));
        uint64 suspendedAgain = uint64(block.number) + 1;

        IConsortium.StatusChange[] memory history = ledger.getStatusHistory(BANK_ID);
        assertEq(history.length, 4, "status history length");
        _assertStatusChange(BANK_ID, 0, added, IConsortium.AgencyStatus.Active);
        _assertStatusChange(BANK_ID, 1, suspended, IConsortium.AgencyStatus.Suspended);
        _assertStatusChange(BANK_ID, 2, reinstated, IConsortium.AgencyStatus.Active);
        _assertStatusChange(BANK_ID, 3, suspendedAgain, IConsortium.AgencyStatus.Suspended);

        assertFalse(ledger.wasActiveAt(BANK_ID, 0), "block 0");
        assertFalse(ledger.wasActiveAt(BANK_ID, added - 1), "before it was added");
        assertTrue(ledger.wasActiveAt(BANK_ID, added), "when added");
        assertTrue(ledger.wasActiveAt(BANK_ID, suspended - 1), "in the block that suspended it");
        assertFalse(ledger.wasActiveAt(BANK_ID, suspended), "from the next block");
        assertFalse(ledger.wasActiveAt(BANK_ID, reinstated - 1), "in the block that reinstated it");
        assertTrue(ledger.wasActiveAt(BANK_ID, reinstated), "reinstated from the next block");
        assertTrue(ledger.wasActiveAt(BANK_ID, suspendedAgain - 1), "in the block that suspended it again");
        assertFalse(ledger.wasActiveAt(BANK_ID, suspendedAgain), "suspended again from the next block");
        assertFalse(ledger.wasActiveAt(BANK_ID, type(uint64).max), "still suspended");
        assertTrue(ledger.wasActiveAt(TAX_BUREAU_ID, type(uint64).max), "others unaffected");
        assertFalse(ledger.wasActiveAt(0, suspended), "agency 0 never existed");
        assertFalse(ledger.wasActiveAt(99, suspended), "unknown agency");
    }

    function test_StatusHistory_SuspendAndReinstateInOneBlockLeaveOneEntry() public {
        vm.roll(START_BLOCK + 5);
        uint64 executed = uint64(block.number);
        _enact(_suspendAction(BANK_ID));
        _enact(_reinstateAction(BANK_ID));

        // The second change replaced the first: one entry, with the last status.
        assertEq(ledger.getStatusHistory(BANK_ID).length, 2, "one entry for the block");
        _assertStatusChange(BANK_ID, 1, executed + 1, IConsortium.AgencyStatus.Active);
        assertEq(uint8(ledger.getAgency(BANK_ID).status), uint8(IConsortium.AgencyStatus.Active), "status");
        _assertStatusFrom(BANK_ID, executed + 1, IConsortium.AgencyStatus.Active);
        assertEq(ledger.activeAgencyCount(), 4, "activeAgencyCount");
        assertTrue(ledger.wasActiveAt(BANK_ID, executed), "active in the executing block");
        assertTrue(ledger.wasActiveAt(BANK_ID, executed + 1), "active from the next block");

        // The bank was never out: it writes in both blocks.
        _attest(BANK_PK, PAYMENT_SETTLED, keccak256("in the executing block"));
        _nextBlock();
        _attest(BANK_PK, PAYMENT_SETTLED, keccak256("in the next block"));
        _propose(bank, _setThresholdAction(2));
    }

    function test_StatusHistory_ThreeChangesInOneBlockLeaveTheLast() public {
        vm.roll(START_BLOCK + 5);
        uint64 executed = uint64(block.number);
        _enact(_suspendAction(BANK_ID));
        _enact(_reinstateAction(BANK_ID));
        _enact(_suspendAction(BANK_ID));

        assertEq(ledger.getStatusHistory(BANK_ID).length, 2, "one entry for the block");
        _assertStatusChange(BANK_ID, 1, executed + 1, IConsortium.AgencyStatus.Suspended);
        _assertStatusFrom(BANK_ID, executed + 1, IConsortium.AgencyStatus.Active);
        assertEq(ledger.activeAgencyCount(), 3, "activeAgencyCount");
        assertTrue(ledger.wasActiveAt(BANK_ID, executed), "active in the executing block");
        assertFalse(ledger.wasActiveAt(BANK_ID, executed + 1), "suspended from the next block");

        _attest(BANK_PK, PAYMENT_SETTLED, keccak256("in the executing block"));
        _nextBlock();
        ITaxLedger.AttestRequest memory request = _attestRequest(BANK_PK, PAYMENT_SETTLED, keccak256("next block"));
        bytes memory signature = _sign(BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, BANK_ID));
        ledger.attest(request, signature);
    }

    function test_StatusHistory_ReinstateAndSuspendInOneBlockLeaveOneEntry() public {
        _suspend(BANK_ID);
        uint64 suspendedFrom = uint64(block.number);
        _nextBlock();
        uint64 executed = uint64(block.number);
        _enact(_reinstateAction(BANK_ID));
        _enact(_suspendAction(BANK_ID));

        // The entry of the block says "suspended", as the agency was throughout.
        assertEq(ledger.getStatusHistory(BANK_ID).length, 3, "one entry for the block");
        _assertStatusChange(BANK_ID, 1, suspendedFrom, IConsortium.AgencyStatus.Suspended);
        _assertStatusChange(BANK_ID, 2, executed + 1, IConsortium.AgencyStatus.Suspended);
        _assertStatusFrom(BANK_ID, executed + 1, IConsortium.AgencyStatus.Suspended);
        assertFalse(ledger.wasActiveAt(BANK_ID, executed), "suspended in the executing block");
        assertFalse(ledger.wasActiveAt(BANK_ID, executed + 1), "suspended in the next block");
        _nextBlock();
        vm.prank(bank);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, bank));
        ledger.propose(_setThresholdAction(2));
    }

    function test_StatusHistory_AddedAndSuspendedInOneBlockIsNeverActive() public {
        address newKey = vm.addr(NEW_BANK_PK);
        uint64 executed = _nextBlock();
        _enact(_addAgencyAction(IConsortium.AgencyKind.Bank, newKey, "New Bank"));
        _enact(_suspendAction(5));

        assertEq(ledger.getStatusHistory(5).length, 1, "one entry for the block");
        _assertStatusChange(5, 0, executed + 1, IConsortium.AgencyStatus.Suspended);
        _assertStatusFrom(5, executed + 1, IConsortium.AgencyStatus.None);
        assertEq(ledger.activeAgencyCount(), 4, "activeAgencyCount");
        assertFalse(ledger.wasActiveAt(5, executed), "not yet in the executing block");
        assertFalse(ledger.wasActiveAt(5, executed + 1), "suspended from its first block");

        _nextBlock();
        ITaxLedger.AttestRequest memory request = _attestRequest(NEW_BANK_PK, PAYMENT_SETTLED, keccak256("payment"));
        bytes memory signature = _sign(NEW_BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, 5));
        ledger.attest(request, signature);
    }

    function test_KeyRecords_TwoRotationsInOneBlock() public {
        // The middle key is valid in no block at all.
        address middleKey = vm.addr(NEW_BANK_PK);
        address lastKey = vm.addr(uint256(keccak256("taxledger.test.key.bank.3")));
        uint64 executed = _nextBlock();
        _enact(_rotateKeyAction(BANK_ID, middleKey));
        _enact(_rotateKeyAction(BANK_ID, lastKey));

        _assertKeyRecord(bank, BANK_ID, uint64(START_BLOCK), executed + 1);
        _assertKeyRecord(middleKey, BANK_ID, executed + 1, executed + 1);
        _assertKeyRecord(lastKey, BANK_ID, executed + 1, 0);
        assertEq(ledger.getAgency(BANK_ID).key, lastKey, "latest key");

        _nextBlock();
        (bool authorized,) = ledger.authorizedAt(middleKey, PAYMENT_SETTLED, executed);
        assertFalse(authorized, "middle key in the executing block");
        (authorized,) = ledger.authorizedAt(middleKey, PAYMENT_SETTLED, executed + 1);
        assertFalse(authorized, "middle key in the next block");
        ITaxLedger.AttestRequest memory request = _attestRequest(NEW_BANK_PK, PAYMENT_SETTLED, keccak256("payment"));
        bytes memory signature = _sign(NEW_BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnauthorizedSigner.selector, middleKey));
        ledger.attest(request, signature);
        vm.prank(middleKey);
        vm.expectRevert(abi.encodeWithSelector(IConsortium.ConsortiumNotGovernor.selector, middleKey));
        ledger.propose(_setThresholdAction(2));
    }
}
