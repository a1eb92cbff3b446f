"""Bulk intake: a body split into its items' texts and checked a chunk at a time answers
exactly as the whole body parsed at once would, for any body."""

from __future__ import annotations

import json
import os
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ingest import BulkChunk, BulkItems, Ingestor, Rejection, bulk_items, parse_body
from gateway.outbox.commit import CHUNK
from ledger_node._fastpaths import array_items
from ledger_node.agencies import AgencyKind
from ledger_node.records import samples
from ledger_node.tagging import Keyring
from ledger_node.tagkeys import DEFAULT_TAG_DOMAINS

INVOICE = "invoice.issued/v1"
KEYRING = Keyring.of({d.name: os.urandom(32) for d in DEFAULT_TAG_DOMAINS})
INGESTOR = Ingestor("tax-bureau", AgencyKind.TAX_BUREAU, KEYRING)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)
# Strings with what a splitter might trip on: brackets, commas, quotes and backslashes.
tricky_text = st.text(alphabet='[]{},:"\\ \n\tab', max_size=10)
tricky_values = st.recursive(
    tricky_text | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=8,
)


def render(value: object, indent: int | None, compact: bool) -> bytes:
    separators = (",", ":") if compact else (" , ", " : ")
    return json.dumps(value, indent=indent, separators=separators, ensure_ascii=False).encode()


def items_of(data: bytes, start: int = 0) -> list[Any] | None:
    offsets = array_items(data, start)
    if offsets is None:
        return None
    return [orjson.loads(data[offsets[k] : offsets[k + 1]]) for k in range(0, len(offsets) - 1, 2)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(json_values | tricky_values, max_size=6),
    st.sampled_from([None, 0, 2]),
    st.booleans(),
)
def test_array_items_finds_the_items_a_parser_finds(
    values: list[object], indent: int | None, compact: bool
) -> None:
    data = render(values, indent, compact)
    offsets = array_items(data, 0)
    assert offsets is not None and offsets[-1] == len(data)
    assert items_of(data) == orjson.loads(data)


# Text where a JSON grammar is strict: escapes, surrogates, UTF-8, numbers, literals.
_GRAMMAR_PIECES = [
    b'"', b"\\", b"\\u", b"\\ud800", b"\\udc00", b"\\uDBFF\\uDFFF", b"\\u00e9", b"\\x",
    b"\x00", b"\x1f", b"\x7f", b"\xc0\x80", b"\xc3\xa9", b"\xe0\x80\x80", b"\xed\xa0\x80",
    b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x90\x80\x80", b"\xff", b"\xe4\xb8",
    b"0", b"01", b"-", b"-0", b".", b"1.", b".5", b"e", b"E+", b"e-9999", b"e308", b"e309",
    b"9" * 309, b"1" * 20, b"true", b"tru", b"null", b"nul", b"false", b"NaN", b"Infinity",
    b"[", b"]", b"{", b"}", b",", b":", b" ", b"\n", b"\x0b", b"\xa0",
]  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(json_values | tricky_values | st.floats() | st.text(), max_size=4),
    st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(_GRAMMAR_PIECES)), max_size=4),
)
def test_array_items_accepts_nothing_a_parser_refuses(
    values: list[object], insertions: list[tuple[int, bytes]]
) -> None:
    """Whatever is inserted into a valid array: an array the grammar accepts parses, to
    exactly its items (what follows it is the caller's to check)."""
    text = render(values, None, True) if all(v == v for v in values) else b"[]"
    for at, piece in insertions:
        at %= len(text) + 1
        text = text[:at] + piece + text[at:]
    offsets = array_items(text, 0)
    if offsets is not None:
        assert orjson.loads(text[: offsets[-1]]) == items_of(text)


@pytest.mark.parametrize(
    "item",
    [
        b'"\\ud800"', b'"\\udc00"', b'"\\ud800\\u0041"', b'"\\u12"', b'"\\q"', b'"\x01"',
        b'"\xc0\x80"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'"\xff"', b'"\xe4\xb8"',
        b"01", b"-01", b"1.", b".5", b"1e", b"-", b"+1", b"1e400", b"9" * 309, b"NaN",
        b"tru", b"nul", b'{"a"}', b'{"a":}', b"{1:2}", b"[1 2]", b"[1,]", b'"open',
        b"[" * 65 + b"]" * 65,
    ],
)  # fmt: skip
def test_array_items_refuses_text_a_parser_refuses_or_might(item: bytes) -> None:
    assert array_items(b"[" + item + b"]", 0) is None


@pytest.mark.parametrize(
    "item",
    [
        b'"\\ud800\\udc00"', b'"\\u00E9\\/\\b\\f\\n\\r\\t"', b'"\x7f\xf4\x8f\xbf\xbf"',
        b"-0", b"0.5e-9999"[:6], b"1.5E+3", b"1e05", b"9" * 308, b"1" * 300 + b"e8", b"1e-400",
        b'{ "a" : [ true , false , null ] }', b"[" * 64 + b"]" * 64,
    ],
)  # fmt: skip
def test_array_items_accepts_what_a_parser_parses(item: bytes) -> None:
    assert items_of(b"[ " + item + b" ]") == [orjson.loads(item)]


