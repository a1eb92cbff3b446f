"""The write path: records to a signed batch on chain, confirmed as the agency's own, and a
proof bundle per record.

Three steps, each usable alone (a gateway stores what each returns before the next):

1. :func:`prepare_batch` — the Merkle tree of the records' leaves, the agency key's EIP-712
   signature of its root, and the sender's signed transaction (nothing is sent);
2. :func:`confirm_batch` — given what the chain shows (the transaction's receipt, or none),
   whether the root is on chain *as this agency signed it*: same agency, schema, root and
   count. A root anchored by someone else, or under another schema or count, is not this
   batch's anchor, whatever the ledger's uniqueness rules;
3. :meth:`AnchoredBatch.bundle` — the :class:`~ledger_node.bundle.ProofBundle` of each record.

:func:`anchor_records` runs the three in one call (tests, the demo, benchmarks);
:func:`attest_record` is the single-fact path (``attest``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

from ledger_node.bundle import Anchor, AnyBundle, ProofBundle, ProofBundleV2
from ledger_node.chain.errors import ChainError
from ledger_node.chain.ledger import ZERO32, Batch, LedgerClient, Written
from ledger_node.chain.transactions import Receipt, Sender, SignedTransaction
from ledger_node.commitment import CommittedRecord, commit_record, commit_record_v2
from ledger_node.eip712 import AttestRequest, BatchRequest
from ledger_node.keys import LocalKey
from ledger_node.merkle import MerkleTree
from ledger_node.records.schemas import SCHEMAS
from ledger_node.records.validation import ValidatedRecord, validate
from ledger_node.subject import record_subject_tags
from ledger_node.tagging import Keyring
from ledger_node.tagging import record_subject_tags as domain_tags

#: Gas limit of ``anchorBatch`` (about 63k used; the rest is headroom for storage repricing).
ANCHOR_GAS = 120_000


@dataclass(frozen=True)
class PreparedBatch:
    """A batch ready to send: its tree, the agency's signed request and the transaction."""

    agency_id: int
    signer: str
    tree: MerkleTree
    request: BatchRequest
    signature: bytes
    calldata: bytes
    transaction: SignedTransaction

    @property
    def root(self) -> bytes:
        """The Merkle root the agency signed."""
        return self.tree.root


def prepare_batch(
    client: LedgerClient,
    agency_id: int,
    agency_key: LocalKey,
    sender: Sender,
    *,
    schema_id: bytes,
    tree: MerkleTree,
    nonce: int,
    deadline: int | None = None,
    gas: int = ANCHOR_GAS,
) -> PreparedBatch:
    """Sign ``tree``'s root for ``anchorBatch`` with the agency key, and the transaction that
    carries it with the sender's key at ``nonce``; nothing is sent."""
    prepared = client.prepare_anchor(
        agency_key, schema_id=schema_id, root=tree.root, count=len(tree), deadline=deadline
    )
    assert isinstance(prepared.request, BatchRequest)
    transaction = sender.sign(client.address, prepared.calldata, gas, nonce, sender.max_fee())
    return PreparedBatch(
        agency_id,
        agency_key.address,
        tree,
        prepared.request,
        prepared.signature,
        prepared.calldata,
        transaction,
    )


class Verdict(enum.Enum):
    """What the chain shows of a batch."""

    #: Mined by the transaction asked about.
    ANCHORED = "anchored"
    #: On chain as this agency signed it, by another transaction (an earlier signature of
    #: the same root, sent before a restart).
    ANCHORED_BEFORE = "anchored_before"
    #: The root is on chain under another claim (agency, schema or count): not this batch.
    TAKEN = "taken"
    #: Not on chain: the transaction reverted (or was never mined).
    ABSENT = "absent"


@dataclass(frozen=True)
class Confirmation:
    """The verdict on a batch, with the block and transaction that anchored it if it is on
    chain as signed, or what the chain holds instead."""

    verdict: Verdict
    block_number: int | None = None
    tx_hash: bytes | None = None
    request: BatchRequest | None = None
    signature: bytes | None = None
    nonce: int | None = None
    gas: int | None = None
    detail: str = ""


def on_chain_as_signed(
    client: LedgerClient, agency_id: int, request: BatchRequest
) -> tuple[Batch | None, str]:
    """The ledger's record of ``request.root`` (None: not on chain), and how it differs from
    what this agency signed (empty: it does not)."""
    onchain = client.batch(agency_id, request.root)
    if onchain is None:
        return None, ""
    wanted = (agency_id, request.schema_id, request.count)
    found = (onchain.agency_id, onchain.schema_id, onchain.count)
    if wanted == found:
        return onchain, ""
    return onchain, (
        f"root 0x{request.root.hex()} is on chain for agency {onchain.agency_id}, schema "
        f"0x{onchain.schema_id.hex()}, {onchain.count} record(s); this batch is agency "
        f"{agency_id}, schema 0x{request.schema_id.hex()}, {request.count} record(s)"
    )


