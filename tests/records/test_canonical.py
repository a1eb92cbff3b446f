"""RFC 8785 canonical bytes: the orjson fast path equals the reference byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_node.canonical import (
    _fast_path_safe,
    canonical_bytes,
    canonical_bytes_of_validated,
    record_hash,
)
from ledger_node.commitment import validated_record_hash
from ledger_node.errors import LedgerValueError
from ledger_node.hashing import keccak256
from ledger_node.records import validate
from ledger_node.records.samples import generate
from ledger_node.records.schemas import SCHEMAS

TRICKY = [
    "",
    '"',
    "\\",
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1f",
    "\x7f\x80\x9f",
    "\u2028\u2029",
    "😀👨‍👩‍👧",
    "*信息技术服务*软件开发服务",
    "</script>",
    "\ufeff\uffff",
    "é",
]
strings = st.one_of(st.sampled_from(TRICKY), st.text())
ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=8)
keys = st.one_of(ascii_keys, st.text(max_size=4))
safe_ints = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | safe_ints
    | strings
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=800, deadline=None)
@given(json_values)
def test_canonical_bytes_equal_the_reference(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=500, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | safe_ints | strings,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(ascii_keys, children, max_size=5)
        ),
        max_leaves=30,
    )
)
def test_fast_path_is_taken_and_exact(value: Any) -> None:
    assert _fast_path_safe(value)
    assert canonical_bytes(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_validated_records_take_the_fast_path_exactly(name: str) -> None:
    for record in generate(name, 50, 11):
        validated = validate(name, record)
        assert _fast_path_safe(record)
        assert canonical_bytes_of_validated(validated.record) == rfc8785.dumps(record)
        assert validated_record_hash(validated) == record_hash(record)


def test_unsafe_values_fall_back_to_the_reference() -> None:
    for value in ({"é": 1, "e": 2}, [1.5, 1e21, -0.0], ("a", "b")):
        assert not _fast_path_safe(value)
        assert canonical_bytes(value) == rfc8785.dumps(value)
    # UTF-16 key order differs from code point order above the BMP.
    value = {"\ufb01": 1, "\U0001f600": 2}
    assert canonical_bytes(value) == rfc8785.dumps(value)


def test_values_without_a_canonical_form_are_refused() -> None:
    for value in ({"n": 2**53}, {"x": float("nan")}, {1: "a"}, {"s": "\ud800"}, {"o": object()}):
        with pytest.raises(LedgerValueError, match="no RFC 8785 canonical form"):
            canonical_bytes(value)


def test_known_answer() -> None:
    value = {"b": [1, True, None], "a": "税", "c": {"z": "\u2028", "y": 0}}
    expected = '{"a":"税","b":[1,true,null],"c":{"y":0,"z":"\u2028"}}'.encode()
    assert canonical_bytes(value) == expected
    assert record_hash(value) == keccak256(expected)