@settings(max_examples=500, deadline=None)
@given(st.lists(tricky_values, min_size=1, max_size=4), st.data())
def test_a_body_that_splits_and_parses_item_by_item_is_that_json(
    values: list[object], data: st.DataObject
) -> None:
    """Whatever bytes are cut, inserted or changed: if the split and every item parse, the
    whole body parses to the same values (and if the whole body does not, the split fails)."""
    text = bytearray(render({"records": values}, None, data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text) - 1))
        action = data.draw(st.sampled_from(["cut", "insert", "change"]))
        char = data.draw(st.sampled_from(list(b'[]{},:"\\ x0')))
        if action == "cut":
            del text[at]
        elif action == "insert":
            text.insert(at, char)
        else:
            text[at] = char
    body = bytes(text)
    split = INGESTOR.bulk(body)
    try:
        whole = orjson.loads(body)
    except orjson.JSONDecodeError:
        assert type(split) is Rejection and split.code == "malformed_json"
        return
    if type(split) is Rejection:
        assert split.code != "malformed_json"
        return
    assert isinstance(split, BulkItems)
    parsed = [orjson.loads(t) for t in split.items] if split.texts else split.items
    assert {"records": parsed} == whole


@pytest.mark.parametrize(
    "body",
    [
        b"[1,]",
        b'{"records":[1,]}',
        b'{"records":[{"a":1},,{"b":2}]}',
        b'{"records":[{"a":"x}]}',
        b'{"records":[{"a":1}] x}',
        b'{"records":[{"a":1}]',
        b'{"records" : [ ] , }',
        b'\n{ "records":\t[{"a":[1,2}] }',
    ],
)
def test_malformed_bodies_are_refused_as_by_the_whole_parse(body: bytes) -> None:
    expected = parse_body(body)
    assert type(expected) is Rejection
    assert INGESTOR.bulk(body) == expected


def test_other_shapes_are_refused_as_by_the_whole_parse() -> None:
    for body in (b"[]", b'{"records":[],"more":1}', b'{"records":{}}', b'{"record":[]}'):
        expected = bulk_items(orjson.loads(body))
        assert type(expected) is Rejection
        assert INGESTOR.bulk(body) == expected
    many = b'{"records":[' + b",".join([b"{}"] * 10_001) + b"]}"
    refused = INGESTOR.bulk(many)
    assert type(refused) is Rejection and refused.problems[0][1] == "max_items"


def body_of(items: list[dict[str, Any]], indent: int | None = None) -> bytes:
    return json.dumps({"records": items}, indent=indent, ensure_ascii=False).encode()


def chunks_of(body: bytes, start: int = 0) -> list[BulkChunk]:
    bulk = INGESTOR.bulk(body)
    assert isinstance(bulk, BulkItems)
    return list(INGESTOR.chunks(bulk, 1.0, start))


def test_a_bulk_body_is_checked_in_chunks_whatever_its_layout() -> None:
    records = samples.generate(INVOICE, CHUNK + 5, seed=7)
    items: list[dict[str, Any]] = [
        {"schema": INVOICE, "id": f"c-{i}", "record": r} for i, r in enumerate(records)
    ]
    items[3]["record"] = {**items[3]["record"], "total": "0.01"}
    items[CHUNK + 1] = {"schema": INVOICE}
    compact = chunks_of(body_of(items))
    pretty = chunks_of(body_of(items, indent=2))
    # Parsed whole (a body of another layout than the split expects, here a duplicate key):
    whole = chunks_of(b'{"records":[], ' + body_of(items)[1:])
    for chunks in (compact, pretty, whole):
        assert [(c.start, c.end, c.total) for c in chunks] == [
            (0, CHUNK, CHUNK + 5),
            (CHUNK, CHUNK + 5, CHUNK + 5),
        ]
        assert [c.refused for c in chunks] == [{422: 1}, {422: 1}]
        assert [len(c.rows) for c in chunks] == [CHUNK - 1, 4]
        assert chunks[0].positions[:4] == [0, 1, 2, 4]
        assert chunks[1].positions == [CHUNK, CHUNK + 2, CHUNK + 3, CHUNK + 4]
        parts = [orjson.loads(p) for c in chunks for p in c.parts]
        assert [p["index"] for p in parts] == list(range(CHUNK + 5))
        assert parts[3]["error"]["problems"][0]["path"].startswith("records[3].record")
        assert parts[CHUNK + 1]["error"]["code"] == "invalid_request"
    # The same items, the same records stored (v2 record hashes are salted: fresh each time).
    assert [r[2] for r in compact[0].rows] == [r[2] for r in pretty[0].rows]
    # From a later item on, as after a worker that died: the chunks of the rest.
    rest = chunks_of(body_of(items), start=CHUNK)
    assert [(c.start, c.end) for c in rest] == [(CHUNK, CHUNK + 5)]
    assert rest[0].positions == compact[1].positions


def test_an_empty_bulk_is_one_empty_chunk() -> None:
    (chunk,) = chunks_of(b'{"records": []}')
    assert (chunk.start, chunk.end, chunk.total, chunk.rows) == (0, 0, 0, [])
