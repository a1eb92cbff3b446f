"""The compiled field tree (``ledger_node/_fieldtree.c``) gives exactly the answers of its
Python reference in ``ledger_node/fieldtree.py``: the commit path, the built tree, the digest
of whole and partial trees and the first field that does not match, for every schema and for
generated JSON of any shape. Where it declines (floats, integers beyond 2^53 - 1, lone
surrogates, keys that are not field names, trees too deep), the reference decides."""

from __future__ import annotations

import os
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_node import _fieldtree
from ledger_node.commitment import (
    commit_record_v2,
    commitment,
    leaf,
    record_hash_v2,
    subjects_digest,
)
from ledger_node.errors import LedgerValueError
from ledger_node.fieldtree import (
    FieldMismatch,
    Hidden,
    ObjectNode,
    ValueNode,
    build_tree,
    checked_digest,
    commitment_salt,
    complete_tree,
    disclose,
    fields_digest,
    node_digest,
    node_from_json,
    node_to_json,
    parse_field_paths,
    reference_build_tree,
    reference_digest,
    reference_fields_digest,
    reference_node_from_json,
)
from ledger_node.records.samples import generate
from ledger_node.records.schemas import SCHEMAS
from ledger_node.records.validation import validate
from ledger_node.tagging import SubjectTag

FIELD_NAMES = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=12)
ESCAPED = '"\\\x00\x01\x07\x08\t\n\x0b\x0c\r\x1f\x7f/é增值税\u2028😀'
#: Strings of every kind: ASCII with the characters JCS escapes, CJK, emoji, U+2028, and long
#: enough to make a leaf of several blocks.
TEXT = st.one_of(
    st.text(max_size=20),
    st.text(st.sampled_from(ESCAPED), max_size=40),
    st.text(min_size=100, max_size=400),
)
#: Scalars the compiled path writes itself.
PLAIN = st.one_of(
    TEXT,
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1),
)
#: Scalars it leaves to the reference.
DECLINED = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=2**53, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**53)),
)


def _json(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=12),
            st.dictionaries(FIELD_NAMES, inner, max_size=24),
        ),
        max_leaves=40,
    )