def confirm_batch(
    client: LedgerClient,
    agency_id: int,
    request: BatchRequest,
    tx_hash: bytes,
    receipt: Receipt | None,
) -> Confirmation:
    """Whether ``request`` (sent in ``tx_hash``, mined with ``receipt`` or not mined) is on
    chain as this agency's batch.

    Ownership is checked against the ledger's record of the root, never inferred from a
    revert: a ``LedgerDuplicateRoot`` only says that *someone* anchored the root.
    """
    onchain, mismatch = on_chain_as_signed(client, agency_id, request)
    if onchain is None:
        return Confirmation(Verdict.ABSENT)
    if mismatch:
        return Confirmation(Verdict.TAKEN, onchain.anchored_block, detail=mismatch)
    if receipt is not None and receipt.status == 1 and receipt.tx_hash == tx_hash:
        return Confirmation(Verdict.ANCHORED, receipt.block_number, tx_hash, request)
    found = client.batch_write(request.root, agency_id, onchain.anchored_block)
    if found is None:
        # The node no longer has the block's logs: the batch is ours (checked above), the
        # transaction that carried it cannot be named.
        return Confirmation(Verdict.ANCHORED_BEFORE, onchain.anchored_block)
    return Confirmation(
        Verdict.ANCHORED_BEFORE,
        onchain.anchored_block,
        found.tx_hash,
        found.request,
        found.signature,
        found.nonce,
        found.gas,
    )


@dataclass(frozen=True)
class AnchoredBatch:
    """A batch on chain as its agency signed it: what every record's bundle shares."""

    chain_id: int
    ledger: str
    agency_id: int
    signer: str
    request: BatchRequest
    signature: bytes
    tx_hash: bytes
    block_number: int

    def anchor(self) -> Anchor:
        """The bundle's ``anchor`` object."""
        return Anchor(
            chain_id=self.chain_id,
            ledger=bytes.fromhex(self.ledger.removeprefix("0x")),
            tx_hash=self.tx_hash,
            block_number=self.block_number,
            agency_id=self.agency_id,
            signer=bytes.fromhex(self.signer.removeprefix("0x")),
            signature=self.signature,
            kind="batch",
            deadline=self.request.deadline,
            count=self.request.count,
        )

    def bundle(
        self,
        *,
        schema: str,
        record: dict[str, Any],
        salt: bytes,
        record_hash: bytes,
        commitment: bytes,
        leaf: bytes,
        subjects: Sequence[bytes],
        proof: Sequence[bytes],
    ) -> ProofBundle:
        """The proof bundle of one record of this batch."""
        return ProofBundle(
            schema=schema,
            schema_id=SCHEMAS[schema].schema_id,
            record=record,
            salt=salt,
            record_hash=record_hash,
            commitment=commitment,
            leaf=leaf,
            proof=tuple(proof),
            root=self.request.root,
            subjects=tuple(subjects),
            anchor=self.anchor(),
        )

    def bundle_v2(self, committed: CommittedRecord, proof: Sequence[bytes]) -> ProofBundleV2:
        """The complete v2 bundle of a record committed with its tags
        (:func:`~ledger_node.commitment.commit_record_v2`)."""
        return ProofBundleV2.create(committed, proof, self.request.root, self.anchor())

    def bundle_of(
        self, committed: CommittedRecord, proof: Sequence[bytes], consortium_key: bytes
    ) -> ProofBundle:
        """The v1 proof bundle of a record committed in this process (its subject tags
        computed with ``consortium_key``)."""
        return self.bundle(
            schema=committed.validated.schema.name,
            record=committed.validated.record,
            salt=committed.salt,
            record_hash=committed.record_hash,
            commitment=committed.commitment,
            leaf=committed.leaf,
            subjects=_tags(committed, consortium_key),
            proof=proof,
        )


def agency_id_of(client: LedgerClient, agency_key: LocalKey) -> int:
    """The agency whose current key ``agency_key`` is; ValueError if none."""
    record = client.key_record(agency_key.address)
    if record is None:
        raise ValueError(f"{agency_key.address} is not an agency key on ledger {client.address}")
    return record.agency_id


def commit_for_bundle(
    validated: ValidatedRecord, *, consortium_key: bytes | None, keyring: Keyring | None
) -> CommittedRecord:
    """Commit a validated record for a v2 bundle (with ``keyring``: its tags per domain,
    committed with it) or a v1 bundle (with ``consortium_key``)."""
    if (keyring is None) == (consortium_key is None):
        raise ValueError("give a keyring (proof format v2) or a consortium key (v1), not both")
    if keyring is not None:
        return commit_record_v2(validated, domain_tags(keyring, validated))
    return commit_record(validated)


