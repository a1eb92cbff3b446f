"""Commitments and Merkle leaves: what goes on chain in place of a record.  [contract]

``commitment = keccak256(abi.encode(bytes32 schemaId, bytes32 salt, bytes32 recordHash))``
and ``leaf = keccak256(keccak256(abi.encode(bytes32 schemaId, bytes32 commitment)))``, the
OpenZeppelin ``StandardMerkleTree`` leaf of ``["bytes32", "bytes32"]``. ``abi.encode`` of
bytes32 values is their plain concatenation, so no ABI codec is needed here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ledger_node.errors import LedgerValueError
from ledger_node.hashing import keccak256
from ledger_node.records.validation import ValidatedRecord

SALT_SIZE = 32


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


def commit_record(validated: ValidatedRecord, salt: bytes | None = None) -> CommittedRecord:
    """Hash, salt and commit a validated record; a fresh salt unless ``salt`` is given."""
    schema_id = validated.schema.schema_id
    salt = new_salt() if salt is None else salt
    digest = validated.record_hash()
    binding = commitment(schema_id, salt, digest)
    return CommittedRecord(validated, salt, digest, binding, leaf(schema_id, binding))
