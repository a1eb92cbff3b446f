"""The verifier: prove or refute one proof bundle against the ledger, check by check."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson

from ledger_node.bundle import AnyBundle, ProofBundle, ProofBundleV2, bundle_from_dict
from ledger_node.chain.ledger import LedgerClient
from ledger_node.commitment import (
    commitment,
    leaf,
    reason_commitment,
    record_hash_v2,
    subjects_digest,
    validated_record_hash,
)
from ledger_node.deployment import Deployment
from ledger_node.eip712 import (
    AttestRequest,
    BatchRequest,
    Domain,
    SignatureError,
    SignedRequest,
    recover_request,
)
from ledger_node.errors import ProofBundleError, RecordValidationError
from ledger_node.fieldtree import FieldMismatch, checked_digest, disclosed_values
from ledger_node.merkle import node_hash
from ledger_node.records.validation import validate
from ledger_node.subject import record_subject_tags
from ledger_node.verify.errors import VerificationFailure
from ledger_node.verify.view import Anchor, Attestation, ChainView, LedgerView, Revocation

#: Inner nodes :meth:`Verifier._climb` remembers before starting afresh (~20 MB).
_MAX_NODES = 100_000

#: What a bundle's write is on the ledger: a batch anchor or a single attestation.
Write = Anchor | Attestation


@dataclass(frozen=True, slots=True)
class Verified:
    """A bundle that passed every check, with the ledger write that proves it, and the
    subject tags it proved: a v2 bundle's committed tags; a v1 bundle's only if the verifier
    recomputed them from the record with the consortium key (else none)."""

    bundle: AnyBundle
    write: Write
    tags: frozenset[bytes]


class Consistent(NamedTuple):
    """A bundle that passed checks 1 to 3 (:meth:`Verifier.check_bundle`): the leaf its
    record makes, and the subject tags it proves."""

    bundle: AnyBundle
    leaf: bytes
    tags: frozenset[bytes]


class Verifier:
    """Checks proof bundles against one ledger, seen through a :class:`LedgerView`.

    Build one with :meth:`from_chain` (a live node) or :meth:`from_index` (a synced audit
    index: the fast path for many bundles). Per-anchor results (checks 4 to 7, the costly
    ones: a ledger look-up and a signature recovery) are cached, so the bundles of one batch
    pay for them once. Answers hold for the verifier's lifetime: make a new one to see blocks
    written since.
    """

    def __init__(
        self,
        view: LedgerView,
        *,
        confirmations: int = 0,
        clock: Callable[[], float] = time.time,
        consortium_key: bytes | None = None,
        reasons: Mapping[bytes, str] | None = None,
    ) -> None:
        if confirmations < 0:
            raise ValueError("confirmations must be >= 0")
        self.view = view
        self.confirmations = confirmations
        #: The v1 tag key: with it, a v1 bundle's tags are recomputed from its record.
        self.consortium_key = consortium_key
        #: Revocation reasons the holder knows, by their on-chain salted commitment
        #: (:func:`revocation_reasons`): a revoked fact's verdict then says why.
        self.reasons = dict(reasons or {})
        self.clock = clock
        self._domain = Domain(view.chain_id, view.ledger)
        self._writes: dict[tuple[object, ...], Write | VerificationFailure] = {}
        self._revocations: dict[tuple[int, bytes], dict[bytes | None, Revocation]] = {}
        self._nodes: dict[bytes, bytes] = {}

    @classmethod
    def from_chain(
        cls,
        client: LedgerClient,
        deployment: Deployment,
        *,
        confirmations: int = 0,
        consortium_key: bytes | None = None,
    ) -> Verifier:
        """A verifier asking a live node about the deployment's ledger."""
        return cls(
            ChainView(client, deployment),
            confirmations=confirmations,
            consortium_key=consortium_key,
        )

    @classmethod
    def from_index(
        cls, index: LedgerView, *, confirmations: int = 0, consortium_key: bytes | None = None
    ) -> Verifier:
        """A verifier answering from a synced audit index
        (:class:`ledger_node.audit.index.AuditIndex`)."""
        return cls(index, confirmations=confirmations, consortium_key=consortium_key)

    def verify_bytes(self, raw: bytes) -> Verified:
        """Parse and verify the JSON bytes of a bundle."""
        try:
            bundle = bundle_from_dict(orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            raise VerificationFailure(
                0,
                "malformed_bundle",
                f"not JSON ({exc}): give a proof bundle, the JSON document a gateway serves "
                "at /v1/records/ID/proof",
            ) from None
        except ProofBundleError as exc:
            # (0) the bundle is a well-formed taxledger.proof/v1 or v2 document.
            raise VerificationFailure(0, "malformed_bundle", str(exc)) from None
        return self.verify(bundle)

    def verify_file(self, path: str | Path) -> Verified:
        """Read, parse and verify a bundle file."""
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise VerificationFailure(
                0, "unreadable_bundle", f"cannot read {path}: {exc}"
            ) from None
        return self.verify_bytes(raw)

    def verify_many(
        self, bundles: Iterable[bytes | str | Path]
    ) -> Iterator[VerificationFailure | None]:
        """Verify many bundles (JSON bytes, or paths of bundle files), yielding each one's
        verdict in order: ``None`` if it passed every check, else its
        :class:`VerificationFailure` (the same as :meth:`verify_bytes` or :meth:`verify_file`
        raises).

        Checks 4 to 7 run once per anchor, however the bundles are ordered.
        """
        verify_bytes, verify_file = self.verify_bytes, self.verify_file
        for item in bundles:
            try:
                if isinstance(item, bytes):
                    verify_bytes(item)
                else:
                    verify_file(item)
            except VerificationFailure as exc:
                yield exc
            else:
                yield None

    def verify(self, bundle: AnyBundle) -> Verified:
        """Run every check on ``bundle``; raise :class:`VerificationFailure` at the first that
        fails.

        The checks, in order:

        0. the bundle is well-formed, its schema known and its schema id that schema's
           (checked when it is parsed);
        1. the record validates against its schema (for a v2 bundle that discloses only some
           fields, there is no whole record to validate: its fields are proven by 2);
        2. the record hash, the commitment and the leaf recompute from record and salt; for
           v2, each disclosed field's digest from its salt and value, the field tree's digest
           from those and the hidden digests, the record hash from the tree and the subject
           tags; for v1 with the consortium key, the subject tags from the record;
        3. the Merkle proof leads from the leaf to the root (a single fact has no proof);
        4. the root (or the single fact) is on the ledger of this chain id as a write of the
           bundle's agency, in the bundle's transaction and block, for its schema and request;
        5. the EIP-712 signature of the request recovers the signer the bundle names;
        6. the signer was the agency's key at that block (recomputed from governance history);
        7. the agency was active, and its kind allowed to attest the schema, at that block;
        8. the fact is neither revoked nor expired;
        9. the block has the required confirmations.

        Checks 1 to 3 (:meth:`check_bundle`) depend on the bundle alone, 4 to 9
        (:meth:`check_ledger`) on the ledger as this verifier sees it.
        """
        return self.check_ledger(self.check_bundle(bundle))

    def check_bundle(self, bundle: AnyBundle) -> Consistent:
        """Checks 1 to 3 of :meth:`verify`: what the bundle proves by itself. Their result
        holds for that bundle at any block, so a holder that verifies one bundle of its own
        again and again (a gateway, a consent it holds) may keep it and pass it to
        :meth:`check_ledger` of a later verifier."""
        anchor = bundle.anchor
        if isinstance(bundle, ProofBundleV2):
            computed_leaf = self._check_fields(bundle)
            proven = frozenset(bundle.tags)
        else:
            computed_leaf, proven = self._check_record(bundle)
        # (3) a single fact has no tree: its root is its commitment (checked on parsing).
        if anchor.kind == "batch":
            reached = self._climb(computed_leaf, bundle.proof)
            if reached != bundle.root:
                raise VerificationFailure(
                    3,
                    "proof_mismatch",
                    f"the Merkle proof leads from the leaf to 0x{reached.hex()}, not to the "
                    f"root 0x{bundle.root.hex()}: the proof is not this leaf's in this batch",
                )
        return Consistent(bundle, computed_leaf, proven)

    def check_ledger(self, consistent: Consistent) -> Verified:
        """Checks 4 to 9 of :meth:`verify`, of a bundle that passed 1 to 3."""
        bundle, computed_leaf, proven = consistent
        anchor = bundle.anchor
        # (4) to (7), once per anchor.
        write = self._check_write(bundle)
        # (8)
        revoked = self._revocations_of(anchor.agency_id, bundle.root).get(
            computed_leaf if anchor.kind == "batch" else None
        )
        if revoked is not None:
            known = self.reasons.get(revoked.reason)
            why = (
                f"reason {known!r}"
                if known is not None
                else f"reason 0x{revoked.reason.hex()} (salted; the attesting gateway shows "
                "the reason and its salt to the record's readers)"
            )
            raise VerificationFailure(
                8,
                "revoked",
                f"the fact was revoked at block {revoked.block_number} (transaction "
                f"0x{revoked.tx_hash.hex()}) by agency {revoked.agency_id}, {why}",
            )
        if isinstance(write, Attestation) and write.expiration:
            now = int(self.clock())
            if write.expiration <= now:
                raise VerificationFailure(
                    8,
                    "expired",
                    f"the fact expired at {_utc(write.expiration)} (unix {write.expiration}); "
                    "look for the fact that replaced it",
                )
        # (9)
        depth = self.view.head() - write.block_number
        if depth < self.confirmations:
            raise VerificationFailure(
                9,
                "unconfirmed",
                f"block {write.block_number} has {depth} confirmation(s), "
                f"{self.confirmations} required; verify again once the chain has grown",
            )
        return Verified(bundle, write, proven)

    def _check_record(self, bundle: ProofBundle) -> tuple[bytes, frozenset[bytes]]:
        """Checks 1 and 2 of a v1 bundle: its leaf, and the tags it proves."""
        # (1)
        try:
            validated = validate(bundle.schema, bundle.record)
        except RecordValidationError as exc:
            raise VerificationFailure(
                1,
                "invalid_record",
                f"the record does not satisfy {bundle.schema}: {_problems(exc)}",
            ) from None
        # (2) the canonical bytes of a validated record need no second scan of the record.
        computed_hash = validated_record_hash(validated)
        if computed_hash != bundle.record_hash:
            raise VerificationFailure(
                2,
                "record_hash_mismatch",
                f"the record hashes to 0x{computed_hash.hex()}, the bundle says "
                f"0x{bundle.record_hash.hex()}: the record was changed after it was committed",
            )
        computed_leaf = _check_commitment(bundle, computed_hash)
        if self.consortium_key is None:
            return computed_leaf, frozenset()
        tags = record_subject_tags(self.consortium_key, validated.subject_identifiers())
        if tags != list(bundle.subjects):
            raise VerificationFailure(
                2,
                "subjects_mismatch",
                f"the record's identifiers tag to {_tag_list(tags)} under the consortium key, "
                f"the bundle lists {_tag_list(bundle.subjects)}: its subject tags were changed",
            )
        return computed_leaf, frozenset(tags)

    def _check_fields(self, bundle: ProofBundleV2) -> bytes:
        """Checks 1 and 2 of a v2 bundle, whole or partial: its leaf."""
        # (1) a complete tree is a whole record, validated as in v1.
        if bundle.complete:
            try:
                validate(bundle.schema, bundle.record)
            except RecordValidationError as exc:
                raise VerificationFailure(
                    1,
                    "invalid_record",
                    f"the record does not satisfy {bundle.schema}: {_problems(exc)}",
                ) from None
        # (2) field by field, then the tree, the tags, the commitment and the leaf.
        try:
            tree = checked_digest(bundle.fields)
        except FieldMismatch as exc:
            raise VerificationFailure(
                2,
                "field_mismatch",
                f"field {exc.path}: its salt and value hash to 0x{exc.computed.hex()}, the "
                f"bundle states 0x{exc.stated.hex()}: the value or its salt was changed after "
                "it was committed",
            ) from None
        if tree != bundle.fields_digest:
            disclosed = ", ".join(p for p, _ in disclosed_values(bundle.fields)) or "none"
            raise VerificationFailure(
                2,
                "fields_mismatch",
                f"the field tree (disclosed: {disclosed}) hashes to 0x{tree.hex()}, the bundle "
                f"says 0x{bundle.fields_digest.hex()}: a hidden digest, the tree's shape, or a "
                "field with its digest was changed",
            )
        computed_hash = record_hash_v2(tree, subjects_digest(bundle.subjects))
        if computed_hash != bundle.record_hash:
            raise VerificationFailure(
                2,
                "subjects_mismatch",
                f"the field tree with the subject tags {_tag_list(bundle.tags)} hashes to "
                f"0x{computed_hash.hex()}, not the record hash 0x{bundle.record_hash.hex()}: "
                "a tag, its domain or its key version was added, dropped or changed",
            )
        return _check_commitment(bundle, computed_hash)

    def _climb(self, leaf: bytes, proof: tuple[bytes, ...]) -> bytes:
        """:func:`ledger_node.merkle.process_proof`, remembering inner nodes.

        The bundles of one batch share their upper proof nodes: of a tree of 2,000 leaves a
        bundle-by-bundle climb hashes 22,000 pairs, but only about 2,000 distinct ones. The
        memo maps each pair, in the sorted order :func:`node_hash` hashes it in, to its
        parent (a pure function of the pair), so a forged proof gets exactly the answer it
        would get without it.
        """
        nodes = self._nodes
        if len(nodes) > _MAX_NODES:
            nodes.clear()
        computed = leaf
        for sibling in proof:
            pair = computed + sibling if computed <= sibling else sibling + computed
            parent = nodes.get(pair)
            if parent is None:
                parent = nodes[pair] = node_hash(computed, sibling)
            computed = parent
        return computed

    def _revocations_of(self, agency_id: int, target: bytes) -> dict[bytes | None, Revocation]:
        key = (agency_id, target)
        found = self._revocations.get(key)
        if found is None:
            found = self._revocations[key] = self.view.revocations(agency_id, target)
        return found

    def _check_write(self, bundle: AnyBundle) -> Write:
        # Every claim checks 4 to 7 read is in the key, so a tampered anchor never hits the
        # entry of a genuine one.
        key = (bundle.root, bundle.schema_id, bundle.anchor)
        cached = self._writes.get(key)
        if cached is None:
            try:
                cached = self._find_write(bundle)
                self._authorise(bundle, cached)
            except VerificationFailure as exc:
                cached = exc
            self._writes[key] = cached
        if isinstance(cached, VerificationFailure):
            raise cached
        return cached

    def _find_write(self, bundle: AnyBundle) -> Write:
        a = bundle.anchor
        view = self.view
        # (4) the same chain, the same contract, then the write itself.
        if a.chain_id != view.chain_id:
            raise VerificationFailure(
                4,
                "wrong_chain",
                f"the bundle is anchored on chain {a.chain_id}, but the ledger is on chain "
                f"{view.chain_id}: verify it against that chain's ledger",
            )
        if "0x" + a.ledger.hex() != view.ledger:
            raise VerificationFailure(
                4,
                "wrong_ledger",
                f"the bundle names ledger contract 0x{a.ledger.hex()}, but this deployment's "
                f"ledger is {view.ledger}: verify it against that ledger's deployment",
            )
        write: Write | None
        if a.kind == "batch":
            write = view.anchor(a.agency_id, bundle.root)
            what = f"root 0x{bundle.root.hex()}"
        else:
            write = view.attestation(a.agency_id, bundle.root)
            what = f"fact 0x{bundle.root.hex()}"
        if write is None:
            raise VerificationFailure(
                4,
                "not_on_chain",
                f"{what} is not on ledger {view.ledger} as a write of agency {a.agency_id}, "
                f"according to {view.where()}",
            )
        if (write.tx_hash, write.block_number) != (a.tx_hash, a.block_number):
            raise VerificationFailure(
                4,
                "wrong_transaction",
                f"{what} was written in transaction 0x{write.tx_hash.hex()} at block "
                f"{write.block_number}, not in 0x{a.tx_hash.hex()} at block {a.block_number}",
            )
        for name, recorded, claimed in _compared_fields(bundle, write):
            if recorded != claimed:
                raise VerificationFailure(
                    4,
                    "write_mismatch",
                    f"the ledger recorded {name} {_show(recorded)} for {what}, the bundle "
                    f"says {_show(claimed)}",
                )
        return write

    def _authorise(self, bundle: AnyBundle, write: Write) -> None:
        a = bundle.anchor
        signer = "0x" + a.signer.hex()
        request: SignedRequest
        if isinstance(write, Anchor):
            assert a.count is not None
            request = BatchRequest(bundle.schema_id, bundle.root, a.count, a.deadline)
        else:
            assert a.subject is not None and a.ref_uid is not None
            assert a.expiration is not None and a.nonce is not None
            request = AttestRequest(
                bundle.schema_id,
                bundle.root,
                a.subject,
                a.ref_uid,
                a.expiration,
                a.nonce,
                a.deadline,
            )
        # (5)
        try:
            recovered = recover_request(self._domain, request, a.signature)
        except SignatureError as exc:
            raise VerificationFailure(
                5, "bad_signature", f"the signature is unusable: {exc}"
            ) from None
        if recovered != signer:
            raise VerificationFailure(
                5,
                "bad_signature",
                f"the signature recovers {recovered}, not the signer {signer} the bundle names: "
                "it was not made by that key over this request",
            )
        # (6) and (7), from governance history, not from the contract's own verdict.
        self.view.membership(write.position).authorise(
            signer, write.agency_id, bundle.schema_id, write.position
        )
        if write.signer != signer:
            raise VerificationFailure(
                6,
                "signer_mismatch",
                f"the ledger recorded signer {write.signer} for this write, not {signer}",
            )


def revocation_reasons(known: Iterable[tuple[str, bytes]]) -> dict[bytes, str]:
    """``{on-chain commitment: reason}`` of ``(reason, salt)`` pairs (as a gateway's record
    view gives them), for :class:`Verifier`'s ``reasons``."""
    return {reason_commitment(reason, salt): reason for reason, salt in known}


def _check_commitment(bundle: AnyBundle, record_hash: bytes) -> bytes:
    """The end of check 2 in both formats: commitment and leaf from a recomputed record
    hash; returns the leaf."""
    computed_commitment = commitment(bundle.schema_id, bundle.salt, record_hash)
    if computed_commitment != bundle.commitment:
        raise VerificationFailure(
            2,
            "commitment_mismatch",
            f"schema id, salt and record hash commit to 0x{computed_commitment.hex()}, the "
            f"bundle says 0x{bundle.commitment.hex()}: the salt is not the one committed",
        )
    computed_leaf = leaf(bundle.schema_id, computed_commitment)
    if computed_leaf != bundle.leaf:
        raise VerificationFailure(
            2,
            "leaf_mismatch",
            f"the commitment's leaf is 0x{computed_leaf.hex()}, the bundle says "
            f"0x{bundle.leaf.hex()}",
        )
    return computed_leaf


def _compared_fields(bundle: AnyBundle, write: Write) -> list[tuple[str, object, object]]:
    """``(name, recorded on chain, claimed by the bundle)`` of every field the write event
    records."""
    a = bundle.anchor
    fields: list[tuple[str, object, object]] = [
        ("schema", write.schema_id, bundle.schema_id),
        ("agency", write.agency_id, a.agency_id),
    ]
    if isinstance(write, Anchor):
        fields.append(("count", write.count, a.count))
    else:
        fields += [
            ("subject", write.subject, a.subject),
            ("ref_uid", write.ref_uid, a.ref_uid),
            ("expiration", write.expiration, a.expiration),
        ]
    return fields


def _tag_list(tags: Iterable[bytes]) -> str:
    return "[" + ", ".join("0x" + t.hex()[:12] + "…" for t in tags) + "]"


def _show(value: object) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def _problems(exc: RecordValidationError) -> str:
    return "; ".join(f"{path}: {message} [{rule}]" for path, rule, message in exc.problems)


def _utc(timestamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
