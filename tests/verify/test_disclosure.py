"""taxledger.proof/v2: records committed field by field with their subject tags; partial
bundles that verify, hide what they do not show, and fail at the right check when changed."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from ledger_node.bundle import ProofBundleV2, bundle_from_dict
from ledger_node.fieldtree import (
    FieldPathError,
    Hidden,
    ObjectNode,
    ValueNode,
    disclosed_values,
    node_count,
    parse_field_paths,
    salt_stream,
    value_digest,
)
from ledger_node.tagging import MissingTagKeyError, subject_tag
from ledger_node.verify import VerificationFailure

from .conftest import V2Ledger
from .test_proof_v2_spec import SCHEMA, recompute


def _reloaded(bundle: ProofBundleV2) -> ProofBundleV2:
    loaded = bundle_from_dict(json.loads(bundle.to_json()))
    assert isinstance(loaded, ProofBundleV2)
    return loaded


def _leaf_paths(bundle: ProofBundleV2) -> list[str]:
    return [path for path, _ in disclosed_values(bundle.fields)]


def test_full_v2_bundles_of_every_schema_verify(v2: V2Ledger) -> None:
    verifier = v2.verifier()
    for name, bundle in v2.bundles.items():
        reloaded = _reloaded(bundle)
        assert reloaded == bundle and reloaded.complete
        assert reloaded.record == v2.records[name]
        verified = verifier.verify(reloaded)
        assert verified.tags == frozenset(t.tag for t in bundle.subjects)
    assert verifier.verify(_reloaded(v2.single)).write.block_number > 0


def test_every_field_of_every_schema_can_be_shown_alone(v2: V2Ledger) -> None:
    verifier = v2.verifier()
    for bundle in v2.bundles.values():
        for path in _leaf_paths(bundle):
            partial = _reloaded(bundle.disclose(parse_field_paths(path)))
            assert _leaf_paths(partial) == [path]
            assert not partial.complete
            verifier.verify(partial)


def test_policy_paths_select_what_they_name(v2: V2Ledger) -> None:
    payment = v2.bundles["payment.settled/v2"]
    rule = "payer.tax_id,payee.tax_id,amount,settles[].invoice_number,settles[].amount"
    partial = payment.disclose(parse_field_paths(rule))
    items = len(v2.records["payment.settled/v2"]["settles"])
    assert _leaf_paths(partial) == [
        "amount",
        "payee.tax_id",
        "payer.tax_id",
        *[
            p
            for i in range(items)
            for p in (f"settles[{i}].amount", f"settles[{i}].invoice_number")
        ],
    ]
    invoice = v2.bundles["invoice.issued/v2"]
    assert _leaf_paths(invoice.disclose(parse_field_paths("*"))) == _leaf_paths(invoice)
    seller = invoice.disclose(parse_field_paths("seller"))
    assert seller.record == {"seller": v2.records["invoice.issued/v2"]["seller"]}
    first = invoice.disclose(parse_field_paths("lines[0].amount"))
    assert first.record == {
        "lines": [{"amount": v2.records["invoice.issued/v2"]["lines"][0]["amount"]}]
    }


@pytest.mark.parametrize(
    ("paths", "reason"),
    [
        ("selller.tax_id", "names no field this bundle discloses"),
        ("seller..tax_id", "is not a field name"),
        ("lines[x]", "is not a field name"),
        ("", "no field named"),
        ("seller.tax_id.more", "names no field this bundle discloses"),
    ],
)
def test_a_bad_field_path_is_named(v2: V2Ledger, paths: str, reason: str) -> None:
    with pytest.raises(FieldPathError, match=re.escape(reason)):
        v2.bundles["invoice.issued/v2"].disclose(parse_field_paths(paths))


def test_a_field_hidden_already_cannot_be_shown_again(v2: V2Ledger) -> None:
    partial = v2.bundles["invoice.issued/v2"].disclose(parse_field_paths("total"))
    with pytest.raises(FieldPathError, match=r"'seller\.tax_id': names no field this bundle"):
        partial.disclose(parse_field_paths("seller.tax_id"))
    assert _leaf_paths(partial.disclose(parse_field_paths("total"))) == ["total"]


def _hex_strings(document: str) -> set[bytes]:
    return {bytes.fromhex(h) for h in re.findall(r"0x([0-9a-f]{64})", document)}


def _salts_by_path(record: dict[str, Any], master: bytes) -> dict[str, bytes]:
    """Every node's salt by path, computed from the master salt (what only the holder can)."""
    stream = salt_stream(master, node_count(record))
    out: dict[str, bytes] = {}
    offset = 32

    def walk(value: Any, path: str) -> None:
        nonlocal offset
        out[path] = stream[offset : offset + 32]
        offset += 32
        if isinstance(value, dict):
            for key in sorted(value):
                walk(value[key], f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(record, "")
    return out


#: Values an attacker would try for a low-entropy field, beside the true one.
_GUESSES: tuple[object, ...] = (True, False, None, 0, 1, "0.13", "0.06", "0.01", "A", "B", "M")


def test_nothing_of_a_hidden_field_can_be_confirmed(v2: V2Ledger) -> None:
    """For every field of every schema: the bundle showing all *other* fields carries neither
    the master salt nor the hidden field's salt, and no salt it carries confirms any guess
    of the hidden value (the true value included) against any digest it carries."""
    checked = 0
    for name, bundle in v2.bundles.items():
        master = v2.masters[name]
        salts = _salts_by_path(v2.records[name], master)
        for hidden in _leaf_paths(bundle):
            others = [p for p in _leaf_paths(bundle) if p != hidden]
            partial = bundle.disclose(parse_field_paths(others)) if others else None
            document = partial.to_json() if partial else ""
            assert hidden not in ((partial and _leaf_paths(partial)) or [])
            carried = _hex_strings(document)
            assert master not in carried and salts[hidden] not in carried
            true_value = next(n.value for p, n in disclosed_values(bundle.fields) if p == hidden)
            for salt in carried:
                for guess in (true_value, *_GUESSES):
                    assert value_digest(salt, hidden, guess) not in carried
            checked += 1
    assert checked > 60  # every field of the twelve schemas


def test_the_commitment_salt_is_not_the_master_salt(v2: V2Ledger) -> None:
    for name, bundle in v2.bundles.items():
        assert bundle.salt != v2.masters[name]
        assert v2.masters[name] not in _hex_strings(bundle.to_json())


def _document(bundle: ProofBundleV2) -> dict[str, Any]:
    return json.loads(bundle.to_json())  # type: ignore[no-any-return]


def _fails(v2: V2Ledger, document: dict[str, Any], check: int, code: str, text: str = "") -> None:
    with pytest.raises(VerificationFailure) as failure:
        v2.verifier().verify_bytes(json.dumps(document).encode())
    assert (failure.value.check, failure.value.code) == (check, code), failure.value.message
    assert text in failure.value.message


def _value_entry(document: dict[str, Any], key: str) -> dict[str, Any]:
    entry = next(m for m in document["fields"]["members"] if m.get("key") == key)
    return entry  # type: ignore[no-any-return]


def _flip(hex_string: str) -> str:
    return hex_string[:-1] + ("0" if hex_string[-1] != "0" else "1")


def test_changing_a_disclosed_field_its_salt_or_digest_fails_check_2(v2: V2Ledger) -> None:
    partial = v2.bundles["invoice.issued/v2"].disclose(parse_field_paths("total,invoice_type"))
    for change in (
        lambda e: e.update(value="9999.99"),
        lambda e: e.update(salt=_flip(e["salt"])),
    ):
        doc = _document(partial)
        change(_value_entry(doc, "total"))
        _fails(v2, doc, 2, "field_mismatch", "field total:")
    doc = _document(partial)
    entry = _value_entry(doc, "invoice_type")
    entry["value"] = "special" if entry["value"] == "ordinary" else "ordinary"
    entry["digest"] = (
        "0x" + value_digest(bytes.fromhex(entry["salt"][2:]), "invoice_type", entry["value"]).hex()
    )
    _fails(v2, doc, 2, "fields_mismatch", "disclosed: invoice_type, total")


def test_changing_a_hidden_digest_or_the_tree_fails_check_2(v2: V2Ledger) -> None:
    partial = v2.bundles["invoice.issued/v2"].disclose(parse_field_paths("lines[0].rate"))
    changes: list[Callable[[dict[str, Any]], None]] = [
        lambda d: d["fields"]["members"][0].update(
            hidden=_flip(d["fields"]["members"][0]["hidden"])
        ),
        lambda d: d["fields"]["members"].pop(0),
        lambda d: d["fields"]["members"].append({"hidden": "0x" + "11" * 32}),
        lambda d: d["fields"].update(salt=_flip(d["fields"]["salt"])),
        lambda d: d.update(fields_digest=_flip(d["fields_digest"])),
    ]
    for change in changes:
        doc = _document(partial)
        change(doc)
        _fails(v2, doc, 2, "fields_mismatch")


def test_changing_the_salt_record_hash_leaf_or_proof_fails_where_it_should(v2: V2Ledger) -> None:
    partial = v2.bundles["invoice.issued/v2"].disclose(parse_field_paths("total"))
    for name, check, code in (
        ("salt", 2, "commitment_mismatch"),
        ("record_hash", 2, "subjects_mismatch"),
        ("commitment", 2, "commitment_mismatch"),
        ("leaf", 2, "leaf_mismatch"),
    ):
        doc = _document(partial)
        doc[name] = _flip(doc[name])
        _fails(v2, doc, check, code)
    doc = _document(partial)
    doc["proof"][0] = _flip(doc["proof"][0])
    _fails(v2, doc, 3, "proof_mismatch")


def _tag_changes(other: dict[str, Any]) -> list[Callable[[list[dict[str, Any]]], None]]:
    """Nine single changes of a bundle's tag list."""
    return [
        lambda s: s[0].update(tag=_flip(s[0]["tag"])),
        lambda s: s[0].update(
            domain="taxpayer-credit" if s[0]["domain"] != "taxpayer-credit" else "invoice"
        ),
        lambda s: s[0].update(version=s[0]["version"] + 1),
        lambda s: s.pop(),
        lambda s: s.append(dict(other)),
        lambda s: s.append(dict(s[0])),
        lambda s: s.reverse(),
        lambda s: s.__setitem__(0, dict(other)),
        lambda s: s.clear(),
    ]


def test_nine_tamperings_of_the_tags_all_fail(v2: V2Ledger) -> None:
    bundle = v2.bundles["invoice.issued/v2"]
    other = _document(v2.bundles["tax.declaration/v1"])["subjects"][0]
    for disclosed in (bundle, bundle.disclose(parse_field_paths("total"))):
        assert len(disclosed.subjects) == 3
        for change in _tag_changes(other):
            doc = _document(disclosed)
            change(doc["subjects"])
            _fails(v2, doc, 2, "subjects_mismatch", "a tag, its domain or its key version")


def test_tags_name_their_domain_and_version(v2: V2Ledger) -> None:
    invoice = v2.bundles["invoice.issued/v2"]
    assert [(t.domain, t.version) for t in invoice.subjects] == [
        ("invoice", 1),
        ("taxpayer-invoices", 1),
        ("taxpayer-invoices", 1),
    ]
    record = v2.records["invoice.issued/v2"]
    bureau = v2.keyrings["tax-bureau"]
    assert invoice.subjects[0] == subject_tag(
        bureau, "invoice", "invoice", record["invoice_number"]
    )
    payment = v2.bundles["payment.settled/v2"]
    assert {t.domain for t in payment.subjects} == {"taxpayer-credit"}


def test_a_bank_cannot_compute_an_invoice_tag(v2: V2Ledger) -> None:
    bank = v2.keyrings["bank"]
    assert bank.domains == ("taxpayer-credit",)
    number = v2.records["invoice.issued/v2"]["invoice_number"]
    with pytest.raises(MissingTagKeyError, match="no key of tag domain 'invoice'"):
        subject_tag(bank, "invoice", "invoice", number)
    with pytest.raises(MissingTagKeyError, match="taxpayer-invoices"):
        subject_tag(bank, "taxpayer-invoices", "taxpayer", "91310110666007217T")


def test_a_partial_bundle_shows_no_identifier_it_hides(v2: V2Ledger) -> None:
    record = v2.records["invoice.issued/v2"]
    partial = v2.bundles["invoice.issued/v2"].disclose(parse_field_paths("total"))
    document = partial.to_json()
    for secret in (record["invoice_number"], record["seller"]["tax_id"], record["buyer"]["name"]):
        assert secret not in document
    assert isinstance(partial.fields, ObjectNode)
    assert sum(isinstance(m, Hidden) for m in partial.fields.members) == len(record) - 1
    assert all(isinstance(n, ValueNode) for _, n in disclosed_values(partial.fields))


def test_every_bundle_fits_the_published_format(v2: V2Ledger) -> None:
    """Every full and single-field bundle of every schema matches the JSON Schema and
    recomputes to its root by the page's rules alone."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    for bundle in [*v2.bundles.values(), v2.single]:
        for shown in [
            bundle,
            *(bundle.disclose(parse_field_paths(p)) for p in _leaf_paths(bundle)),
        ]:
            document = _document(shown)
            validator.validate(document)
            assert recompute(document) == shown.root
