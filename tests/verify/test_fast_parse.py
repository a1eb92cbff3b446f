"""The fast bundle parse agrees with the checked one: it builds the same bundle from every
well-formed document and declines (so the checked parse gives its error) every other one."""

from __future__ import annotations

import random
import re
from typing import Any

import orjson
import pytest

from ledger_node.bundle import ProofBundle, _fast_from_dict
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