@overload
def anchor_records(
    client: LedgerClient,
    agency_key: LocalKey,
    sender: Sender,
    schema_name: str,
    records: Sequence[dict[str, Any]],
    *,
    consortium_key: bytes,
) -> list[ProofBundle]: ...
@overload
def anchor_records(
    client: LedgerClient,
    agency_key: LocalKey,
    sender: Sender,
    schema_name: str,
    records: Sequence[dict[str, Any]],
    *,
    keyring: Keyring,
) -> list[ProofBundleV2]: ...
def anchor_records(
    client: LedgerClient,
    agency_key: LocalKey,
    sender: Sender,
    schema_name: str,
    records: Sequence[dict[str, Any]],
    *,
    consortium_key: bytes | None = None,
    keyring: Keyring | None = None,
) -> list[ProofBundle] | list[ProofBundleV2]:
    """Validate ``records`` (all of ``schema_name``), anchor them as one batch signed by
    ``agency_key`` and return their bundles, in the order given: ``taxledger.proof/v2``
    with tags from ``keyring``, v1 with tags from ``consortium_key``.

    Raises :class:`~ledger_node.errors.RecordValidationError` for the first invalid record,
    before anything is written, and the ledger's typed error if the write fails.
    """
    if not records:
        raise ValueError("a batch needs at least one record")
    committed = [
        commit_for_bundle(
            validate(schema_name, record), consortium_key=consortium_key, keyring=keyring
        )
        for record in records
    ]
    agency_id = agency_id_of(client, agency_key)
    prepared = prepare_batch(
        client,
        agency_id,
        agency_key,
        sender,
        schema_id=committed[0].validated.schema.schema_id,
        tree=MerkleTree([c.leaf for c in committed]),
        nonce=sender.take_nonces(1),
    )
    tx = prepared.transaction
    sender.submit([tx])
    (receipt,) = sender.wait([tx])
    confirmed = confirm_batch(client, agency_id, prepared.request, tx.tx_hash, receipt)
    if confirmed.verdict is not Verdict.ANCHORED:
        client.raise_for_status(sender, tx, receipt, prepared.calldata)  # the typed revert
        raise ChainError(
            f"batch 0x{prepared.root.hex()} is not on chain as signed: {confirmed.detail}"
        )
    assert confirmed.block_number is not None
    batch = AnchoredBatch(
        client.chain_id,
        client.address,
        agency_id,
        prepared.signer,
        prepared.request,
        prepared.signature,
        tx.tx_hash,
        confirmed.block_number,
    )
    proofs = prepared.tree.all_proofs()
    if consortium_key is None:
        return [batch.bundle_v2(c, p) for c, p in zip(committed, proofs, strict=True)]
    return [batch.bundle_of(c, p, consortium_key) for c, p in zip(committed, proofs, strict=True)]


@overload
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
) -> ProofBundle: ...
@overload
def attest_record(
    client: LedgerClient,
    agency_key: LocalKey,
    sender: Sender,
    schema_name: str,
    record: dict[str, Any],
    *,
    keyring: Keyring,
    ref_uid: bytes = ZERO32,
    expiration: int = 0,
) -> ProofBundleV2: ...
def attest_record(
    client: LedgerClient,
    agency_key: LocalKey,
    sender: Sender,
    schema_name: str,
    record: dict[str, Any],
    *,
    consortium_key: bytes | None = None,
    keyring: Keyring | None = None,
    ref_uid: bytes = ZERO32,
    expiration: int = 0,
) -> AnyBundle:
    """Validate ``record`` and attest it as a single fact (v2 with ``keyring``, v1 with
    ``consortium_key``); its subject is the record's first subject tag. ``ref_uid`` names
    the fact it supersedes."""
    committed = commit_for_bundle(
        validate(schema_name, record), consortium_key=consortium_key, keyring=keyring
    )
    schema_id = committed.validated.schema.schema_id
    uid = committed.commitment
    tags = (
        [t.tag for t in committed.tags]
        if committed.tags is not None
        else _tags(committed, consortium_key or b"")
    )
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
    anchor = _single_anchor(client, agency_id_of(client, agency_key), written, request)
    if committed.tags is not None:
        return ProofBundleV2.create(committed, (), uid, anchor)
    return ProofBundle.create(committed, (), uid, tags, anchor)


def _single_anchor(
    client: LedgerClient, agency_id: int, written: Written, request: AttestRequest
) -> Anchor:
    return Anchor(
        chain_id=client.chain_id,
        ledger=bytes.fromhex(client.address[2:]),
        tx_hash=written.tx_hash,
        block_number=written.block_number,
        agency_id=agency_id,
        signer=bytes.fromhex(written.signer[2:]),
        signature=written.signature,
        kind="single",
        deadline=request.deadline,
        nonce=request.nonce,
        subject=request.subject,
        ref_uid=request.ref_uid,
        expiration=request.expiration,
    )


def _tags(committed: CommittedRecord, consortium_key: bytes) -> list[bytes]:
    return record_subject_tags(consortium_key, committed.validated.subject_identifiers())
