"""Anchor records directly through the chain client and get their proof bundles back.

The smallest complete write path, without a gateway: validate, salt and commit each record,
build the Merkle tree, anchor its root (or attest one record), and assemble a
:class:`~ledger_node.bundle.ProofBundle` per record. Tests, the demo and benchmarks use it to
make real, verifiable facts; an agency in production goes through its gateway, which adds
durability and batching on top of the same library calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger_node.bundle import Anchor, ProofBundle
from ledger_node.chain.ledger import ZERO32, LedgerClient, Written
from ledger_node.chain.transactions import Sender
from ledger_node.commitment import CommittedRecord, commit_record
from ledger_node.eip712 import AttestRequest
from ledger_node.keys import LocalKey
from ledger_node.merkle import MerkleTree
from ledger_node.records.validation import validate
from ledger_node.subject import record_subject_tags


def _anchor(client: LedgerClient, agency_id: int, written: Written, **fields: Any) -> Anchor:
    return Anchor(
        chain_id=client.chain_id,
        ledger=bytes.fromhex(client.address[2:]),
        tx_hash=written.tx_hash,
        block_number=written.block_number,
        agency_id=agency_id,
        signer=bytes.fromhex(written.signer[2:]),
        signature=written.signature,
        deadline=written.request.deadline,
        **fields,
    )


def _agency_id(client: LedgerClient, agency_key: LocalKey) -> int:
    record = client.key_record(agency_key.address)
    if record is None:
        raise ValueError(f"{agency_key.address} is not an agency key on ledger {client.address}")
    return record.agency_id


def anchor_records(
    client: LedgerClient,
    agency_key: LocalKey,
    sender: Sender,
    schema_name: str,
    records: Sequence[dict[str, Any]],
    *,
    consortium_key: bytes,
) -> list[ProofBundle]:
    """Validate ``records`` (all of ``schema_name``), anchor them as one batch signed by
    ``agency_key`` and return their bundles, in the order given.

    Raises :class:`~ledger_node.errors.RecordValidationError` for the first invalid record,
    before anything is written.
    """
    if not records:
        raise ValueError("a batch needs at least one record")
    committed = [commit_record(validate(schema_name, record)) for record in records]
    schema_id = committed[0].validated.schema.schema_id
    leaves = [c.leaf for c in committed]
    tree = MerkleTree(leaves)
    written = client.anchor_batch(
        agency_key, sender, schema_id=schema_id, root=tree.root, count=len(leaves)
    )
    anchor = _anchor(
        client, _agency_id(client, agency_key), written, kind="batch", count=len(leaves)
    )
    return [
        _bundle(c, proof, tree.root, consortium_key, anchor)
        for c, proof in zip(committed, tree.all_proofs(), strict=True)
    ]


def attest_record(
    client: LedgerClient,
    agency_key: LocalKey,
    sender: Sender,
    schema_name: str,
    record: dict[str, Any],
    *,
    consortium_key: bytes,
    ref_uid: bytes = ZERO32,
    expiration: int = 0,
) -> ProofBundle:
    """Validate ``record`` and attest it as a single fact; its subject is the record's first
    subject tag. ``ref_uid`` names the fact it supersedes."""
    committed = commit_record(validate(schema_name, record))
    schema_id = committed.validated.schema.schema_id
    uid = committed.commitment
    tags = record_subject_tags(consortium_key, committed.validated.subject_identifiers())
    subject = tags[0] if tags else ZERO32
    written = client.attest(
        agency_key,
        sender,
        schema_id=schema_id,
        commitment=uid,
        subject=subject,
        ref_uid=ref_uid,
        expiration=expiration,
    )
    request = written.request
    assert isinstance(request, AttestRequest)
    anchor = _anchor(
        client,
        _agency_id(client, agency_key),
        written,
        kind="single",
        nonce=request.nonce,
        subject=subject,
        ref_uid=ref_uid,
        expiration=expiration,
    )
    return _bundle(committed, (), uid, consortium_key, anchor)


def _bundle(
    committed: CommittedRecord,
    proof: Sequence[bytes],
    root: bytes,
    consortium_key: bytes,
    anchor: Anchor,
) -> ProofBundle:
    tags = record_subject_tags(consortium_key, committed.validated.subject_identifiers())
    return ProofBundle.create(committed, proof, root, tags, anchor)
