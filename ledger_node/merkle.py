"""Merkle trees, proofs and multiproofs identical to OpenZeppelin's ``StandardMerkleTree``.

The layout follows ``@openzeppelin/merkle-tree`` 1.0.x (``dist/core.js``, ``merkletree.js``),
so roots and proofs verify with ``MerkleProof.sol`` and with the JavaScript library:

* inner node = ``keccak256(min(a, b) || max(a, b))`` (sorted pair, so proofs carry no
  left/right bits);
* the leaves are sorted ascending (``sortLeaves``, the default) and the tree is one flat
  array of ``2n − 1`` nodes where node ``i`` has children ``2i + 1`` and ``2i + 2`` and the
  ``k``-th smallest leaf sits at ``2n − 2 − k``; with ``n`` not a power of two, leaves end up
  at different depths;
* a proof lists sibling hashes from the leaf up; a multiproof lists the proved leaves by
  descending tree position, the extra nodes, and one flag per hash telling whether its
  second operand comes from the leaves/stack (true) or the proof (false).

The tree holds precomputed leaf hashes (see :func:`ledger_node.commitment.leaf`); it never
hashes leaf values itself. Nodes live in one flat list of ``bytes``, no per-node objects. The
list is built compiled (``_merkle.c``, without the GIL); :func:`reference_build` is its
reference, and ``tests/records/test_merkle.py`` holds the two to the same answers.
"""

from __future__ import annotations

import contextlib
import gc
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import sha3

from ledger_node import _merkle as _compiled
from ledger_node.errors import LedgerValueError

_keccak = sha3.keccak_256


def node_hash(a: bytes, b: bytes) -> bytes:
    """The inner node over children ``a`` and ``b``: keccak256 of the pair in sorted order."""
    return _keccak(a + b if a <= b else b + a).digest()  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class MultiProof:
    """A proof for several leaves at once, as OpenZeppelin's ``multiProofVerify`` takes it.

    ``leaves`` are in the order the proof consumes them (descending tree position), not in
    the order they were asked for.
    """

    leaves: tuple[bytes, ...]
    proof: tuple[bytes, ...]
    proof_flags: tuple[bool, ...]


class MerkleTree:
    """A ``StandardMerkleTree`` over precomputed 32-byte leaf hashes.

    Leaves keep the index they were given in (their *value index*); the sorting is internal.
    """

    __slots__ = ("_leaf_count", "_lookup", "_nodes", "_positions")

    def __init__(self, leaves: Sequence[bytes]) -> None:
        """Build the tree over ``leaves`` (at least one, each 32 bytes)."""
        built = _compiled.build(leaves)
        self._nodes, self._positions = reference_build(leaves) if built is None else built
        self._leaf_count = len(self._positions)
        self._lookup: dict[bytes, int] | None = None

    @property
    def root(self) -> bytes:
        """The 32-byte root, what ``anchorBatch`` puts on chain."""
        return self._nodes[0]

    def __len__(self) -> int:
        return self._leaf_count

    def leaf(self, index: int) -> bytes:
        """The leaf given at value index ``index``."""
        return self._nodes[self._position(index)]

    def index_of(self, leaf: bytes) -> int:
        """The value index of ``leaf`` (the last one if it occurs twice, as in the library)."""
        if self._lookup is None:
            self._lookup = {self._nodes[p]: i for i, p in enumerate(self._positions)}
        try:
            return self._lookup[leaf]
        except KeyError:
            raise LedgerValueError(f"leaf 0x{leaf.hex()} is not in the tree") from None

    def _position(self, index: int) -> int:
        if not 0 <= index < self._leaf_count:
            raise LedgerValueError(f"leaf index {index} out of range 0..{self._leaf_count - 1}")
        return self._positions[index]

    def proof(self, index: int) -> tuple[bytes, ...]:
        """The sibling hashes from the leaf at value index ``index`` up to the root."""
        nodes = self._nodes
        position = self._position(index)
        proof = []
        while position > 0:
            proof.append(nodes[position + 1 if position & 1 else position - 1])
            position = (position - 1) >> 1
        return tuple(proof)

    def all_proofs(self) -> list[tuple[bytes, ...]]:
        """The proof of every leaf, by value index, in one top-down pass.

        A node's proof is its sibling followed by its parent's proof, so each proof costs one
        tuple concatenation instead of a walk to the root.
        """
        nodes = self._nodes
        size = len(nodes)
        paths: list[tuple[bytes, ...] | None] = [None] * size
        paths[0] = ()
        # A million small tuples would trigger the cyclic collector over and over; none of
        # them can be part of a cycle. ``(x,) + path`` is twice as fast as ``(x, *path)``.
        with _collector_paused():
            for position in range(1, size):
                parent = (position - 1) >> 1
                if position & 1:
                    paths[position] = (nodes[position + 1],) + paths[parent]  # type: ignore[operator]
                else:
                    paths[position] = (nodes[position - 1],) + paths[parent]  # type: ignore[operator]
                    # Both children are done: free the parent's path.
                    paths[parent] = None
            return [paths[p] for p in self._positions]  # type: ignore[misc]

    def multiproof(self, indices: Sequence[int]) -> MultiProof:
        """A multiproof for the leaves at value ``indices`` (distinct)."""
        nodes = self._nodes
        positions = sorted((self._position(i) for i in indices), reverse=True)
        if len(set(positions)) != len(positions):
            raise LedgerValueError("cannot prove a duplicated index")
        stack = deque(positions)
        proof: list[bytes] = []
        flags: list[bool] = []
        while stack and stack[0] > 0:
            j = stack.popleft()
            sibling = j + 1 if j & 1 else j - 1
            if stack and stack[0] == sibling:
                flags.append(True)
                stack.popleft()
            else:
                flags.append(False)
                proof.append(nodes[sibling])
            stack.append((j - 1) >> 1)
        if not positions:
            proof.append(nodes[0])
        return MultiProof(tuple(nodes[p] for p in positions), tuple(proof), tuple(flags))


