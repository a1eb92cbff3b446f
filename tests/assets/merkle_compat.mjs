// Build an OpenZeppelin StandardMerkleTree over ["bytes32","bytes32"] values and print its
// root, every proof (by value index) and one multiproof, for tests/records/test_merkle_compat.py.
// Usage: node merkle_compat.mjs INPUT.json  where INPUT is {"values": [[a, b], ...], "multi": [i, ...]}
import { readFileSync } from "node:fs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const tree = StandardMerkleTree.of(input.values, ["bytes32", "bytes32"]);
const multiproof = tree.getMultiProof(input.multi);
console.log(
  JSON.stringify({
    root: tree.root,
    proofs: input.values.map((_, i) => tree.getProof(i)),
    multiproof: {
      leaves: multiproof.leaves,
      proof: multiproof.proof,
      proofFlags: multiproof.proofFlags,
    },
  }),
);
