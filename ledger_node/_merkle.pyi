"""StandardMerkleTree's node array, compiled (``_merkle.c``).

``build`` answers exactly as :func:`ledger_node.merkle.reference_build` or returns None, and
then the reference decides (and words the error).
"""

from collections.abc import Sequence

def build(leaves: Sequence[bytes], /) -> tuple[list[bytes], list[int]] | None:
    """``(nodes, positions)``: the tree's flat node list and each leaf's position in it, by
    value index; sorted and hashed without the GIL."""
