"""Commitments and Merkle leaves: what goes on chain in place of a record.  [contract]

``commitment = keccak256(abi.encode(bytes32 schemaId, bytes32 salt, bytes32 recordHash))``
and ``leaf = keccak256(keccak256(abi.encode(bytes32 schemaId, bytes32 commitment)))``, the
OpenZeppelin ``StandardMerkleTree`` leaf of ``["bytes32", "bytes32"]``. ``abi.encode`` of
bytes32 values is their plain concatenation, so no ABI codec is needed here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
import sha3

from ledger_node._fieldtree import commit_v2 as _commit_v2
from ledger_node._fieldtree import use_tag_type
from ledger_node.canonical import canonical_bytes_of_validated
from ledger_node.errors import LedgerValueError
from ledger_node.fieldtree import reference_fields_digest
from ledger_node.hashing import keccak256
from ledger_node.records.validation import ValidatedRecord
from ledger_node.tagging import SubjectTag

SALT_SIZE = 32
_urandom = os.urandom


def new_salt() -> bytes:
    """A fresh 32-byte random salt: it hides low-entropy records from dictionary attacks."""
    return secrets.token_bytes(SALT_SIZE)


def _require_bytes32(name: str, value: bytes) -> None:
    if len(value) != 32:
        raise LedgerValueError(f"{name} must be 32 bytes, got {len(value)}")


def commitment(schema_id: bytes, salt: bytes, record_hash: bytes) -> bytes:
    """``keccak256(abi.encode(schemaId, salt, recordHash))``, all three bytes32."""
    if len(schema_id) != 32 or len(salt) != 32 or len(record_hash) != 32:
        _require_bytes32("schema_id", schema_id)
        _require_bytes32("salt", salt)
        _require_bytes32("record_hash", record_hash)
    return keccak256(schema_id + salt + record_hash)


def validated_record_hash(validated: ValidatedRecord) -> bytes:
    """``keccak256`` of a validated record's RFC 8785 bytes: what a commitment binds.

    Validation makes the fast canonical encoding safe (see
    :func:`~ledger_node.canonical.canonical_bytes_of_validated`).
    """
    return keccak256(canonical_bytes_of_validated(validated.record))


def leaf(schema_id: bytes, commitment: bytes) -> bytes:
    """The StandardMerkleTree leaf of ``(bytes32 schemaId, bytes32 commitment)``.

    Hashed twice, as OpenZeppelin does, so a leaf can never be mistaken for an inner node.
    """
    if len(schema_id) != 32 or len(commitment) != 32:
        _require_bytes32("schema_id", schema_id)
        _require_bytes32("commitment", commitment)
    return keccak256(keccak256(schema_id + commitment))


@dataclass(frozen=True, slots=True)
class CommittedRecord:
    """A validated record with its salt and the hashes that stand for it on chain."""

    validated: ValidatedRecord
    salt: bytes
    record_hash: bytes
    commitment: bytes
    leaf: bytes
    #: For a ``taxledger.proof/v2`` record, its subject tags (committed with it) — and then
    #: ``salt`` is the record's master salt and ``record_hash`` its v2 record hash; ``None``
    #: for a v1 record.
    tags: tuple[SubjectTag, ...] | None = None


# Frozen dataclasses set each field through object.__setattr__ in __init__; the slot
# descriptors do the same job in half the time on the hot path below.
_new_object = object.__new__
_set_validated = vars(CommittedRecord)["validated"].__set__
_set_salt = vars(CommittedRecord)["salt"].__set__
_set_record_hash = vars(CommittedRecord)["record_hash"].__set__
_set_commitment = vars(CommittedRecord)["commitment"].__set__
_set_leaf = vars(CommittedRecord)["leaf"].__set__
_set_tags = vars(CommittedRecord)["tags"].__set__
_keccak = sha3.keccak_256
_dumps = orjson.dumps
_SORT_KEYS = orjson.OPT_SORT_KEYS
_JSONEncodeError = orjson.JSONEncodeError


def _commit(validated: ValidatedRecord, salt: bytes) -> CommittedRecord:
    """:func:`commit_record` for a 32-byte ``salt``, with the hashing inlined.

    Same bytes as :func:`validated_record_hash`, :func:`commitment` and :func:`leaf`;
    ``tests/records/test_fastpath.py`` checks it.
    """
    schema_id = validated.schema.schema_id
    record = validated.record
    try:
        digest = _keccak(_dumps(record, option=_SORT_KEYS)).digest()
    except _JSONEncodeError:
        digest = validated_record_hash(validated)
    binding = _keccak(schema_id + salt + digest).digest()
    committed = _new_object(CommittedRecord)
    _set_validated(committed, validated)
    _set_salt(committed, salt)
    _set_record_hash(committed, digest)
    _set_commitment(committed, binding)
    _set_leaf(committed, _keccak(_keccak(schema_id + binding).digest()).digest())
    _set_tags(committed, None)
    return committed


def commit_record(validated: ValidatedRecord, salt: bytes | None = None) -> CommittedRecord:
    """Hash, salt and commit a validated record; a fresh salt unless ``salt`` is given."""
    if salt is None:
        return _commit(validated, new_salt())
    if type(salt) is not bytes or len(salt) != SALT_SIZE:
        # The general path: it reports a wrong length exactly as it always has.
        schema_id = validated.schema.schema_id
        digest = validated_record_hash(validated)
        binding = commitment(schema_id, salt, digest)
        return CommittedRecord(validated, salt, digest, binding, leaf(schema_id, binding))
    return _commit(validated, salt)


def commit_records(
    validated: Sequence[ValidatedRecord], salts: Sequence[bytes] | None = None
) -> list[CommittedRecord]:
    """:func:`commit_record` for each record, in order: the batch form for gateways.

    Fresh salts come from one ``os.urandom`` call for the whole batch (the same source as
    :func:`new_salt`, drawn at once). ``salts``, if given, pairs one salt with each record.
    """
    count = len(validated)
    if salts is not None:
        if len(salts) != count:
            raise LedgerValueError(f"{count} records but {len(salts)} salts")
        return [commit_record(v, s) for v, s in zip(validated, salts, strict=True)]
    pool = _urandom(SALT_SIZE * count)
    commit = _commit
    return [
        commit(v, pool[i : i + SALT_SIZE])
        for v, i in zip(validated, range(0, SALT_SIZE * count, SALT_SIZE), strict=True)
    ]


# --- taxledger.proof/v2 ------------------------------------------------------------------
#
# ``record_hash = keccak256(0x04 ‖ fields_digest ‖ subjects_digest)``: the root of the
# record's field tree (``ledger_node.fieldtree``) beside the digest of its subject tags,
# ``keccak256(0x03 ‖ uint32_be(n) ‖ (domain_id ‖ uint32_be(version) ‖ tag) × n)``. The tags
# are committed with the record, so none can be added, dropped or changed unnoticed, and a
# partial bundle proves them without showing the identifiers they stand for.

SUBJECTS_NODE = b"\x03"
RECORD_NODE = b"\x04"


#: ``domain_id ‖ uint32_be(version)`` per (domain, key version): the part of a tag's entry in
#: the subjects' digest that repeats from record to record.
_TAG_PREFIXES: dict[tuple[str, int], bytes] = {}
_MAX_TAG_PREFIXES = 10_000


def subjects_digest(tags: Sequence[SubjectTag]) -> bytes:
    """The digest of a record's subject tags, in order (``_fieldtree.commit_v2`` hashes them
    the same way)."""
    prefixes = _TAG_PREFIXES
    parts = [SUBJECTS_NODE, len(tags).to_bytes(4, "big")]
    for tag in tags:
        prefix = prefixes.get((tag.domain, tag.version))
        if prefix is None:
            if len(prefixes) >= _MAX_TAG_PREFIXES:
                prefixes.clear()
            prefix = tag.domain_id + tag.version.to_bytes(4, "big")
            prefixes[(tag.domain, tag.version)] = prefix
        parts += (prefix, tag.tag)
    return _keccak(b"".join(parts)).digest()  # type: ignore[no-any-return]


use_tag_type(SubjectTag)


def record_hash_v2(fields: bytes, subjects: bytes) -> bytes:
    """A v2 record hash from its field tree's digest and its subjects' digest."""
    return keccak256(RECORD_NODE + fields + subjects)


def commit_record_v2(
    validated: ValidatedRecord, tags: Sequence[SubjectTag], salt: bytes | None = None
) -> CommittedRecord:
    """Commit a validated record field by field with its subject tags (proof format v2).

    ``salt`` is the record's master salt (fresh unless given); the commitment uses the salt
    derived from it (:func:`ledger_node.fieldtree.commitment_salt`), so the bundle never needs
    the master salt.
    """
    master = new_salt() if salt is None else salt
    schema_id = validated.schema.schema_id
    hashes = _commit_v2(validated.record, master, schema_id, tags)
    if hashes is None:
        # What the compiled path declines, by the definitions (which word any error).
        commitment_salt, fields = reference_fields_digest(validated.record, master)
        digest = record_hash_v2(fields, subjects_digest(tags))
        binding = commitment(schema_id, commitment_salt, digest)
        hashes = digest, binding, leaf(schema_id, binding)
    committed = _new_object(CommittedRecord)
    _set_validated(committed, validated)
    _set_salt(committed, master)
    _set_record_hash(committed, hashes[0])
    _set_commitment(committed, hashes[1])
    _set_leaf(committed, hashes[2])
    _set_tags(committed, tuple(tags))
    return committed


# --- revocation reasons ------------------------------------------------------------------
#
# A revocation's reason goes on chain as ``keccak256(0x05 ‖ salt ‖ utf8(reason))``, never as
# the hash of its text: reasons are few and guessable ("红冲", "开具错误"), so an unsalted
# hash would tell anyone why a fact was revoked. The salt is derived from the record's master
# salt (``keccak256("taxledger.revocation-reason" ‖ master)``), so the gateway that holds the
# record keeps reason and salt without storing more; it shows both to the record's readers,
# and a verifier given them shows the reason.

REASON_NODE = b"\x05"
_REASON_SALT = b"taxledger.revocation-reason"


def reason_salt(master: bytes) -> bytes:
    """The salt of a record's revocation reason, from the record's master salt."""
    _require_bytes32("salt", master)
    return keccak256(_REASON_SALT + master)


def reason_commitment(reason: str, salt: bytes) -> bytes:
    """The bytes32 a revocation puts on chain for ``reason``."""
    _require_bytes32("reason salt", salt)
    return keccak256(REASON_NODE + salt + reason.encode())
