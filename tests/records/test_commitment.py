"""Commitments and leaves, cross-checked against eth_abi and web3's solidity_keccak."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_abi.abi import encode
from web3 import Web3

from ledger_node.commitment import (
    commit_record,
    commitment,
    leaf,
    new_salt,
    validated_record_hash,
)
from ledger_node.errors import LedgerValueError
from ledger_node.hashing import keccak256
from ledger_node.records import validate

SCHEMA_ID = keccak256(b"invoice.issued/v1")
SALT = bytes(range(32))
RECORD_HASH = keccak256(b"record")

# Pinned so a change of encoding cannot go unnoticed (computed with eth_abi + web3).
COMMITMENT_HEX = "305c07569ebd93c593c903b5cc085604f00a2e7be38bdb3be49ca9700e509070"
LEAF_HEX = "6c85c61912299a9ca36af163d8ea61cb05ce341ed9a79ec277310c9c54b07a79"

RecordFactory = Callable[[str], dict[str, Any]]


def test_commitment_is_keccak_of_abi_encoded_bytes32s() -> None:
    expected = Web3.solidity_keccak(
        ["bytes32", "bytes32", "bytes32"], [SCHEMA_ID, SALT, RECORD_HASH]
    )
    assert commitment(SCHEMA_ID, SALT, RECORD_HASH) == bytes(expected)
    assert commitment(SCHEMA_ID, SALT, RECORD_HASH) == keccak256(
        encode(["bytes32", "bytes32", "bytes32"], [SCHEMA_ID, SALT, RECORD_HASH])
    )


def test_leaf_is_the_standard_merkle_tree_leaf() -> None:
    bound = commitment(SCHEMA_ID, SALT, RECORD_HASH)
    inner = keccak256(encode(["bytes32", "bytes32"], [SCHEMA_ID, bound]))
    assert leaf(SCHEMA_ID, bound) == bytes(Web3.solidity_keccak(["bytes32"], [inner]))


def test_known_answer_vectors() -> None:
    bound = commitment(SCHEMA_ID, SALT, RECORD_HASH)
    assert bound.hex() == COMMITMENT_HEX
    assert leaf(SCHEMA_ID, bound).hex() == LEAF_HEX


def test_salts_are_fresh_32_bytes() -> None:
    salts = {new_salt() for _ in range(100)}
    assert len(salts) == 100
    assert all(len(salt) == 32 for salt in salts)


def test_wrong_lengths_are_refused() -> None:
    with pytest.raises(LedgerValueError, match="salt must be 32 bytes, got 31"):
        commitment(SCHEMA_ID, SALT[:31], RECORD_HASH)
    with pytest.raises(LedgerValueError, match="commitment must be 32 bytes, got 33"):
        leaf(SCHEMA_ID, bytes(33))


def test_commit_record(make_record: RecordFactory) -> None:
    validated = validate("payment.settled/v1", make_record("payment.settled/v1"))
    committed = commit_record(validated, SALT)
    assert committed.record_hash == validated_record_hash(validated)
    assert committed.commitment == commitment(
        validated.schema.schema_id, SALT, committed.record_hash
    )
    assert committed.leaf == leaf(validated.schema.schema_id, committed.commitment)
    assert commit_record(validated).salt != commit_record(validated).salt