def reference_build(leaves: Sequence[bytes]) -> tuple[list[bytes], list[int]]:
    """The tree's flat node list and each leaf's position in it, by value index; what
    ``_merkle.build`` (the one :class:`MerkleTree` uses) computes without the GIL, and here
    what says which leaf is wrong."""
    count = len(leaves)
    if count == 0:
        raise LedgerValueError("a Merkle tree needs at least one leaf")
    # Checked with map() rather than a loop: this runs a million times per batch.
    if set(map(type, leaves)) != {bytes} or set(map(len, leaves)) != {32}:
        bad = next(i for i, leaf in enumerate(leaves) if type(leaf) is not bytes or len(leaf) != 32)
        raise LedgerValueError(f"leaf {bad} is not 32 bytes")
    # Sorting indices, not leaves, keeps each leaf's value index; Python's sort is stable
    # like the library's, so equal leaves keep their relative order.
    order = sorted(range(count), key=leaves.__getitem__)
    nodes: list[bytes] = [b""] * (count - 1)
    nodes.extend(map(leaves.__getitem__, reversed(order)))
    positions = [0] * count
    last = 2 * count - 2
    for rank, value_index in enumerate(order):
        positions[value_index] = last - rank
    keccak = _keccak
    # Level by level from the bottom: node i's children are in the level below, so one
    # comprehension per level replaces a million index computations.
    for lo, hi in reversed(_internal_levels(count)):
        lefts = nodes[2 * lo + 1 : 2 * hi + 3 : 2]
        rights = nodes[2 * lo + 2 : 2 * hi + 3 : 2]
        nodes[lo : hi + 1] = [
            keccak(a + b if a <= b else b + a).digest() for a, b in zip(lefts, rights, strict=True)
        ]
    return nodes, positions


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from ``leaf``."""
    if len(leaf) != 32 or any(len(node) != 32 for node in proof):
        raise LedgerValueError("leaf and proof nodes must be 32 bytes")
    computed = leaf
    for node in proof:
        computed = node_hash(computed, node)
    return computed


def _internal_levels(leaf_count: int) -> list[tuple[int, int]]:
    """``(lo, hi)`` positions of the internal nodes of each level, top level first.

    Level ``d`` spans positions ``2^d − 1 .. 2^(d+1) − 2``; internal nodes are those below
    ``leaf_count − 1``.
    """
    last_internal = leaf_count - 2
    levels = []
    lo = 0
    while lo <= last_internal:
        levels.append((lo, min(2 * lo, last_internal)))
        lo = 2 * lo + 1
    return levels


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def verify(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """True if ``proof`` proves ``leaf`` under ``root``."""
    return process_proof(leaf, proof) == root


def process_multiproof(multiproof: MultiProof) -> bytes:
    """The root a multiproof leads to; raises :class:`LedgerValueError` if it is malformed."""
    leaves, proof, flags = multiproof.leaves, multiproof.proof, multiproof.proof_flags
    if any(len(node) != 32 for node in (*leaves, *proof)):
        raise LedgerValueError("multiproof leaves and nodes must be 32 bytes")
    if len(proof) < flags.count(False):
        raise LedgerValueError("invalid multiproof: fewer proof nodes than false flags")
    if len(leaves) + len(proof) != len(flags) + 1:
        raise LedgerValueError("invalid multiproof: leaves + proof must be flags + 1")
    stack = deque(leaves)
    extra = deque(proof)
    for flag in flags:
        if not stack:
            raise LedgerValueError("invalid multiproof: ran out of leaves")
        a = stack.popleft()
        if flag and not stack:
            raise LedgerValueError("invalid multiproof: ran out of leaves")
        b = stack.popleft() if flag else extra.popleft()
        stack.append(node_hash(a, b))
    if len(stack) + len(extra) != 1:
        raise LedgerValueError("invalid multiproof: does not reduce to one root")
    return stack.pop() if stack else extra.popleft()


def verify_multiproof(root: bytes, multiproof: MultiProof) -> bool:
    """True if ``multiproof`` proves its leaves under ``root``; false if it is malformed."""
    try:
        return process_multiproof(multiproof) == root
    except LedgerValueError:
        return False
