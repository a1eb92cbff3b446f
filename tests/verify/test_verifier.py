"""The verifier's checks: genuine bundles pass, and each kind of tampering fails at its check
with its message, against the live chain and against a synced index alike."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path

import orjson
import pytest

from ledger_node.agencies import AgencyKind
from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.ledger_checks import check_ledger
from ledger_node.bundle import ProofBundle
from ledger_node.chain.deploy import Founder, default_schemas, deploy_ledger, fund_from_node
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc
from ledger_node.chain.transactions import Sender
from ledger_node.deployment import SchemaEntry
from ledger_node.eip712 import BatchRequest
from ledger_node.keys import EncryptionKey, LocalKey
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED
from ledger_node.verify import VerificationFailure, Verifier

from .conftest import CONSORTIUM_KEY, Ledger


def fails(verifier: Verifier, bundle: ProofBundle, check: int, message: str) -> None:
    with pytest.raises(VerificationFailure, match=rf"^\({check}\) {message}") as caught:
        verifier.verify(bundle)
    assert caught.value.check == check


def with_anchor(bundle: ProofBundle, **changes: object) -> ProofBundle:
    return dataclasses.replace(bundle, anchor=dataclasses.replace(bundle.anchor, **changes))


def resigned(chain: Ledger, bundle: ProofBundle, key: LocalKey) -> ProofBundle:
    """The bundle with its batch request signed again by ``key``, naming ``key`` as signer."""
    a = bundle.anchor
    assert a.count is not None
    request = BatchRequest(bundle.schema_id, bundle.root, a.count, a.deadline)
    signature = key.sign_digest(chain.client.domain.digest(request.struct_hash()))
    return with_anchor(bundle, signature=signature, signer=bytes.fromhex(key.address[2:]))


def test_genuine_bundles_pass(verifier: Verifier, chain: Ledger) -> None:
    for bundle in [*chain.invoices, chain.rating, chain.expiring, chain.after_rotation]:
        verified = verifier.verify(bundle)
        assert verified.write.block_number == bundle.anchor.block_number


def test_a_root_written_by_two_agencies_is_two_writes(verifier: Verifier, chain: Ledger) -> None:
    """The bank anchored the bureau's root (and attested its rating's commitment) too: the
    bureau's bundles verify as the bureau's, and a bundle claiming the bank's write of them
    fails where the bank's write differs from the bureau's."""
    invoice = chain.invoices[0]
    for bundle, copy in ((invoice, chain.copied_root), (chain.rating, chain.copied_uid)):
        assert verifier.verify(bundle).write.agency_id == 1
        claimed = with_anchor(
            bundle, agency_id=2, tx_hash=copy.tx_hash, block_number=copy.block_number
        )
        fails(verifier, claimed, 4, "the ledger recorded schema 0x")
    # Claiming another agency with the bureau's transaction names a write that agency lacks.
    fails(verifier, with_anchor(invoice, agency_id=3), 4, f"root 0x{invoice.root.hex()} is not")


def test_the_audit_names_both_writers_of_a_copied_root(chain: Ledger, synced_index: Path) -> None:
    findings = check_ledger(AuditIndex.open(synced_index))
    assert sorted((f.code, f.subject) for f in findings) == sorted(
        [
            ("write_copied_by_other_agency", "0x" + chain.invoices[0].root.hex()),
            ("write_copied_by_other_agency", "0x" + chain.rating.root.hex()),
        ]
    )
    by_subject = {f.subject: f for f in findings}
    root = by_subject["0x" + chain.invoices[0].root.hex()]
    assert root.message == (
        f"root 0x{chain.invoices[0].root.hex()} was written first by tax-bureau (agency 1) at "
        f"block {chain.invoices[0].anchor.block_number}, then again by bank (agency 2) at block "
        f"{chain.copied_root.block_number}"
    )
    assert by_subject["0x" + chain.rating.root.hex()].message.startswith(
        f"commitment 0x{chain.rating.root.hex()} was written first by tax-bureau (agency 1)"
    )


def test_a_bundle_file_round_trips_and_passes(
    verifier: Verifier, chain: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "invoice.json"
    chain.invoices[1].save(path)
    assert verifier.verify_file(path).bundle == chain.invoices[1]


def test_malformed_bundle_fails_check_0(verifier: Verifier) -> None:
    with pytest.raises(VerificationFailure, match=r"^\(0\) format must be 'taxledger.proof/v1'"):
        verifier.verify_bytes(orjson.dumps({"format": "other"}))
    with pytest.raises(VerificationFailure, match=r"^\(0\) not JSON"):
        verifier.verify_bytes(b"{")


def test_invalid_record_fails_check_1(verifier: Verifier, chain: Ledger) -> None:
    bundle = chain.invoices[0]
    broken = dataclasses.replace(bundle, record={**bundle.record, "total": "0.01"})
    fails(verifier, broken, 1, "the record does not satisfy invoice.issued/v1: total: ")


def test_edited_field_fails_check_2(verifier: Verifier, chain: Ledger) -> None:
    bundle = chain.invoices[0]
    buyer = {**bundle.record["buyer"], "name": "上海另一家贸易有限公司"}
    edited = dataclasses.replace(bundle, record={**bundle.record, "buyer": buyer})
    fails(verifier, edited, 2, "the record hashes to 0x[0-9a-f]{64}, the bundle says")


def test_swapped_salt_fails_check_2(verifier: Verifier, chain: Ledger) -> None:
    swapped = dataclasses.replace(chain.invoices[0], salt=chain.invoices[1].salt)
    fails(verifier, swapped, 2, "schema id, salt and record hash commit to .* the salt is not")


def test_wrong_proof_fails_check_3(verifier: Verifier, chain: Ledger) -> None:
    wrong = dataclasses.replace(chain.invoices[0], proof=chain.invoices[1].proof)
    fails(verifier, wrong, 3, "the Merkle proof leads from the leaf to 0x[0-9a-f]{64}, not to")


def test_wrong_chain_id_fails_check_4(verifier: Verifier, chain: Ledger) -> None:
    other = with_anchor(chain.invoices[0], chain_id=1)
    fails(verifier, other, 4, "the bundle is anchored on chain 1, but the ledger is on chain")


def test_wrong_ledger_contract_fails_check_4(verifier: Verifier, chain: Ledger) -> None:
    other = with_anchor(chain.invoices[0], ledger=b"\x42" * 20)
    fails(verifier, other, 4, "the bundle names ledger contract 0x4242")


def test_wrong_transaction_fails_check_4(verifier: Verifier, chain: Ledger) -> None:
    other = with_anchor(chain.invoices[0], block_number=chain.invoices[0].anchor.block_number + 1)
    fails(verifier, other, 4, "root 0x[0-9a-f]{64} was written in transaction 0x")


def test_root_never_anchored_fails_check_4(verifier: Verifier, chain: Ledger) -> None:
    bundle = chain.invoices[0]
    lone = dataclasses.replace(bundle, proof=(), root=bundle.leaf)
    fails(verifier, lone, 4, f"root 0x{bundle.leaf.hex()} is not on ledger")


def test_forged_signature_fails_check_5(verifier: Verifier, chain: Ledger) -> None:
    signature = bytearray(chain.invoices[0].anchor.signature)
    signature[5] ^= 0xFF
    forged = with_anchor(chain.invoices[0], signature=bytes(signature))
    fails(verifier, forged, 5, "the signature (recovers 0x[0-9a-f]{40}, not|is unusable)")


def test_signature_over_another_request_fails_check_5(verifier: Verifier, chain: Ledger) -> None:
    forged = with_anchor(chain.invoices[0], deadline=chain.invoices[0].anchor.deadline + 1)
    fails(verifier, forged, 5, "the signature recovers 0x[0-9a-f]{40}, not the signer")


def test_non_member_key_fails_check_6(verifier: Verifier, chain: Ledger) -> None:
    stranger = LocalKey.generate()
    forged = resigned(chain, chain.invoices[0], stranger)
    fails(verifier, forged, 6, f"signer {stranger.address} is not, and never was, a member")


def test_rotated_out_key_fails_check_6(verifier: Verifier, chain: Ledger) -> None:
    # The old key, stolen after rotation, signs a root anchored after it was rotated out.
    forged = resigned(chain, chain.after_rotation, chain.old_key)
    fails(
        verifier,
        forged,
        6,
        f"signer {chain.old_key.address} was not tax-bureau \\(agency 1\\)'s key at block "
        r"\d+: it was rotated out at block \d+",
    )


def test_another_agencys_key_fails_check_6(verifier: Verifier, chain: Ledger) -> None:
    forged = resigned(chain, chain.invoices[0], chain.consortium.keys["bank"])
    fails(verifier, forged, 6, "signer 0x[0-9a-f]{40} is a key of bank \\(agency 2\\), but")


def test_revoked_leaf_fails_check_8(verifier: Verifier, chain: Ledger) -> None:
    fails(verifier, chain.revoked_leaf, 8, r"the fact was revoked at block \d+ .* by agency 1")


def test_revoked_single_fact_fails_check_8(verifier: Verifier, chain: Ledger) -> None:
    fails(verifier, chain.revoked_fact, 8, r"the fact was revoked at block \d+")


def test_expired_fact_fails_check_8(chain: Ledger) -> None:
    late = Verifier.from_chain(chain.client, chain.consortium.deployment)
    late.clock = lambda: 4_000_000_001.0
    fails(late, chain.expiring, 8, "the fact expired at 2096-10-02T07:06:40Z")


def test_too_few_confirmations_fail_check_9(chain: Ledger, synced_index: Path) -> None:
    for strict in (
        Verifier.from_chain(chain.client, chain.consortium.deployment, confirmations=1000),
        Verifier.from_index(AuditIndex.open(synced_index), confirmations=1000),
    ):
        fails(strict, chain.invoices[0], 9, r"block \d+ has \d+ confirmation\(s\), 1000 required")


def test_cached_anchor_does_not_hide_tampering(verifier: Verifier, chain: Ledger) -> None:
    verifier.verify(chain.invoices[0])
    forged = resigned(chain, chain.invoices[1], LocalKey.generate())
    fails(verifier, forged, 6, "signer 0x[0-9a-f]{40} is not, and never was")
    verifier.verify(chain.invoices[2])


def test_suspended_agency_in_history_fails_check_7(
    chain: Ledger, synced_index: Path, tmp_path: Path
) -> None:
    # An index whose history says the tax bureau was suspended before its first batch: the
    # verifier trusts that history, and the audit's governance check flags it (test_ledger_checks).
    path = tmp_path / "forged.sqlite"
    db = sqlite3.connect(path)
    source = sqlite3.connect(synced_index)
    source.backup(db)
    source.close()
    block = chain.invoices[0].anchor.block_number
    with db:
        db.execute(
            "INSERT INTO events VALUES (?, 99, ?, 'AgencySuspended', ?)",
            (block - 1, b"\x11" * 32, orjson.dumps({"agencyId": 1}).decode()),
        )
    db.close()
    fails(
        Verifier.from_index(AuditIndex.open(path)),
        chain.invoices[0],
        7,
        rf"tax-bureau \(agency 1\) was suspended at block {block} \(since block {block - 1}\)",
    )


def test_kind_not_allowed_fails_check_7(chain: Ledger) -> None:
    # A consortium that registered invoices as attestable by banks: the contract lets the bank
    # anchor them, the records library says only a tax bureau may.
    rpc = Rpc(chain.w3)
    bank, deployer = LocalKey.generate(), LocalKey.generate()
    fund_from_node(rpc, [bank.address, deployer.address])
    schemas = tuple(
        SchemaEntry(s.name, s.schema_id, (AgencyKind.TAX_BUREAU, AgencyKind.BANK), s.revocable)
        if s.name == INVOICE_ISSUED
        else s
        for s in default_schemas()
    )
    deployment = deploy_ledger(
        rpc,
        Sender(rpc, deployer, chain.client.chain_id),
        [Founder("lax-bank", AgencyKind.BANK, bank.address, EncryptionKey.generate().public_key)],
        schemas,
        1,
    )
    client = LedgerClient.from_deployment(chain.w3, deployment)
    record = samples.generate(INVOICE_ISSUED, 1, seed=3)
    (bundle,) = anchor_records(
        client, bank, client.sender(bank), INVOICE_ISSUED, record, consortium_key=CONSORTIUM_KEY
    )
    fails(
        Verifier.from_chain(client, deployment),
        bundle,
        7,
        re.escape(
            "lax-bank (agency 1, bank) may not attest invoice.issued/v1: only tax-bureau may"
        ),
    )
