"""The fast bundle parse agrees with the checked one: it builds the same bundle from every
well-formed document and declines (so the checked parse gives its error) every other one."""

from __future__ import annotations

import random
import re
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_node._fastpaths import hex_values as _hex_values
from ledger_node.bundle import _HEX, ProofBundle, _fast_from_dict
from ledger_node.errors import ProofBundleError

from .conftest import Ledger


def genuine(chain: Ledger) -> list[ProofBundle]:
    return [*chain.invoices, chain.rating, chain.expiring, chain.after_rotation]


def agree(document: Any) -> None:
    """The fast parse builds what the checked one builds, or declines where it fails."""
    fast = _fast_from_dict(document)
    try:
        checked = ProofBundle._checked_from_dict(document)
    except ProofBundleError as exc:
        assert fast is None, f"fast parse accepted what the checked one refuses: {exc}"
        with pytest.raises(ProofBundleError, match=rf"^{re.escape(str(exc))}$"):
            ProofBundle.from_dict(document)
        return
    if fast is not None:
        assert fast == checked
        assert fast.anchor == checked.anchor
        assert [type(getattr(fast, f)) for f in fast.__slots__] == [
            type(getattr(checked, f)) for f in checked.__slots__
        ]
    assert ProofBundle.from_dict(document) == checked


def test_fast_parse_builds_the_same_bundle(chain: Ledger) -> None:
    for bundle in genuine(chain):
        document = orjson.loads(bundle.to_json())
        fast = _fast_from_dict(document)
        assert fast is not None and fast == bundle == ProofBundle._checked_from_dict(document)
        assert fast.to_json() == bundle.to_json()


BAD_VALUES: list[object] = [
    None, True, False, 0, -1, 1, 2**256, 2**256 - 1, 1.5, "", "0x", "0X", "00",
    "0xAB", "0x 0", [], {}, ["0x00"], "0x" + "0" * 63, "0x" + "00" * 65, "é", "0x" + "g0" * 32,
]  # fmt: skip


def mutations(document: dict[str, Any]) -> list[Any]:
    out: list[Any] = [None, [], "x", {**document, "extra": 1}]
    for key in document:
        out.append({k: v for k, v in document.items() if k != key})
        for bad in BAD_VALUES:
            out.append({**document, key: bad})
    anchor = document["anchor"]
    for key in anchor:
        out.append({**document, "anchor": {k: v for k, v in anchor.items() if k != key}})
        for bad in [*BAD_VALUES, "batch", "single"]:
            out.append({**document, "anchor": {**anchor, key: bad}})
    for name in ("count", "nonce", "subject", "ref_uid", "expiration"):
        out.append({**document, "anchor": {**anchor, name: anchor.get(name, 1)}})
    for field in ("proof", "subjects"):
        for bad in BAD_VALUES:
            out.append({**document, field: [*document[field], bad]})
        out.append({**document, field: [document["salt"]] * 65})
        if document[field]:
            upper = document[field][0].upper().replace("0X", "0x")
            out.append({**document, field: [upper, *document[field][1:]]})
    out.append({**document, "root": document["commitment"]})
    out.append({**document, "proof": []})
    out.append({**document, "schema": "tax.rating/v1"})
    out.append({**document, "schema_id": document["salt"]})
    return out


def test_fast_parse_declines_every_malformed_document(chain: Ledger) -> None:
    for bundle in genuine(chain):
        for document in mutations(orjson.loads(bundle.to_json())):
            agree(document)


def test_fast_parse_agrees_on_random_edits(chain: Ledger) -> None:
    rng = random.Random(6)
    alphabet = '0123456789abcdefABCDEFxX" ,:[]{}-.\\é'
    for bundle in genuine(chain):
        text = orjson.dumps(bundle.to_dict()).decode()
        for _ in range(400):
            chars = list(text)
            for _ in range(rng.choice((1, 1, 2, 3))):
                at = rng.randrange(len(chars))
                edit = rng.randrange(3)
                if edit == 0:
                    chars[at] = rng.choice(alphabet)
                elif edit == 1:
                    del chars[at]
                else:
                    chars.insert(at, rng.choice(alphabet))
            try:
                document = orjson.loads("".join(chars))
            except orjson.JSONDecodeError:
                continue
            agree(document)


_HEXISH = st.text("0123456789abcdefABF xé\x00", max_size=8)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.one_of(_HEXISH, _HEXISH.map(lambda s: "0x" + s)), max_size=4),
    st.lists(st.integers(0, 4), min_size=4, max_size=4),
)
def test_hex_values_decodes_exactly_what_the_pattern_accepts(
    strings: list[str], sizes: list[int]
) -> None:
    wanted = tuple(sizes[: len(strings)])
    ok = all(
        _HEX.fullmatch(s) is not None and len(s) == 2 + 2 * n
        for s, n in zip(strings, wanted, strict=True)
    )
    expected = tuple(bytes.fromhex(s[2:]) for s in strings) if ok else None
    assert _hex_values(list(strings), wanted) == expected
    if strings:
        assert _hex_values([HexText(s) for s in strings], wanted) is None


class HexText(str):
    """A str subclass: the fast parse leaves it to the checked one."""


def test_hex_values_needs_one_size_per_string() -> None:
    assert _hex_values(["0x00"], (1,)) == (b"\0",)
    assert _hex_values(["0x00"], (1, 1)) is None
    assert _hex_values(["0x00", "0x00"], (1,)) is None
    with pytest.raises(TypeError):
        _hex_values(("0x00",), (1,))  # type: ignore[arg-type]
