"""Merkle tree, proofs and multiproofs (Python side; see test_merkle_compat for JS); the
compiled node array (``_merkle.c``) against its reference."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_node import _merkle
from ledger_node.errors import LedgerValueError
from ledger_node.hashing import keccak256
from ledger_node.merkle import (
    MerkleTree,
    MultiProof,
    node_hash,
    process_multiproof,
    process_proof,
    reference_build,
    verify,
    verify_multiproof,
)


def leaves(count: int) -> list[bytes]:
    return [keccak256(i.to_bytes(4, "big")) for i in range(count)]


@pytest.mark.parametrize("count", [*range(1, 18), 31, 32, 33, 100])
def test_every_proof_verifies(count: int) -> None:
    values = leaves(count)
    tree = MerkleTree(values)
    proofs = tree.all_proofs()
    assert len(tree) == count
    for index, value in enumerate(values):
        assert tree.leaf(index) == value
        assert proofs[index] == tree.proof(index)
        assert verify(tree.root, value, proofs[index])
        assert tree.index_of(value) == index


def test_single_leaf_tree_is_its_leaf() -> None:
    (value,) = leaves(1)
    tree = MerkleTree([value])
    assert tree.root == value and tree.proof(0) == () and tree.all_proofs() == [()]


def test_two_leaves() -> None:
    a, b = leaves(2)
    assert MerkleTree([a, b]).root == keccak256(min(a, b) + max(a, b)) == node_hash(b, a)


def test_wrong_proofs_fail() -> None:
    values = leaves(9)
    tree = MerkleTree(values)
    proof = tree.proof(3)
    assert not verify(tree.root, values[4], proof)
    assert not verify(tree.root, values[3], proof[:-1])
    assert process_proof(values[3], proof) == tree.root


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_multiproofs_verify(count: int) -> None:
    tree = MerkleTree(leaves(count))
    for size in range(count + 1):
        for indices in itertools.combinations(range(count), size):
            multiproof = tree.multiproof(list(indices))
            assert sorted(multiproof.leaves) == sorted(tree.leaf(i) for i in indices)
            assert process_multiproof(multiproof) == tree.root
            assert verify_multiproof(tree.root, multiproof)


def test_tampered_multiproof_fails() -> None:
    tree = MerkleTree(leaves(10))
    multiproof = tree.multiproof([1, 4, 7])
    swapped = MultiProof(multiproof.leaves[::-1], multiproof.proof, multiproof.proof_flags)
    assert not verify_multiproof(tree.root, swapped)
    short = MultiProof(multiproof.leaves, multiproof.proof[:-1], multiproof.proof_flags)
    assert not verify_multiproof(tree.root, short)
    with pytest.raises(LedgerValueError, match="fewer proof nodes than false flags"):
        process_multiproof(short)
    extra = MultiProof(multiproof.leaves, (*multiproof.proof, bytes(32)), multiproof.proof_flags)
    with pytest.raises(LedgerValueError, match="leaves \\+ proof must be flags \\+ 1"):
        process_multiproof(extra)


def test_bad_input() -> None:
    with pytest.raises(LedgerValueError, match="at least one leaf"):
        MerkleTree([])
    with pytest.raises(LedgerValueError, match="leaf 1 is not 32 bytes"):
        MerkleTree([bytes(32), bytes(31)])
    tree = MerkleTree(leaves(4))
    with pytest.raises(LedgerValueError, match=r"leaf index 4 out of range 0\.\.3"):
        tree.proof(4)
    with pytest.raises(LedgerValueError, match="duplicated index"):
        tree.multiproof([1, 1])
    with pytest.raises(LedgerValueError, match="is not in the tree"):
        tree.index_of(bytes(32))


def test_duplicate_leaves_keep_their_indices() -> None:
    a, b = leaves(2)
    tree = MerkleTree([a, b, a])
    for index, value in enumerate([a, b, a]):
        assert verify(tree.root, value, tree.proof(index))
    assert tree.index_of(a) == 2  # the last occurrence, as in the JS library


# Leaves from a small pool, so that equal leaves (and leaves equal in their first bytes, where
# the compiled sort compares a prefix first) are common.
_POOL = [bytes([i]) * 32 for i in range(4)] + [bytes(8) + bytes([i]) * 24 for i in range(4)]
LEAF_LISTS = st.lists(
    st.one_of(st.binary(min_size=32, max_size=32), st.sampled_from(_POOL)),
    min_size=1,
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(LEAF_LISTS)
def test_the_compiled_tree_is_the_reference(values: list[bytes]) -> None:
    nodes, positions = reference_build(values)
    assert _merkle.build(values) == (nodes, positions)
    assert _merkle.build(tuple(values)) == (nodes, positions)
    tree = MerkleTree(values)
    assert tree.root == nodes[0] and [tree.leaf(i) for i in range(len(values))] == values


@pytest.mark.parametrize("count", [1, 2, 3, 255, 256, 257, 1023, 1024, 1025, 4097])
def test_the_compiled_tree_is_the_reference_at_level_boundaries(count: int) -> None:
    values = leaves(count)
    assert _merkle.build(values) == reference_build(values)


@pytest.mark.parametrize(
    "values",
    [[], [bytes(31)], [bytes(32), bytes(33)], [bytearray(32)], [bytes(32), "x" * 32]],
    ids=["empty", "short", "long", "bytearray", "str"],
)
def test_the_compiled_tree_declines_what_the_reference_refuses(values: list[object]) -> None:
    assert _merkle.build(values) is None
    with pytest.raises(LedgerValueError):
        reference_build(values)  # type: ignore[arg-type]
    with pytest.raises(LedgerValueError):
        MerkleTree(values)  # type: ignore[arg-type]


def test_the_compiled_tree_lets_other_threads_run() -> None:
    values = leaves(200_000)
    done = threading.Event()
    ran_at: list[float] = []

    def run() -> None:
        while not done.is_set():
            ran_at.append(time.perf_counter())

    other = threading.Thread(target=run)
    other.start()
    try:
        started = time.perf_counter()
        _merkle.build(values)
        ended = time.perf_counter()
    finally:
        done.set()
        other.join()
    # Holding the GIL throughout, the call would leave the other thread no turn in its middle.
    quarter = (ended - started) / 4
    assert any(started + quarter < at < ended - quarter for at in ran_at)
