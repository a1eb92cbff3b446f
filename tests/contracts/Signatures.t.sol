// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ITaxLedger} from "../../contracts/interfaces/ITaxLedger.sol";

import {LedgerFixture} from "./utils/LedgerFixture.sol";
import {LedgerTypedData} from "./utils/LedgerTypedData.sol";
import {StandardMerkleTree} from "./utils/StandardMerkleTree.sol";

/// @notice The on-chain typed-data constants equal those computed from the literal type strings
/// that off-chain signers use.
contract TypedDataTest is LedgerFixture {
    function test_TypeHashes_MatchTypeStrings() public view {
        assertEq(ledger.ATTEST_TYPEHASH(), keccak256(bytes(LedgerTypedData.ATTEST_TYPE)), "ATTEST_TYPEHASH");
        assertEq(
            ledger.ANCHOR_BATCH_TYPEHASH(), keccak256(bytes(LedgerTypedData.ANCHOR_BATCH_TYPE)), "ANCHOR_BATCH_TYPEHASH"
        );
        assertEq(ledger.REVOKE_TYPEHASH(), keccak256(bytes(LedgerTypedData.REVOKE_TYPE)), "REVOKE_TYPEHASH");
        assertEq(
            ledger.REVOKE_LEAF_TYPEHASH(), keccak256(bytes(LedgerTypedData.REVOKE_LEAF_TYPE)), "REVOKE_LEAF_TYPEHASH"
        );
    }

    function test_DomainSeparator_MatchesDomain() public view {
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("TaxLedger"),
                keccak256("1"),
                block.chainid,
                address(ledger)
            )
        );
        assertEq(ledger.domainSeparator(), expected, "domainSeparator");
        assertEq(LedgerTypedData.separator(_domain()), expected, "test helper domain");
    }

    function test_Eip712Domain_DescribesDomain() public view {
        (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        ) = ledger.eip712Domain();
        // name, version, chainId, verifyingContract: bits 0..3.
        assertEq(uint8(fields), 0x0f, "fields");
        assertEq(name, "TaxLedger", "name");
        assertEq(version, "1", "version");
        assertEq(chainId, block.chainid, "chainId");
        assertEq(verifyingContract, address(ledger), "verifyingContract");
        assertEq(salt, bytes32(0), "salt");
        assertEq(extensions.length, 0, "extensions");
    }

    function test_DomainSeparator_FollowsChainId() public {
        bytes32 original = ledger.domainSeparator();
        vm.chainId(block.chainid + 1);
        assertNotEq(ledger.domainSeparator(), original, "a fork gets its own domain");
        assertEq(ledger.domainSeparator(), LedgerTypedData.separator(_domain()), "domain of the new chain");
    }
}

