"""The published v2 format, recomputed from docs/proof-bundle-v2.md alone: Python's standard
library and the Keccak the page names (``sha3.keccak_256``), no taxledger code; then the
library must make the very same document from the example's inputs."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import jsonschema
import sha3

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "assets" / "proof-v2-example.json"
PAGE = ROOT / "docs" / "proof-bundle-v2.md"
SCHEMA = ROOT / "ledger_node" / "bundle-v2.schema.json"


def keccak(data: bytes) -> bytes:
    return sha3.keccak_256(data).digest()  # type: ignore[no-any-return]


def hexb(text: str) -> bytes:
    assert text.startswith("0x")
    return bytes.fromhex(text[2:])


def enc(path: str) -> bytes:
    raw = path.encode()
    return struct.pack(">H", len(raw)) + raw


def jcs_scalar(value: Any) -> bytes:
    # The page's JCS of a record scalar: a string with only '"', '\' and controls escaped.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def digest(node: dict[str, Any], path: str) -> bytes:
    if set(node) == {"hidden"}:
        return hexb(node["hidden"])
    salt = hexb(node["salt"])
    if "value" in node:
        computed = keccak(b"\x00" + salt + enc(path) + jcs_scalar(node["value"]))
        assert computed == hexb(node["digest"]), path
        return computed
    if "members" in node:
        children = []
        for member in node["members"]:
            if "key" in member:
                key = member["key"]
                child = {k: v for k, v in member.items() if k != "key"}
                children.append(digest(child, f"{path}.{key}" if path else key))
            else:
                children.append(digest(member, path))
        kind = b"\x01"
    else:
        children = [digest(item, f"{path}[{i}]") for i, item in enumerate(node["items"])]
        kind = b"\x02"
    return keccak(kind + salt + enc(path) + struct.pack(">I", len(children)) + b"".join(children))


def recompute(bundle: dict[str, Any]) -> bytes:
    """The root a v2 bundle leads to (for a single fact, its commitment), per the page;
    asserts every intermediate it states."""
    fields = digest(bundle["fields"], "")
    assert fields == hexb(bundle["fields_digest"])
    tags = b"".join(
        keccak(t["domain"].encode()) + struct.pack(">I", t["version"]) + hexb(t["tag"])
        for t in bundle["subjects"]
    )
    subjects = keccak(b"\x03" + struct.pack(">I", len(bundle["subjects"])) + tags)
    record_hash = keccak(b"\x04" + fields + subjects)
    assert record_hash == hexb(bundle["record_hash"])
    schema_id = keccak(bundle["schema"].encode())
    assert schema_id == hexb(bundle["schema_id"])
    commitment = keccak(schema_id + hexb(bundle["salt"]) + record_hash)
    assert commitment == hexb(bundle["commitment"])
    leaf = keccak(keccak(schema_id + commitment))
    assert leaf == hexb(bundle["leaf"])
    if bundle["anchor"]["kind"] == "single":  # attested alone: the commitment is the fact
        assert bundle["proof"] == []
        return commitment
    node = leaf
    for sibling in map(hexb, bundle["proof"]):
        node = keccak(min(node, sibling) + max(node, sibling))
    return node


def test_the_example_recomputes_with_the_standard_library() -> None:
    bundle = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert recompute(bundle) == hexb(bundle["root"])
    # The salts are the page's SHAKE256 blocks of the master salt bytes(range(32)).
    stream = hashlib.shake_256(b"taxledger.proof/v2" + bytes(range(32))).digest(32 * 6)
    assert hexb(bundle["salt"]) == stream[:32]
    assert hexb(bundle["fields"]["salt"]) == stream[32:64]
    assert hexb(bundle["fields"]["members"][0]["salt"]) == stream[64:96]


def test_the_page_states_the_example_s_bytes() -> None:
    page = PAGE.read_text(encoding="utf-8")
    bundle = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for value in (
        bundle["fields_digest"],
        bundle["record_hash"],
        bundle["commitment"],
        bundle["leaf"],
        bundle["root"],
        bundle["fields"]["members"][0]["digest"],
        *(m["hidden"][2:] for m in bundle["fields"]["members"][1:]),
    ):
        assert value in page


def test_a_changed_example_no_longer_reaches_its_root() -> None:
    bundle = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    bundle["fields"]["members"][0]["value"] = "B"
    bundle["fields"]["members"][0]["digest"] = (
        "0x"
        + keccak(
            b"\x00" + hexb(bundle["fields"]["members"][0]["salt"]) + enc("level") + b'"B"'
        ).hex()
    )
    try:
        recompute(bundle)
    except AssertionError:
        return
    raise AssertionError("a changed field still recomputed to the stated hashes")


def test_the_library_makes_the_example() -> None:
    from ledger_node.bundle import Anchor, ProofBundleV2
    from ledger_node.commitment import commit_record_v2
    from ledger_node.fieldtree import parse_field_paths
    from ledger_node.merkle import MerkleTree
    from ledger_node.records.validation import validate
    from ledger_node.tagging import Keyring, record_subject_tags

    record = {"uscc": "91310110666007217T", "year": 2025, "level": "A", "score": 92}
    validated = validate("credit.tax-rating/v1", record)
    tags = record_subject_tags(Keyring.of({"taxpayer-credit": b"\x42" * 32}), validated)
    committed = commit_record_v2(validated, tags, bytes(range(32)))
    tree = MerkleTree([committed.leaf, b"\x11" * 32])
    anchor = Anchor(
        chain_id=31337,
        ledger=bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"),
        tx_hash=b"\xaa" * 32,
        block_number=12,
        agency_id=1,
        signer=bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266"),
        signature=bytes(64) + b"\x1b",
        kind="batch",
        deadline=1_900_000_000,
        count=2,
    )
    full = ProofBundleV2.create(committed, tree.all_proofs()[0], tree.root, anchor)
    partial = full.disclose(parse_field_paths("level"))
    assert partial.to_json() == EXAMPLE.read_text(encoding="utf-8")
    assert recompute(json.loads(full.to_json())) == tree.root


def test_bundles_match_the_json_schema() -> None:
    from ledger_node.records.schemas import SCHEMAS

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"]["enum"] == list(SCHEMAS)
    validator = jsonschema.Draft202012Validator(schema)
    bundle = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    validator.validate(bundle)
    bundle["fields"]["members"].append({"key": "extra"})
    assert not validator.is_valid(bundle)