def _records(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(FIELD_NAMES, _json(scalars), max_size=20)


MASTERS = st.binary(min_size=32, max_size=32)
# Records of nested JSON are large inputs by design.
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _assert_same_tree(record: dict[str, Any], master: bytes) -> None:
    """Every compiled answer for ``record`` is the reference's, and none is declined."""
    expected_tree = reference_build_tree(record, master)
    expected = reference_digest(expected_tree)
    compiled = _fieldtree.fields_digest(record, master)
    assert compiled == (commitment_salt(master), expected)
    built = _fieldtree.build_tree(record, master)
    assert built is not None
    assert built == (expected_tree, expected)
    assert type(built[0]) is ObjectNode
    assert _fieldtree.tree_digest(built[0], "", True) == expected
    assert _fieldtree.tree_digest(built[0], "", False) == expected


def test_every_schema_commits_and_builds_as_the_reference() -> None:
    for name in SCHEMAS:
        for record in generate(name, 25, seed=9):
            _assert_same_tree(record, os.urandom(32))


def test_a_v2_commitment_is_the_reference_hashes() -> None:
    tags = (
        SubjectTag("invoice", 1, bytes(range(32))),
        SubjectTag("taxpayer-invoices", 3, bytes(32)),
    )
    for name in SCHEMAS:
        for record in generate(name, 5, seed=4):
            validated = validate(name, record)
            master = os.urandom(32)
            committed = commit_record_v2(validated, tags, master)
            salt, fields = reference_fields_digest(record, master)
            digest = record_hash_v2(fields, subjects_digest(tags))
            binding = commitment(validated.schema.schema_id, salt, digest)
            assert committed.record_hash == digest
            assert committed.commitment == binding
            assert committed.leaf == leaf(validated.schema.schema_id, binding)
            assert committed.salt == master
            assert committed.tags == tags


_TAG_VALUES = st.binary(min_size=32, max_size=32)
_TAGS = st.lists(
    st.builds(
        SubjectTag,
        st.one_of(st.sampled_from(["invoice", "taxpayer-credit"]), st.text(min_size=1)),
        st.integers(1, 2**32 - 1),
        _TAG_VALUES,
    ),
    max_size=12,
)


@SETTINGS
@given(_TAGS, MASTERS, st.booleans())
def test_the_compiled_commitment_hashes_any_tags_as_the_reference(
    tags: list[SubjectTag], master: bytes, as_tuple: bool
) -> None:
    # The compiled path writes the subjects' digest itself (domain ids cached by name): any
    # domain names, versions, counts and repeats give the reference's hashes, none declined.
    record = generate("invoice.issued/v2", 1, seed=len(tags))[0]
    validated = validate("invoice.issued/v2", record)
    schema_id = validated.schema.schema_id
    given_tags = tuple(tags) if as_tuple else tags
    compiled = _fieldtree.commit_v2(record, master, schema_id, given_tags)
    salt, fields = reference_fields_digest(record, master)
    digest = record_hash_v2(fields, subjects_digest(tags))
    binding = commitment(schema_id, salt, digest)
    assert compiled == (digest, binding, leaf(schema_id, binding))
    assert commit_record_v2(validated, given_tags, master).record_hash == digest


def test_tags_the_compiled_commitment_declines_are_the_reference_s_to_decide() -> None:
    record = generate("invoice.issued/v2", 1, seed=1)[0]
    validated = validate("invoice.issued/v2", record)
    master, schema_id = os.urandom(32), validated.schema.schema_id
    good = SubjectTag("invoice", 1, bytes(32))

    class Tag(SubjectTag):
        pass

    surrogate = SubjectTag("\ud800", 1, bytes(32))
    for tags in ([Tag("invoice", 1, bytes(32))], iter([good]), [good, surrogate]):
        assert _fieldtree.commit_v2(record, master, schema_id, tags) is None
    with pytest.raises(UnicodeEncodeError):
        commit_record_v2(validated, [good, surrogate], master)
    # A subclass's tag is hashed by the reference, to the same bytes as its base's.
    assert (
        commit_record_v2(validated, [Tag("invoice", 1, bytes(32))], master).record_hash
        == commit_record_v2(validated, [good], master).record_hash
    )


@SETTINGS
@given(_records(PLAIN), MASTERS)
def test_any_record_of_plain_values_is_hashed_as_the_reference(
    record: dict[str, Any], master: bytes
) -> None:
    _assert_same_tree(record, master)


@SETTINGS
@given(_records(st.one_of(PLAIN, DECLINED)), MASTERS)
def test_what_the_compiled_path_declines_the_reference_decides(
    record: dict[str, Any], master: bytes
) -> None:
    try:
        expected: Any = reference_fields_digest(record, master)
    except LedgerValueError as exc:
        expected = type(exc)
    compiled = _fieldtree.fields_digest(record, master)
    assert compiled is None or compiled == expected
    try:
        assert fields_digest(record, master) == expected
    except LedgerValueError as exc:
        assert type(exc) is expected


@pytest.mark.parametrize(
    "record",
    [
        {"lines": [{"amount": 2**53}]},
        {"name": "\ud800"},
        {"seller": {"tax id": "x"}},
        {"seller": {"": "x"}},
        {"税号": "x"},
    ],
)
def test_values_without_a_tree_are_refused_by_the_reference(record: dict[str, Any]) -> None:
    master = bytes(range(32))
    assert _fieldtree.fields_digest(record, master) is None
    assert _fieldtree.build_tree(record, master) is None
    with pytest.raises((LedgerValueError, TypeError)):
        reference_fields_digest(record, master)


@pytest.mark.parametrize(
    "record", [{"rate": 0.13, "amount": "1.00"}, {"nested": [{"k": "v"}, (1, 2)]}]
)
def test_a_value_the_compiled_path_cannot_write_takes_the_reference_encoding(
    record: dict[str, Any],
) -> None:
    master = bytes(range(32))
    assert _fieldtree.fields_digest(record, master) is None
    assert fields_digest(record, master) == reference_fields_digest(record, master)
    tree, digest = complete_tree(record, master)
    assert tree == reference_build_tree(record, master)
    assert checked_digest(tree) == node_digest(tree) == digest


def test_a_tree_deeper_than_the_compiled_limit_goes_to_the_reference() -> None:
    deep: Any = "bottom"
    for _ in range(70):
        deep = {"below": deep}
    record = {"top": deep}
    master = bytes(32)
    assert _fieldtree.fields_digest(record, master) is None
    assert fields_digest(record, master) == reference_fields_digest(record, master)


def test_wide_and_long_records_match() -> None:
    master = bytes(range(32))
    wide = {f"f{i:03d}": i for i in range(300)}
    assert fields_digest(wide, master) == reference_fields_digest(wide, master)
    long = {"remarks": "增" * 5000, "lines": [{"n": str(i)} for i in range(400)], "e": {}}
    _assert_same_tree(long, master)
    empty: dict[str, Any] = {}
    _assert_same_tree(empty, master)


def test_a_bad_master_salt_is_refused_by_the_reference() -> None:
    for master in (b"short", bytes(33), bytearray(32)):
        assert _fieldtree.fields_digest({"a": 1}, master) is None
        with pytest.raises(LedgerValueError, match="master salt is 32 bytes"):
            fields_digest({"a": 1}, master)  # type: ignore[arg-type]


def test_a_record_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(LedgerValueError, match="a record is a JSON object"):
        fields_digest([1, 2], bytes(32))  # type: ignore[arg-type]
    with pytest.raises(LedgerValueError, match="a record is a JSON object"):
        complete_tree([1, 2], bytes(32))  # type: ignore[arg-type]


@SETTINGS
@given(_records(PLAIN), MASTERS, st.data())
def test_partial_trees_hash_and_check_as_the_reference(
    record: dict[str, Any], master: bytes, data: st.DataObject
) -> None:
    tree, digest = complete_tree(record, master)
    if not record:
        return
    keys = sorted(record)
    shown = data.draw(st.lists(st.sampled_from(keys), min_size=1, unique=True))
    partial = disclose(tree, parse_field_paths(shown))
    expected = reference_digest(partial, check=True)
    assert expected == digest
    assert _fieldtree.tree_digest(partial, "", True) == expected
    assert checked_digest(partial) == node_digest(partial) == expected
    for member in partial.members:
        if isinstance(member, Hidden):
            continue
        key, child = member
        assert node_digest(child, key) == reference_digest(child, key)


@SETTINGS
@given(_records(PLAIN), MASTERS, st.data())
def test_a_changed_value_or_salt_is_named_as_the_reference_names_it(
    record: dict[str, Any], master: bytes, data: st.DataObject
) -> None:
    tree, _ = complete_tree(record, master)
    values = _value_paths(tree)
    if not values:
        return
    steps, path = data.draw(st.sampled_from(values))
    how = data.draw(st.sampled_from(["value", "salt"]))
    changed = _changed(tree, steps, how)
    with pytest.raises(FieldMismatch) as expected:
        reference_digest(changed, check=True)
    with pytest.raises(FieldMismatch) as compiled:
        checked_digest(changed)
    assert (compiled.value.path, compiled.value.computed, compiled.value.stated) == (
        expected.value.path,
        expected.value.computed,
        expected.value.stated,
    )
    assert compiled.value.path == path
    assert node_digest(changed) == reference_digest(changed)


def test_nodes_not_of_the_tree_classes_go_to_the_reference() -> None:
    tree, digest = complete_tree({"a": "x", "b": ["y"]}, bytes(32))
    odd = ObjectNode(tree.salt, (*tree.members, Hidden(b"short")))
    assert _fieldtree.tree_digest(odd, "", True) is None
    assert checked_digest(odd) == reference_digest(odd, check=True)
    listed = ObjectNode(tree.salt, [*tree.members])  # type: ignore[arg-type]
    assert _fieldtree.tree_digest(listed, "", False) is None
    assert node_digest(listed) == digest


Step = tuple[int, ...]


def _value_paths(node: Any, at: Step = (), path: str = "") -> list[tuple[Step, str]]:
    """(steps, field path) of every value of a complete tree, in pre-order."""
    if isinstance(node, ValueNode):
        return [(at, path)]
    found = []
    if isinstance(node, ObjectNode):
        for i, (key, child) in enumerate(node.members):
            found += _value_paths(child, (*at, i), f"{path}.{key}" if path else key)
    else:
        for i, child in enumerate(node.items):
            found += _value_paths(child, (*at, i), f"{path}[{i}]")
    return found


def _changed(node: Any, steps: Step, how: str) -> Any:
    if not steps:
        assert isinstance(node, ValueNode)
        if how == "salt":
            return ValueNode(bytes(b ^ 1 for b in node.salt), node.value, node.digest)
        other = "changed" if node.value != "changed" else "other"
        return ValueNode(node.salt, other, node.digest)
    first, rest = steps[0], steps[1:]
    if isinstance(node, ObjectNode):
        members = list(node.members)
        key, child = members[first]
        members[first] = (key, _changed(child, rest, how))
        return ObjectNode(node.salt, tuple(members))
    items = list(node.items)
    items[first] = _changed(items[first], rest, how)
    return type(node)(node.salt, tuple(items))


def _parsed(data: object) -> Any:
    """What the reference parse gives for ``data``: a node, or the error's message."""
    try:
        return reference_node_from_json(data)
    except LedgerValueError as exc:
        return str(exc)


#: Small changes to a tree's JSON: some keep it well formed, most do not.
def _mutations(draw: st.DrawFn, data: Any) -> Any:
    if isinstance(data, list):
        if data and draw(st.booleans()):
            i = draw(st.integers(0, len(data) - 1))
            return [*data[:i], _mutations(draw, data[i]), *data[i + 1 :]]
        return draw(st.sampled_from([data[::-1], [*data, *data[:1]], data[1:], [*data, 1]]))
    if not isinstance(data, dict):
        return draw(
            st.sampled_from(
                [
                    data,
                    data.upper() if isinstance(data, str) else data,
                    data[:-1] if isinstance(data, str) else data,
                    "0x" + "g" * 64,
                    1,
                    None,
                    [],
                    {"hidden": data},
                ]
            )
        )
    key = draw(st.sampled_from(sorted(data)))
    how = draw(st.sampled_from(["inner", "drop", "extra", "rename"]))
    changed = dict(data)
    if how == "inner":
        changed[key] = _mutations(draw, data[key])
    elif how == "drop":
        del changed[key]
    elif how == "extra":
        changed[draw(st.sampled_from(["key", "hidden", "salt", "value", "x"]))] = "0x" + "0" * 64
    else:
        changed[key + "s"] = changed.pop(key)
    return changed


@SETTINGS
@given(_records(PLAIN), MASTERS, st.data())
def test_a_tree_is_parsed_from_json_as_the_reference_parses_it(
    record: dict[str, Any], master: bytes, data: st.DataObject
) -> None:
    tree, _ = complete_tree(record, master)
    keys = sorted(record)
    shown = data.draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    if shown:
        tree = disclose(tree, parse_field_paths(shown))
    document = node_to_json(tree)
    assert _fieldtree.tree_from_json(document) == tree
    assert node_from_json(document) == tree
    changed = data.draw(st.composite(lambda draw: _mutations(draw, document))())
    expected = _parsed(changed)
    compiled = _fieldtree.tree_from_json(changed)
    assert compiled is None or compiled == expected
    try:
        assert node_from_json(changed) == expected
    except LedgerValueError as exc:
        assert str(exc) == expected


def test_a_tree_deeper_than_the_format_allows_is_refused_by_the_reference() -> None:
    master = bytes(32)
    deep: Any = "bottom"
    for _ in range(40):
        deep = [deep]
    document = node_to_json(build_tree({"top": deep}, master))
    assert _fieldtree.tree_from_json(document) is None
    with pytest.raises(LedgerValueError, match="nested deeper than 32 levels"):
        node_from_json(document)
