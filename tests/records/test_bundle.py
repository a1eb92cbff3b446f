"""Proof bundles: construction invariants, JSON round trip, and the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ledger_node.bundle import FORMAT, Anchor, ProofBundle
from ledger_node.commitment import commit_record
from ledger_node.errors import ProofBundleError
from ledger_node.merkle import MerkleTree, verify
from ledger_node.records import validate
from ledger_node.records.samples import generate
from ledger_node.subject import record_subject_tags

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "ledger_node" / "bundle.schema.json"
KEY = bytes(range(32))


def batch_anchor(**overrides: Any) -> Anchor:
    fields: dict[str, Any] = {
        "chain_id": 31337,
        "ledger": bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"),
        "tx_hash": bytes(range(32)),
        "block_number": 12,
        "agency_id": 1,
        "signer": bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266"),
        "signature": bytes(64) + b"\x1b",
        "kind": "batch",
        "deadline": 1_900_000_000,
        "count": 8,
    }
    fields.update(overrides)
    return Anchor(**fields)


def single_anchor(**overrides: Any) -> Anchor:
    fields: dict[str, Any] = {
        "kind": "single",
        "count": None,
        "nonce": 3,
        "subject": bytes(32),
        "ref_uid": bytes(32),
        "expiration": 0,
    }
    fields.update(overrides)
    return batch_anchor(**fields)


def batch_bundles() -> list[ProofBundle]:
    """Bundles for a batch of eight invoices anchored under one root."""
    name = "invoice.issued/v1"
    committed = [commit_record(validate(name, r)) for r in generate(name, 8, 5)]
    tree = MerkleTree([c.leaf for c in committed])
    return [
        ProofBundle.create(
            c,
            tree.proof(i),
            tree.root,
            record_subject_tags(KEY, c.validated.subject_identifiers()),
            batch_anchor(),
        )
        for i, c in enumerate(committed)
    ]


def single_bundle() -> ProofBundle:
    name = "credit.tax-rating/v1"
    committed = commit_record(validate(name, generate(name, 1, 5)[0]))
    return ProofBundle.create(committed, (), committed.commitment, (), single_anchor())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_batch_bundles_round_trip(
    validator: jsonschema.Draft202012Validator, tmp_path: Path
) -> None:
    for bundle in batch_bundles():
        assert verify(bundle.root, bundle.leaf, bundle.proof)
        document = json.loads(bundle.to_json())
        validator.validate(document)
        assert document["format"] == FORMAT
        assert document["anchor"]["ledger"] == "0x5fbdb2315678afecb367f032d93f642f64180aa3"
        assert "nonce" not in document["anchor"]
        assert ProofBundle.from_json(bundle.to_json()) == bundle
    path = tmp_path / "bundle.json"
    bundle.save(path)
    assert ProofBundle.load(path) == bundle
    assert "上海" in path.read_text(encoding="utf-8") or "公司" in path.read_text(encoding="utf-8")


def test_single_bundle_round_trip(validator: jsonschema.Draft202012Validator) -> None:
    bundle = single_bundle()
    document = json.loads(bundle.to_json())
    validator.validate(document)
    assert document["proof"] == [] and document["root"] == document["commitment"]
    assert "count" not in document["anchor"]
    assert ProofBundle.from_json(bundle.to_json()) == bundle


def test_to_json_is_pretty_and_sorted() -> None:
    text = single_bundle().to_json()
    assert text.endswith("\n") and text.startswith('{\n  "anchor": {')


def test_schema_rejects_malformed_documents(validator: jsonschema.Draft202012Validator) -> None:
    good = json.loads(batch_bundles()[0].to_json())
    broken = [
        {**good, "root": good["root"].upper().replace("0X", "0x")},
        {**good, "format": "taxledger.proof/v2"},
        {**good, "anchor": {**good["anchor"], "nonce": 1}},
        {**good, "anchor": {**good["anchor"], "kind": "single"}},
        {key: value for key, value in good.items() if key != "salt"},
        {**good, "extra": True},
    ]
    for document in broken:
        assert not validator.is_valid(document)
        with pytest.raises(ProofBundleError):
            ProofBundle.from_dict(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="x"), "format must be 'taxledger.proof/v1'"),
        (lambda d: d.update(schema="invoice/v1"), "unknown schema 'invoice/v1'"),
        (lambda d: d.update(schema="payment.settled/v1"), "schema_id is not keccak256"),
        (lambda d: d.update(salt="0x1234"), "salt must be 32 bytes"),
        (lambda d: d.update(leaf="0xZZ"), "leaf must be 0x-prefixed lowercase hex"),
        (lambda d: d.update(proof="0x00"), "proof must be an array"),
        (lambda d: d.pop("subjects"), "bundle is missing subjects"),
        (lambda d: d["anchor"].update(count=0), "anchor.count must be at least 1"),
        (lambda d: d["anchor"].update(signature="0x00"), "anchor.signature must be 65 bytes"),
        (
            lambda d: d["anchor"].update(block_number=-1),
            "anchor.block_number must be a non-negative",
        ),
        (lambda d: d["anchor"].update(kind="other"), "anchor.kind must be one of batch, single"),
        (lambda d: d["anchor"].update(nonce=1), "anchor has unknown field\\(s\\) nonce"),
    ],
)
def test_invariants_name_the_field(change: Any, message: str) -> None:
    document = json.loads(batch_bundles()[0].to_json())
    change(document)
    with pytest.raises(ProofBundleError, match=message):
        ProofBundle.from_dict(document)


def test_single_attestation_has_no_proof() -> None:
    bundle = single_bundle()
    document = bundle.to_dict()
    document["root"] = "0x" + "11" * 32
    with pytest.raises(ProofBundleError, match="empty proof and root = commitment"):
        ProofBundle.from_dict(document)
    with pytest.raises(ProofBundleError, match="a single anchor has no count"):
        single_anchor(count=1)
    with pytest.raises(ProofBundleError, match="a batch anchor has no nonce"):
        batch_anchor(nonce=1)


def test_not_json() -> None:
    with pytest.raises(ProofBundleError, match="not JSON"):
        ProofBundle.from_json("{")
