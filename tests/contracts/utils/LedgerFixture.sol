// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {TaxLedger} from "../../../contracts/TaxLedger.sol";
import {IConsortium} from "../../../contracts/interfaces/IConsortium.sol";
import {ITaxLedger} from "../../../contracts/interfaces/ITaxLedger.sol";

import {LedgerTypedData} from "./LedgerTypedData.sol";
import {Test} from "./Test.sol";

/// @title LedgerFixture
/// @notice A deployed ledger as the consortium starts out: a tax bureau, a bank, a market regulator
/// and an auditor, each with an encryption key, threshold 3, the five production schemas and one
/// non-revocable test schema, a founding read policy of three rules and two tag-key domains.
/// Helpers sign every request type with a test key and drive governance through proposals, so
/// each test states only what it is about.
abstract contract LedgerFixture is Test {
    // Founding agencies, in founding order (ids count from 1).
    uint32 internal constant TAX_BUREAU_ID = 1;
    uint32 internal constant BANK_ID = 2;
    uint32 internal constant MARKET_REGULATOR_ID = 3;
    uint32 internal constant AUDITOR_ID = 4;
    uint16 internal constant THRESHOLD = 3;

    uint256 internal constant TAX_BUREAU_PK = uint256(keccak256("taxledger.test.key.tax-bureau"));
    uint256 internal constant BANK_PK = uint256(keccak256("taxledger.test.key.bank"));
    uint256 internal constant MARKET_REGULATOR_PK = uint256(keccak256("taxledger.test.key.market-regulator"));
    uint256 internal constant AUDITOR_PK = uint256(keccak256("taxledger.test.key.auditor"));
    uint256 internal constant STRANGER_PK = uint256(keccak256("taxledger.test.key.stranger"));

    // Schema ids are the keccak256 of the schema name.
    bytes32 internal constant INVOICE_ISSUED = keccak256("invoice.issued/v1");
    bytes32 internal constant PAYMENT_SETTLED = keccak256("payment.settled/v1");
    bytes32 internal constant REGISTRATION_STATUS = keccak256("registration.status/v1");
    bytes32 internal constant TAX_RATING = keccak256("credit.tax-rating/v1");
    bytes32 internal constant BANK_DECISION = keccak256("credit.bank-decision/v1");
    bytes32 internal constant NON_REVOCABLE = keccak256("test.non-revocable/v1");
    uint32 internal constant SCHEMA_COUNT = 6;

    // Read-policy purposes, as bits of a purpose mask (the Python table names them).
    uint32 internal constant TAX_ADMINISTRATION = 1 << 0;
    uint32 internal constant CREDIT_ASSESSMENT = 1 << 1;
    uint32 internal constant MARKET_SUPERVISION = 1 << 2;
    uint32 internal constant AUDIT = 1 << 3;

    // Subject-tag domains, ids as keccak256 of their names; and founding key commitments.
    bytes32 internal constant TAXPAYER_CREDIT = keccak256("taxpayer-credit");
    bytes32 internal constant INVOICE_DOMAIN = keccak256("invoice");
    bytes32 internal constant CREDIT_KEY_1 = keccak256("taxpayer-credit key, version 1");
    bytes32 internal constant INVOICE_KEY_1 = keccak256("invoice key, version 1");

    // A realistic clock, so that "an hour ago" and "block 990" exist.
    uint256 internal constant START_TIME = 1_750_000_000;
    uint256 internal constant START_BLOCK = 1_000;
    uint64 internal constant SIGNATURE_VALIDITY = 1 hours;

    TaxLedger internal ledger;
    address internal taxBureau;
    address internal bank;
    address internal marketRegulator;
    address internal auditor;
    address internal stranger;
    /// @dev Submits signed writes and executes proposals; holds no role, as any relayer.
    address internal relayer = address(0x5E1A7E5);

    function setUp() public virtual {
        vm.warp(START_TIME);
        vm.roll(START_BLOCK);
        taxBureau = vm.addr(TAX_BUREAU_PK);
        bank = vm.addr(BANK_PK);
        marketRegulator = vm.addr(MARKET_REGULATOR_PK);
        auditor = vm.addr(AUDITOR_PK);
        stranger = vm.addr(STRANGER_PK);
        vm.label(taxBureau, "taxBureau");
        vm.label(bank, "bank");
        vm.label(marketRegulator, "marketRegulator");
        vm.label(auditor, "auditor");
        vm.label(stranger, "stranger");
        vm.label(relayer, "relayer");
        ledger = new TaxLedger(_founders(), _schemaInits(), _readRuleInits(), _tagKeyInits(), THRESHOLD);
        vm.label(address(ledger), "ledger");
    }

    // ------------------------------------------------------------------ consortium set-up

    function _founders() internal view returns (IConsortium.Founder[] memory founders) {
        founders = new IConsortium.Founder[](4);
        founders[0] = IConsortium.Founder(
            IConsortium.AgencyKind.TaxBureau, taxBureau, _encryptionKey(taxBureau), "State Taxation Administration"
        );
        founders[1] = IConsortium.Founder(IConsortium.AgencyKind.Bank, bank, _encryptionKey(bank), "Industrial Bank");
        founders[2] = IConsortium.Founder(
            IConsortium.AgencyKind.MarketRegulator,
            marketRegulator,
            _encryptionKey(marketRegulator),
            "State Administration for Market Regulation"
        );
        founders[3] =
            IConsortium.Founder(IConsortium.AgencyKind.Auditor, auditor, _encryptionKey(auditor), "National Audit Office");
    }

    /// @dev A stand-in X25519 public key for the agency whose signing key is `key`: 32 bytes the
    /// contract stores opaquely, distinct for every key.
    function _encryptionKey(address key) internal pure returns (bytes32) {
        return keccak256(abi.encode("encryption key", key));
    }

    /// @dev A bank reads ratings for credit assessment with consent, the tax bureau reads
    /// payments, the auditor reads invoices.
    function _readRuleInits() internal pure returns (IConsortium.ReadRuleInit[] memory rules) {
        rules = new IConsortium.ReadRuleInit[](3);
        rules[0] = IConsortium.ReadRuleInit(
            TAX_RATING, IConsortium.AgencyKind.Bank, CREDIT_ASSESSMENT, true, "uscc,year,level"
        );
        rules[1] = IConsortium.ReadRuleInit(PAYMENT_SETTLED, IConsortium.AgencyKind.TaxBureau, TAX_ADMINISTRATION, false, "*");
        rules[2] = IConsortium.ReadRuleInit(INVOICE_ISSUED, IConsortium.AgencyKind.Auditor, AUDIT, false, "*");
    }

    function _tagKeyInits() internal pure returns (IConsortium.TagKeyInit[] memory keys) {
        keys = new IConsortium.TagKeyInit[](2);
        keys[0] = IConsortium.TagKeyInit(
            TAXPAYER_CREDIT,
            _mask(IConsortium.AgencyKind.TaxBureau) | _mask(IConsortium.AgencyKind.Bank),
            CREDIT_KEY_1
        );
        keys[1] = IConsortium.TagKeyInit(INVOICE_DOMAIN, _mask(IConsortium.AgencyKind.TaxBureau), INVOICE_KEY_1);
    }

    function _schemaInits() internal pure returns (IConsortium.SchemaInit[] memory schemas) {
        uint16 taxBureauOnly = _mask(IConsortium.AgencyKind.TaxBureau);
        uint16 bankOnly = _mask(IConsortium.AgencyKind.Bank);
        schemas = new IConsortium.SchemaInit[](SCHEMA_COUNT);
        schemas[0] = IConsortium.SchemaInit(INVOICE_ISSUED, taxBureauOnly, true, "invoice.issued/v1");
        schemas[1] = IConsortium.SchemaInit(PAYMENT_SETTLED, bankOnly, true, "payment.settled/v1");
        schemas[2] = IConsortium.SchemaInit(
            REGISTRATION_STATUS, _mask(IConsortium.AgencyKind.MarketRegulator), true, "registration.status/v1"
        );
        schemas[3] = IConsortium.SchemaInit(TAX_RATING, taxBureauOnly, true, "credit.tax-rating/v1");
        schemas[4] = IConsortium.SchemaInit(BANK_DECISION, bankOnly, true, "credit.bank-decision/v1");
        schemas[5] = IConsortium.SchemaInit(NON_REVOCABLE, taxBureauOnly | bankOnly, false, "test.non-revocable/v1");
    }

    /// @dev The kind-mask bit of one agency kind.
    function _mask(IConsortium.AgencyKind kind) internal pure returns (uint16) {
        return uint16(1) << uint8(kind);
    }

    // ------------------------------------------------------------------ signing

    function _domain() internal view returns (LedgerTypedData.Domain memory) {
        return LedgerTypedData.ledgerDomain(address(ledger));
    }

    /// @dev A 65-byte `r ‖ s ‖ v` signature, the layout the ledger parses.
    function _signDigest(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    function _sign(uint256 privateKey, ITaxLedger.AttestRequest memory request, LedgerTypedData.Domain memory domain)
        internal
        pure
        returns (bytes memory)
    {
        return _signDigest(privateKey, LedgerTypedData.digest(domain, LedgerTypedData.hashStruct(request)));
    }

    function _sign(uint256 privateKey, ITaxLedger.BatchRequest memory request, LedgerTypedData.Domain memory domain)
        internal
        pure
        returns (bytes memory)
    {
        return _signDigest(privateKey, LedgerTypedData.digest(domain, LedgerTypedData.hashStruct(request)));
    }

    function _sign(uint256 privateKey, ITaxLedger.RevokeRequest memory request, LedgerTypedData.Domain memory domain)
        internal
        pure
        returns (bytes memory)
    {
        return _signDigest(privateKey, LedgerTypedData.digest(domain, LedgerTypedData.hashStruct(request)));
    }

    function _sign(
        uint256 privateKey,
        ITaxLedger.LeafRevokeRequest memory request,
        LedgerTypedData.Domain memory domain
    ) internal pure returns (bytes memory) {
        return _signDigest(privateKey, LedgerTypedData.digest(domain, LedgerTypedData.hashStruct(request)));
    }

    function _sign(uint256 privateKey, ITaxLedger.AttestRequest memory request) internal view returns (bytes memory) {
        return _sign(privateKey, request, _domain());
    }

    function _sign(uint256 privateKey, ITaxLedger.BatchRequest memory request) internal view returns (bytes memory) {
        return _sign(privateKey, request, _domain());
    }

    function _sign(uint256 privateKey, ITaxLedger.RevokeRequest memory request) internal view returns (bytes memory) {
        return _sign(privateKey, request, _domain());
    }

    function _sign(uint256 privateKey, ITaxLedger.LeafRevokeRequest memory request)
        internal
        view
        returns (bytes memory)
    {
        return _sign(privateKey, request, _domain());
    }

    // ------------------------------------------------------------------ requests
    // Each carries the signer's next nonce and a deadline one hour ahead.

    function _deadline() internal view returns (uint64) {
        return uint64(block.timestamp) + SIGNATURE_VALIDITY;
    }

    function _attestRequest(uint256 privateKey, bytes32 schemaId, bytes32 commitment)
        internal
        view
        returns (ITaxLedger.AttestRequest memory)
    {
        return ITaxLedger.AttestRequest({
            schemaId: schemaId,
            commitment: commitment,
            subject: keccak256(abi.encode("subject", commitment)),
            refUID: bytes32(0),
            expiration: 0,
            nonce: ledger.nonces(vm.addr(privateKey)),
            deadline: _deadline()
        });
    }

    function _batchRequest(bytes32 schemaId, bytes32 root, uint32 count)
        internal
        view
        returns (ITaxLedger.BatchRequest memory)
    {
        return ITaxLedger.BatchRequest({schemaId: schemaId, root: root, count: count, deadline: _deadline()});
    }

    function _revokeRequest(uint256 privateKey, bytes32 uid) internal view returns (ITaxLedger.RevokeRequest memory) {
        return ITaxLedger.RevokeRequest({
            uid: uid,
            reason: keccak256("red invoice"),
            nonce: ledger.nonces(vm.addr(privateKey)),
            deadline: _deadline()
        });
    }

    function _leafRevokeRequest(uint256 privateKey, bytes32 root, bytes32 schemaId, bytes32 commitment)
        internal
        view
        returns (ITaxLedger.LeafRevokeRequest memory)
    {
        return ITaxLedger.LeafRevokeRequest({
            root: root,
            schemaId: schemaId,
            commitment: commitment,
            reason: keccak256("red invoice"),
            nonce: ledger.nonces(vm.addr(privateKey)),
            deadline: _deadline()
        });
    }

    // ------------------------------------------------------------------ writes, as a relayer submits them

    function _attest(uint256 privateKey, ITaxLedger.AttestRequest memory request) internal returns (bytes32 uid) {
        bytes memory signature = _sign(privateKey, request);
        vm.prank(relayer);
        return ledger.attest(request, signature);
    }

    function _attest(uint256 privateKey, bytes32 schemaId, bytes32 commitment) internal returns (bytes32 uid) {
        return _attest(privateKey, _attestRequest(privateKey, schemaId, commitment));
    }

    function _anchor(uint256 privateKey, ITaxLedger.BatchRequest memory request) internal {
        bytes memory signature = _sign(privateKey, request);
        vm.prank(relayer);
        ledger.anchorBatch(request, signature);
    }

    function _anchor(uint256 privateKey, bytes32 schemaId, bytes32 root, uint32 count) internal {
        _anchor(privateKey, _batchRequest(schemaId, root, count));
    }

    function _revoke(uint256 privateKey, ITaxLedger.RevokeRequest memory request) internal {
        bytes memory signature = _sign(privateKey, request);
        vm.prank(relayer);
        ledger.revoke(request, signature);
    }

    function _revoke(uint256 privateKey, bytes32 uid) internal {
        _revoke(privateKey, _revokeRequest(privateKey, uid));
    }

    function _revokeLeaf(uint256 privateKey, ITaxLedger.LeafRevokeRequest memory request, bytes32[] memory proof)
        internal
    {
        bytes memory signature = _sign(privateKey, request);
        vm.prank(relayer);
        ledger.revokeLeaf(request, proof, signature);
    }

    function _revokeLeaf(
        uint256 privateKey,
        bytes32 root,
        bytes32 schemaId,
        bytes32 commitment,
        bytes32[] memory proof
    ) internal {
        _revokeLeaf(privateKey, _leafRevokeRequest(privateKey, root, schemaId, commitment), proof);
    }

    // ------------------------------------------------------------------ governance

    function _action(IConsortium.ActionType actionType) internal pure returns (IConsortium.Action memory a) {
        a.actionType = actionType;
    }

    function _addAgencyAction(IConsortium.AgencyKind kind, address key, string memory name)
        internal
        pure
        returns (IConsortium.Action memory a)
    {
        return _addAgencyAction(kind, key, _encryptionKey(key), name);
    }

    function _addAgencyAction(IConsortium.AgencyKind kind, address key, bytes32 encryptionKey, string memory name)
        internal
        pure
        returns (IConsortium.Action memory a)
    {
        a = _action(IConsortium.ActionType.AddAgency);
        a.kind = kind;
        a.key = key;
        a.encryptionKey = encryptionKey;
        a.name = name;
    }

    function _suspendAction(uint32 agencyId) internal pure returns (IConsortium.Action memory a) {
        a = _action(IConsortium.ActionType.SuspendAgency);
        a.agencyId = agencyId;
    }

    function _reinstateAction(uint32 agencyId) internal pure returns (IConsortium.Action memory a) {
        a = _action(IConsortium.ActionType.ReinstateAgency);
        a.agencyId = agencyId;
    }

    function _rotateKeyAction(uint32 agencyId, address newKey) internal pure returns (IConsortium.Action memory a) {
        a = _action(IConsortium.ActionType.RotateKey);
        a.agencyId = agencyId;
        a.key = newKey;
    }

    function _registerSchemaAction(bytes32 schemaId, uint16 kindMask, bool revocable, string memory name)
        internal
        pure
        returns (IConsortium.Action memory a)
    {
        a = _action(IConsortium.ActionType.RegisterSchema);
        a.schemaId = schemaId;
        a.kindMask = kindMask;
        a.revocable = revocable;
        a.name = name;
    }

    function _setThresholdAction(uint16 newThreshold) internal pure returns (IConsortium.Action memory a) {
        a = _action(IConsortium.ActionType.SetThreshold);
        a.threshold = newThreshold;
    }

    function _setEncryptionKeyAction(uint32 agencyId, bytes32 encryptionKey)
        internal
        pure
        returns (IConsortium.Action memory a)
    {
        a = _action(IConsortium.ActionType.SetEncryptionKey);
        a.agencyId = agencyId;
        a.encryptionKey = encryptionKey;
    }

    function _setReadPolicyAction(
        bytes32 schemaId,
        IConsortium.AgencyKind readerKind,
        uint32 purposeMask,
        bool consentRequired,
        string memory fields
    ) internal pure returns (IConsortium.Action memory a) {
        a = _action(IConsortium.ActionType.SetReadPolicy);
        a.schemaId = schemaId;
        a.kind = readerKind;
        a.purposeMask = purposeMask;
        a.consentRequired = consentRequired;
        a.fields = fields;
    }

    function _registerTagKeyAction(bytes32 domain, uint16 holderMask, bytes32 keyCommitment)
        internal
        pure
        returns (IConsortium.Action memory a)
    {
        a = _action(IConsortium.ActionType.RegisterTagKey);
        a.tagDomain = domain;
        a.kindMask = holderMask;
        a.keyCommitment = keyCommitment;
    }

    function _propose(address proposer, IConsortium.Action memory a) internal returns (uint256 proposalId) {
        vm.prank(proposer);
        return ledger.propose(a);
    }

    function _approve(address approver, uint256 proposalId) internal {
        vm.prank(approver);
        ledger.approve(proposalId);
    }

    function _execute(uint256 proposalId) internal {
        vm.prank(relayer);
        ledger.execute(proposalId);
    }

    /// @dev Passes `a` with the votes of the first `threshold()` agencies (by id) that may govern
    /// in this block, through their keys, and executes it in this block. A membership change
    /// (agency, status or key) takes effect from the next block; so within this block an agency
    /// added, or whose key was rotated, in it has no valid key yet and does not vote, and an
    /// agency suspended in it still does.
    function _enact(IConsortium.Action memory a) internal returns (uint256 proposalId) {
        uint256 needed = ledger.threshold();
        uint32 count = ledger.agencyCount();
        uint256 votes = 0;
        for (uint32 id = 1; id <= count && votes < needed; ++id) {
            if (!_governsNow(id)) continue;
            address key = ledger.getAgency(id).key;
            if (votes == 0) proposalId = _propose(key, a);
            else _approve(key, proposalId);
            ++votes;
        }
        _execute(proposalId);
    }

    /// @dev Whether the agency can govern in this block through its latest key: it is active in
    /// this block, and that key is valid in it (not one rotated in by this block).
    function _governsNow(uint32 agencyId) internal view returns (bool) {
        IConsortium.KeyRecord memory record = ledger.getKeyRecord(ledger.getAgency(agencyId).key);
        return ledger.wasActiveAt(agencyId, uint64(block.number)) && record.fromBlock <= block.number;
    }

    // The helpers below enact a membership change and then move to the block it takes effect
    // in, for tests to which the change is set-up. Tests about the executing block use `_enact`.

    function _addAgency(IConsortium.AgencyKind kind, uint256 privateKey, string memory name)
        internal
        returns (uint32 agencyId)
    {
        _enact(_addAgencyAction(kind, vm.addr(privateKey), name));
        _nextBlock();
        return ledger.agencyCount();
    }

    function _suspend(uint32 agencyId) internal {
        _enact(_suspendAction(agencyId));
        _nextBlock();
    }

    function _reinstate(uint32 agencyId) internal {
        _enact(_reinstateAction(agencyId));
        _nextBlock();
    }

    function _rotateKey(uint32 agencyId, uint256 newPrivateKey) internal {
        _enact(_rotateKeyAction(agencyId, vm.addr(newPrivateKey)));
        _nextBlock();
    }

    /// @dev Moves to the next block, so that what follows is written at a later height.
    function _nextBlock() internal returns (uint64) {
        vm.roll(block.number + 1);
        return uint64(block.number);
    }
}