/// @notice Every way a signature can fail, on every signed write: attest, anchorBatch, revoke and
/// revokeLeaf. The revocation paths target a fact and a batch leaf the tax bureau wrote in set-up.
contract SignatureFailuresTest is LedgerFixture {
    enum Path {
        Attest,
        AnchorBatch,
        Revoke,
        RevokeLeaf
    }

    uint256 internal constant PATH_COUNT = 4;
    uint256 internal constant NEW_TAX_BUREAU_PK = uint256(keccak256("taxledger.test.key.tax-bureau.2"));

    /// @dev One request per path, all for the same signer.
    struct Writes {
        ITaxLedger.AttestRequest attest;
        ITaxLedger.BatchRequest batch;
        ITaxLedger.RevokeRequest revoke;
        ITaxLedger.LeafRevokeRequest revokeLeaf;
    }

    bytes32 internal constant BATCHED_INVOICE = keccak256("batched invoice 1");

    bytes32 internal attestedUid;
    bytes32 internal batchRoot;
    bytes32 internal batchLeaf;
    bytes32[] internal batchProof;

    function setUp() public override {
        super.setUp();
        attestedUid = _attest(TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("invoice to revoke"));
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = StandardMerkleTree.leafHash(INVOICE_ISSUED, BATCHED_INVOICE);
        leaves[1] = StandardMerkleTree.leafHash(INVOICE_ISSUED, keccak256("batched invoice 2"));
        batchLeaf = leaves[0];
        bytes32[] memory tree = StandardMerkleTree.build(leaves);
        batchRoot = StandardMerkleTree.root(tree);
        batchProof = StandardMerkleTree.proof(tree, batchLeaf);
        _anchor(TAX_BUREAU_PK, INVOICE_ISSUED, batchRoot, 2);
        // Set-up used nonce 0 of the tax bureau (anchoring uses none).
        assertEq(ledger.nonces(taxBureau), 1, "tax bureau nonce after set-up");
    }

    function _path(uint256 i) internal pure returns (Path) {
        return Path(i);
    }

    /// @dev Valid requests for `privateKey`'s next nonce: a new invoice fact, a new invoice batch,
    /// and revocations of the set-up fact and leaf.
    function _writes(uint256 privateKey) internal view returns (Writes memory w) {
        w.attest = _attestRequest(privateKey, INVOICE_ISSUED, keccak256("new invoice"));
        w.batch = _batchRequest(INVOICE_ISSUED, keccak256("new batch"), 7);
        w.revoke = _revokeRequest(privateKey, attestedUid);
        w.revokeLeaf = _leafRevokeRequest(privateKey, batchRoot, INVOICE_ISSUED, BATCHED_INVOICE);
    }

    function _setDeadline(Writes memory w, uint64 deadline) internal pure {
        w.attest.deadline = deadline;
        w.batch.deadline = deadline;
        w.revoke.deadline = deadline;
        w.revokeLeaf.deadline = deadline;
    }

    function _setNonce(Writes memory w, uint256 nonce) internal pure {
        w.attest.nonce = nonce;
        w.revoke.nonce = nonce;
        w.revokeLeaf.nonce = nonce;
    }

    function _structHash(Path p, Writes memory w) internal pure returns (bytes32) {
        if (p == Path.Attest) return LedgerTypedData.hashStruct(w.attest);
        if (p == Path.AnchorBatch) return LedgerTypedData.hashStruct(w.batch);
        if (p == Path.Revoke) return LedgerTypedData.hashStruct(w.revoke);
        return LedgerTypedData.hashStruct(w.revokeLeaf);
    }

    function _digest(Path p, Writes memory w, LedgerTypedData.Domain memory domain) internal pure returns (bytes32) {
        return LedgerTypedData.digest(domain, _structHash(p, w));
    }

    function _signed(Path p, Writes memory w, uint256 privateKey) internal view returns (bytes memory) {
        return _signDigest(privateKey, _digest(p, w, _domain()));
    }

    /// @dev Submits path `p` of `w` with `signature`, as a relayer.
    function _submit(Path p, Writes memory w, bytes memory signature) internal {
        vm.prank(relayer);
        if (p == Path.Attest) ledger.attest(w.attest, signature);
        else if (p == Path.AnchorBatch) ledger.anchorBatch(w.batch, signature);
        else if (p == Path.Revoke) ledger.revoke(w.revoke, signature);
        else ledger.revokeLeaf(w.revokeLeaf, batchProof, signature);
    }

    /// @dev Signs path `p` of `w` by `privateKey` and expects the write to fail with `err`.
    function _expectPathReverts(Path p, Writes memory w, uint256 privateKey, bytes memory err) internal {
        bytes memory signature = _signed(p, w, privateKey);
        vm.expectRevert(err);
        _submit(p, w, signature);
    }

    function _expectEveryPathReverts(Writes memory w, uint256 privateKey, bytes memory err) internal {
        for (uint256 i = 0; i < PATH_COUNT; ++i) {
            _expectPathReverts(_path(i), w, privateKey, err);
        }
    }

    /// @dev The address a signature over the wrong domain recovers to, on the ledger's digest.
    function _recoveredOnLedger(Path p, Writes memory w, bytes memory signature) internal view returns (address) {
        (bytes32 r, bytes32 s, uint8 v) = _split(signature);
        return ecrecover(_digest(p, w, _domain()), v, r, s);
    }

    function _split(bytes memory signature) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
    }

    function test_EveryPath_SucceedsWithValidSignature() public {
        // The baseline the failure tests vary: each path passes as set up.
        Writes memory w = _writes(TAX_BUREAU_PK);
        for (uint256 i = 0; i < PATH_COUNT; ++i) {
            // Each successful nonce-using write moves the nonce on.
            _setNonce(w, ledger.nonces(taxBureau));
            _submit(_path(i), w, _signed(_path(i), w, TAX_BUREAU_PK));
        }
        assertEq(ledger.getFact(TAX_BUREAU_ID, keccak256("new invoice")).agencyId, TAX_BUREAU_ID, "attested");
        assertEq(ledger.getBatch(TAX_BUREAU_ID, keccak256("new batch")).count, 7, "anchored");
        assertEq(ledger.getFact(TAX_BUREAU_ID, attestedUid).revokedBlock, uint64(block.number), "revoked");
        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, batchRoot, batchLeaf), uint64(block.number), "leaf revoked");
        assertEq(ledger.nonces(taxBureau), 4, "three nonces used");
    }

    function test_RevertWhen_SignerNotMember_OnEveryPath() public {
        _expectEveryPathReverts(
            _writes(STRANGER_PK),
            STRANGER_PK,
            abi.encodeWithSelector(ITaxLedger.LedgerUnknownSigner.selector, stranger)
        );
    }

    function test_RevertWhen_SignerOfOtherKind_OnEveryPath() public {
        // Writes check the signer's kind against the schema; revocations need no kind check, as
        // an agency revokes only its own facts, whose kind was checked when it wrote them: another
        // agency finds no such fact or batch among its own.
        uint256[2] memory keys = [BANK_PK, AUDITOR_PK];
        uint32[2] memory ids = [BANK_ID, AUDITOR_ID];
        for (uint256 k = 0; k < keys.length; ++k) {
            Writes memory w = _writes(keys[k]);
            bytes memory kindErr =
                abi.encodeWithSelector(ITaxLedger.LedgerKindNotAllowed.selector, ids[k], INVOICE_ISSUED);
            _expectPathReverts(Path.Attest, w, keys[k], kindErr);
            _expectPathReverts(Path.AnchorBatch, w, keys[k], kindErr);
            _expectPathReverts(
                Path.Revoke, w, keys[k], abi.encodeWithSelector(ITaxLedger.LedgerUnknownFact.selector, ids[k], attestedUid)
            );
            _expectPathReverts(
                Path.RevokeLeaf,
                w,
                keys[k],
                abi.encodeWithSelector(ITaxLedger.LedgerUnknownBatch.selector, ids[k], batchRoot)
            );
        }
    }

    function test_RevertWhen_AgencySuspended_OnEveryPath() public {
        _suspend(TAX_BUREAU_ID);
        _expectEveryPathReverts(
            _writes(TAX_BUREAU_PK),
            TAX_BUREAU_PK,
            abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, TAX_BUREAU_ID)
        );
        // Rotating a suspended agency's key does not let the new key write either.
        _rotateKey(TAX_BUREAU_ID, NEW_TAX_BUREAU_PK);
        _expectEveryPathReverts(
            _writes(NEW_TAX_BUREAU_PK),
            NEW_TAX_BUREAU_PK,
            abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, TAX_BUREAU_ID)
        );
    }

    /// @dev Submits every path of `w`, signed by `privateKey`, each with the signer's next nonce.
    function _submitEveryPath(Writes memory w, uint256 privateKey) internal {
        for (uint256 i = 0; i < PATH_COUNT; ++i) {
            _setNonce(w, ledger.nonces(vm.addr(privateKey)));
            _submit(_path(i), w, _signed(_path(i), w, privateKey));
        }
    }

    function test_KeyRotation_TakesEffectFromTheNextBlock_OnEveryPath() public {
        address newKey = vm.addr(NEW_TAX_BUREAU_PK);
        uint64 executed = _nextBlock();
        _enact(_rotateKeyAction(TAX_BUREAU_ID, newKey));

        // In the executing block the new key is refused and the old one writes on every path.
        _expectEveryPathReverts(
            _writes(NEW_TAX_BUREAU_PK),
            NEW_TAX_BUREAU_PK,
            abi.encodeWithSelector(ITaxLedger.LedgerUnauthorizedSigner.selector, newKey)
        );
        _submitEveryPath(_writes(TAX_BUREAU_PK), TAX_BUREAU_PK);
        assertEq(ledger.getFact(TAX_BUREAU_ID, keccak256("new invoice")).attestedBlock, executed, "attested by the old key");
        assertEq(ledger.getFact(TAX_BUREAU_ID, attestedUid).revokedBlock, executed, "revoked by the old key");
        assertEq(ledger.leafRevokedAt(TAX_BUREAU_ID, batchRoot, batchLeaf), executed, "leaf revoked by the old key");

        // From the next block the old key is refused on every path, even where the target is
        // already revoked: authorisation is checked first. The new key writes and revokes.
        _nextBlock();
        _expectEveryPathReverts(
            _writes(TAX_BUREAU_PK),
            TAX_BUREAU_PK,
            abi.encodeWithSelector(ITaxLedger.LedgerUnauthorizedSigner.selector, taxBureau)
        );
        _attest(NEW_TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("invoice by the new key"));
        _anchor(NEW_TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("batch by the new key"), 3);
        _revoke(NEW_TAX_BUREAU_PK, keccak256("new invoice"));
        assertEq(ledger.getFact(TAX_BUREAU_ID, keccak256("new invoice")).revokedBlock, executed + 1, "revoked by the new key");
    }

    function test_Suspension_TakesEffectFromTheNextBlock_OnEveryPath() public {
        uint64 executed = _nextBlock();
        _enact(_suspendAction(TAX_BUREAU_ID));

        // In the executing block the agency still writes and revokes on every path.
        _submitEveryPath(_writes(TAX_BUREAU_PK), TAX_BUREAU_PK);
        assertEq(ledger.getBatch(TAX_BUREAU_ID, keccak256("new batch")).anchoredBlock, executed, "anchored while suspending");
        assertEq(ledger.getFact(TAX_BUREAU_ID, attestedUid).revokedBlock, executed, "revoked while suspending");

        _nextBlock();
        Writes memory late = _writes(TAX_BUREAU_PK);
        late.attest.commitment = keccak256("late invoice");
        late.batch.root = keccak256("late batch");
        _expectEveryPathReverts(
            late, TAX_BUREAU_PK, abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, TAX_BUREAU_ID)
        );

        // Reinstatement too waits for the next block.
        _nextBlock();
        _enact(_reinstateAction(TAX_BUREAU_ID));
        _expectEveryPathReverts(
            late, TAX_BUREAU_PK, abi.encodeWithSelector(ITaxLedger.LedgerAgencySuspended.selector, TAX_BUREAU_ID)
        );
        uint64 reinstated = _nextBlock();
        _submit(Path.Attest, late, _signed(Path.Attest, late, TAX_BUREAU_PK));
        _submit(Path.AnchorBatch, late, _signed(Path.AnchorBatch, late, TAX_BUREAU_PK));
        assertEq(ledger.getFact(TAX_BUREAU_ID, keccak256("late invoice")).attestedBlock, reinstated, "attested once reinstated");
        assertEq(ledger.getBatch(TAX_BUREAU_ID, keccak256("late batch")).anchoredBlock, reinstated, "anchored once reinstated");
    }

    function test_RevertWhen_KeyRotatedOut_OnEveryPath() public {
        _rotateKey(TAX_BUREAU_ID, NEW_TAX_BUREAU_PK);
        _expectEveryPathReverts(
            _writes(TAX_BUREAU_PK),
            TAX_BUREAU_PK,
            abi.encodeWithSelector(ITaxLedger.LedgerUnauthorizedSigner.selector, taxBureau)
        );
    }

    function test_RevertWhen_DeadlinePassed_OnEveryPath() public {
        uint64 deadline = uint64(block.timestamp) - 1;
        Writes memory w = _writes(TAX_BUREAU_PK);
        _setDeadline(w, deadline);
        _expectEveryPathReverts(
            w, TAX_BUREAU_PK, abi.encodeWithSelector(ITaxLedger.LedgerSignatureExpired.selector, deadline)
        );
    }

    function test_DeadlineIsInclusive_OnEveryPath() public {
        Writes memory w = _writes(TAX_BUREAU_PK);
        _setDeadline(w, uint64(block.timestamp));
        for (uint256 i = 0; i < PATH_COUNT; ++i) {
            _setNonce(w, ledger.nonces(taxBureau));
            _submit(_path(i), w, _signed(_path(i), w, TAX_BUREAU_PK));
        }
        assertEq(ledger.nonces(taxBureau), 4, "every path accepted at its deadline");
    }

    function test_RevertWhen_NonceReused_OnEveryNoncePath() public {
        // Nonce 0 was used in set-up; 1 is next.
        Writes memory w = _writes(TAX_BUREAU_PK);
        _setNonce(w, 0);
        bytes memory err = abi.encodeWithSelector(ITaxLedger.LedgerInvalidNonce.selector, taxBureau, 1, 0);
        Path[3] memory noncePaths = [Path.Attest, Path.Revoke, Path.RevokeLeaf];
        for (uint256 i = 0; i < noncePaths.length; ++i) {
            bytes memory signature = _signed(noncePaths[i], w, TAX_BUREAU_PK);
            vm.expectRevert(err);
            _submit(noncePaths[i], w, signature);
        }
    }

    function test_RevertWhen_NonceSkipped_OnEveryNoncePath() public {
        Writes memory w = _writes(TAX_BUREAU_PK);
        _setNonce(w, 2);
        bytes memory err = abi.encodeWithSelector(ITaxLedger.LedgerInvalidNonce.selector, taxBureau, 1, 2);
        Path[3] memory noncePaths = [Path.Attest, Path.Revoke, Path.RevokeLeaf];
        for (uint256 i = 0; i < noncePaths.length; ++i) {
            bytes memory signature = _signed(noncePaths[i], w, TAX_BUREAU_PK);
            vm.expectRevert(err);
            _submit(noncePaths[i], w, signature);
        }
    }

    function test_RevertWhen_AttestReplayed() public {
        ITaxLedger.AttestRequest memory request = _attestRequest(TAX_BUREAU_PK, TAX_RATING, keccak256("rating"));
        bytes memory signature = _sign(TAX_BUREAU_PK, request);
        ledger.attest(request, signature);
        // The nonce catches the replay before the duplicate commitment does.
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerInvalidNonce.selector, taxBureau, 2, 1));
        ledger.attest(request, signature);
    }

    function test_RevertWhen_RevocationReplayed() public {
        Writes memory w = _writes(TAX_BUREAU_PK);
        bytes memory revokeSignature = _signed(Path.Revoke, w, TAX_BUREAU_PK);
        _submit(Path.Revoke, w, revokeSignature);
        w.revokeLeaf.nonce = 2;
        bytes memory leafSignature = _signed(Path.RevokeLeaf, w, TAX_BUREAU_PK);
        _submit(Path.RevokeLeaf, w, leafSignature);
        // A replayed revocation finds its target revoked before it reaches the used nonce.
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerAlreadyRevoked.selector, attestedUid));
        _submit(Path.Revoke, w, revokeSignature);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerAlreadyRevoked.selector, batchLeaf));
        _submit(Path.RevokeLeaf, w, leafSignature);
    }

    function _expectWrongDomainReverts(LedgerTypedData.Domain memory wrong) internal {
        Writes memory w = _writes(TAX_BUREAU_PK);
        for (uint256 i = 0; i < PATH_COUNT; ++i) {
            bytes memory signature = _signDigest(TAX_BUREAU_PK, _digest(_path(i), w, wrong));
            address recovered = _recoveredOnLedger(_path(i), w, signature);
            assertTrue(recovered != taxBureau && recovered != address(0), "recovers some other address");
            vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownSigner.selector, recovered));
            _submit(_path(i), w, signature);
        }
    }

    function test_RevertWhen_SignedForOtherChain_OnEveryPath() public {
        LedgerTypedData.Domain memory wrong = _domain();
        wrong.chainId = block.chainid + 1;
        _expectWrongDomainReverts(wrong);
    }

    function test_RevertWhen_SignedForOtherContract_OnEveryPath() public {
        LedgerTypedData.Domain memory wrong = _domain();
        wrong.verifyingContract = address(uint160(address(ledger)) + 1);
        _expectWrongDomainReverts(wrong);
    }

    function test_RevertWhen_SignedForOtherNameOrVersion_OnEveryPath() public {
        LedgerTypedData.Domain memory wrong = _domain();
        wrong.name = "TaxLedger ";
        _expectWrongDomainReverts(wrong);
        wrong = _domain();
        wrong.version = "2";
        _expectWrongDomainReverts(wrong);
    }

    function test_RevertWhen_ChainForkedAfterSigning_OnEveryPath() public {
        // Signatures made before a fork do not carry over to the forked chain.
        Writes memory w = _writes(TAX_BUREAU_PK);
        bytes[] memory signatures = new bytes[](PATH_COUNT);
        for (uint256 i = 0; i < PATH_COUNT; ++i) {
            signatures[i] = _signed(_path(i), w, TAX_BUREAU_PK);
        }
        vm.chainId(block.chainid + 1);
        for (uint256 i = 0; i < PATH_COUNT; ++i) {
            address recovered = _recoveredOnLedger(_path(i), w, signatures[i]);
            vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownSigner.selector, recovered));
            _submit(_path(i), w, signatures[i]);
        }
    }

    /// @dev Malformed variants of `signature`: wrong lengths, high `s`, bad `v`, zero `r`.
    function _malformed(bytes memory signature) internal pure returns (bytes[] memory variants) {
        (bytes32 r, bytes32 s, uint8 v) = _split(signature);
        variants = new bytes[](8);
        variants[0] = "";
        variants[1] = abi.encodePacked(r, s); // 64 bytes: EIP-2098 compact form is not accepted
        variants[2] = abi.encodePacked(r, s, v, uint8(0)); // 66 bytes
        variants[3] = abi.encodePacked(r, bytes32(SECP256K1_ORDER - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        variants[4] = abi.encodePacked(r, s, uint8(0));
        variants[5] = abi.encodePacked(r, s, uint8(29));
        variants[6] = abi.encodePacked(bytes32(0), s, v);
        variants[7] = new bytes(65);
    }

    function test_RevertWhen_SignatureMalformed_OnEveryPath() public {
        Writes memory w = _writes(TAX_BUREAU_PK);
        for (uint256 i = 0; i < PATH_COUNT; ++i) {
            bytes[] memory variants = _malformed(_signed(_path(i), w, TAX_BUREAU_PK));
            for (uint256 j = 0; j < variants.length; ++j) {
                vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerInvalidSignature.selector));
                _submit(_path(i), w, variants[j]);
            }
        }
    }

    // ------------------------------------------------------------------ fuzz

    /// @dev Keys of no agency: any valid private key but the founders'.
    function _strangerKey(uint256 seed) internal pure returns (uint256 privateKey) {
        privateKey = boundPrivateKey(seed);
        vm.assume(
            privateKey != TAX_BUREAU_PK && privateKey != BANK_PK && privateKey != MARKET_REGULATOR_PK
                && privateKey != AUDITOR_PK
        );
    }

    function testFuzz_RandomKeyIsUnknownSigner(uint256 keySeed, uint256 pathSeed) public {
        uint256 privateKey = _strangerKey(keySeed);
        Path p = _path(bound(pathSeed, 0, PATH_COUNT - 1));
        Writes memory w = _writes(privateKey);
        bytes memory signature = _signed(p, w, privateKey);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownSigner.selector, vm.addr(privateKey)));
        _submit(p, w, signature);
    }

    function testFuzz_Attest_OnlyTheRightKeyAttests(
        bytes32 commitment,
        bytes32 subject,
        uint32 expiresIn,
        uint32 validFor,
        uint256 keySeed
    ) public {
        vm.assume(commitment != bytes32(0) && commitment != attestedUid);
        ITaxLedger.AttestRequest memory request = ITaxLedger.AttestRequest({
            schemaId: TAX_RATING,
            commitment: commitment,
            subject: subject,
            refUID: bytes32(0),
            expiration: expiresIn == 0 ? 0 : uint64(block.timestamp) + expiresIn,
            nonce: 1,
            deadline: uint64(block.timestamp) + validFor
        });

        uint256 strangerKey = _strangerKey(keySeed);
        bytes memory signature = _sign(strangerKey, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownSigner.selector, vm.addr(strangerKey)));
        ledger.attest(request, signature);

        signature = _sign(BANK_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerKindNotAllowed.selector, BANK_ID, TAX_RATING));
        ledger.attest(request, signature);

        signature = _sign(TAX_BUREAU_PK, request);
        vm.expectEmit(address(ledger));
        emit ITaxLedger.Attested(
            commitment, TAX_BUREAU_ID, subject, TAX_RATING, taxBureau, bytes32(0), request.expiration
        );
        assertEq(ledger.attest(request, signature), commitment, "uid");
        assertEq(ledger.getFact(TAX_BUREAU_ID, commitment).expiration, request.expiration, "expiration");
        assertEq(ledger.nonces(taxBureau), 2, "nonce");
    }

    function testFuzz_AnchorBatch_OnlyTheRightKeyAnchors(bytes32 root, uint32 count, uint256 keySeed) public {
        vm.assume(root != bytes32(0) && root != batchRoot && count != 0);
        ITaxLedger.BatchRequest memory request = _batchRequest(PAYMENT_SETTLED, root, count);

        uint256 strangerKey = _strangerKey(keySeed);
        bytes memory signature = _sign(strangerKey, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownSigner.selector, vm.addr(strangerKey)));
        ledger.anchorBatch(request, signature);

        signature = _sign(TAX_BUREAU_PK, request);
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerKindNotAllowed.selector, TAX_BUREAU_ID, PAYMENT_SETTLED));
        ledger.anchorBatch(request, signature);

        signature = _sign(BANK_PK, request);
        vm.expectEmit(address(ledger));
        emit ITaxLedger.BatchAnchored(root, PAYMENT_SETTLED, BANK_ID, bank, count);
        ledger.anchorBatch(request, signature);
    }

    /// @dev Changing any signed field after signing makes the signature another key's.
    function testFuzz_TamperedRequestRecoversAnotherSigner(uint256 fieldSeed, bytes32 noise) public {
        vm.assume(noise != bytes32(0));
        ITaxLedger.AttestRequest memory request = _attestRequest(TAX_BUREAU_PK, INVOICE_ISSUED, keccak256("fact"));
        bytes memory signature = _sign(TAX_BUREAU_PK, request);

        uint256 field = bound(fieldSeed, 0, 6);
        if (field == 0) request.schemaId ^= noise;
        else if (field == 1) request.commitment ^= noise;
        else if (field == 2) request.subject ^= noise;
        else if (field == 3) request.refUID ^= noise;
        else if (field == 4) request.expiration ^= uint64(uint256(noise)) | 1;
        else if (field == 5) request.nonce ^= uint256(noise);
        // Only a later deadline, so the deadline check passes and the signature is what fails.
        else request.deadline += uint64(uint256(noise) % 365 days) + 1;

        (bytes32 r, bytes32 s, uint8 v) = _split(signature);
        address recovered =
            ecrecover(LedgerTypedData.digest(_domain(), LedgerTypedData.hashStruct(request)), v, r, s);
        assertTrue(recovered != taxBureau, "another signer");
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerUnknownSigner.selector, recovered));
        ledger.attest(request, signature);
    }

    function testFuzz_HighSIsRejected(uint256 keySeed, bytes32 commitment) public {
        uint256 privateKey = boundPrivateKey(keySeed);
        ITaxLedger.AttestRequest memory request = _attestRequest(privateKey, INVOICE_ISSUED, commitment);
        (bytes32 r, bytes32 s, uint8 v) = _split(_sign(privateKey, request));
        // The same signature in its malleable twin form recovers the same key; the ledger refuses it.
        bytes memory twin = abi.encodePacked(r, bytes32(SECP256K1_ORDER - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(ITaxLedger.LedgerInvalidSignature.selector));
        ledger.attest(request, twin);
    }
}
