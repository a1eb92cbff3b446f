"""The commit path of the field tree (no nodes built, salts drawn in one go) gives exactly the
digest the verifier recomputes from the built tree, for every schema and for records with
more nodes than one draw of salts covers."""

from __future__ import annotations

import os

from ledger_node.fieldtree import build_tree, commitment_salt, fields_digest, node_digest
from ledger_node.records.samples import generate
from ledger_node.records.schemas import SCHEMAS


def test_the_commit_path_equals_the_built_tree_for_every_schema() -> None:
    for name in SCHEMAS:
        for record in generate(name, 40, seed=9):
            master = os.urandom(32)
            assert fields_digest(record, master) == (
                commitment_salt(master),
                node_digest(build_tree(record, master)),
            ), name


def test_a_record_with_many_nodes_draws_more_salts() -> None:
    record = {
        "items": [{"amount": str(i), "flag": i % 2 == 0, "none": None} for i in range(60)],
        "empty": {},
        "nothing": [],
        "text": '增值税 \u2028 "quoted" \\ \x07',
    }
    master = bytes(range(32))
    salt, digest = fields_digest(record, master)
    assert digest == node_digest(build_tree(record, master))
    assert salt == commitment_salt(master)
    changed = {**record, "empty": []}
    assert fields_digest(changed, master)[1] != digest
