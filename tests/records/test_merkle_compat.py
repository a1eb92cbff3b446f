"""Roots, proofs and multiproofs equal those of @openzeppelin/merkle-tree (run with Node)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ledger_node.commitment import leaf
from ledger_node.hashing import keccak256
from ledger_node.merkle import MerkleTree, MultiProof, process_multiproof

CHECKOUT = Path(__file__).resolve().parents[2]
NODE = CHECKOUT / "node_modules" / ".bin" / "node"
LIBRARY = CHECKOUT / "node_modules" / "@openzeppelin" / "merkle-tree" / "package.json"
SCRIPT = CHECKOUT / "tests" / "assets" / "merkle_compat.mjs"


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def run_library(values: list[tuple[bytes, bytes]], multi: list[int], tmp_path: Path) -> dict:  # type: ignore[type-arg]
    # Not a skip: without the JS library this test cannot vouch for compatibility.
    if not NODE.exists() or not LIBRARY.exists():
        pytest.fail(
            f"node ({NODE}) or @openzeppelin/merkle-tree ({LIBRARY}) is missing: run `npm ci` "
            "in the checkout; the Merkle compatibility test needs them"
        )
    source = tmp_path / "values.json"
    source.write_text(
        json.dumps({"values": [[hx(a), hx(b)] for a, b in values], "multi": multi}),
        encoding="utf-8",
    )
    done = subprocess.run(
        [str(NODE), str(SCRIPT), str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=CHECKOUT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 64, 1000])
def test_same_root_proofs_and_multiproof(count: int, tmp_path: Path) -> None:
    schema_id = keccak256(b"invoice.issued/v1")
    values = [(schema_id, keccak256(b"commitment %d" % i)) for i in range(count)]
    multi = sorted({0, count // 2, count - 1, (count * 7) // 10})
    expected = run_library(values, multi, tmp_path)

    leaves = [leaf(schema_id, commitment) for _, commitment in values]
    tree = MerkleTree(leaves)
    assert hx(tree.root) == expected["root"]
    assert [[hx(node) for node in proof] for proof in tree.all_proofs()] == expected["proofs"]

    multiproof = tree.multiproof(multi)
    js = expected["multiproof"]
    # The library returns the proved values; compare their leaf hashes, in its order.
    js_leaves = [leaf(bytes.fromhex(a[2:]), bytes.fromhex(b[2:])) for a, b in js["leaves"]]
    assert list(multiproof.leaves) == js_leaves
    assert [hx(node) for node in multiproof.proof] == js["proof"]
    assert list(multiproof.proof_flags) == js["proofFlags"]
    assert (
        process_multiproof(MultiProof(tuple(js_leaves), multiproof.proof, multiproof.proof_flags))
        == tree.root
    )
