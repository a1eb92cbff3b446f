"""Subject tags: HMAC-SHA256 over kind || 0x1f || identifier, v1 with the consortium key and
per domain with a keyring's; the compiled HMAC against the standard library's."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_node import _fastpaths
from ledger_node.errors import LedgerValueError
from ledger_node.records import samples, validate
from ledger_node.records.schemas import SCHEMAS
from ledger_node.records.validation import ValidatedRecord
from ledger_node.subject import record_subject_tags as v1_record_tags
from ledger_node.subject import subject_tag
from ledger_node.tagging import (
    SCHEMA_TAG_DOMAINS,
    Keyring,
    MissingTagKeyError,
    SubjectTag,
    record_subject_tags,
)
from ledger_node.tagkeys import TAG_DOMAINS

KEY = bytes(range(32))

RecordFactory = Callable[[str], dict[str, Any]]


def test_tag_is_hmac_of_kind_separator_identifier() -> None:
    expected = hmac.new(KEY, b"taxpayer\x1f91310110666007217T", hashlib.sha256).digest()
    assert subject_tag(KEY, "taxpayer", "91310110666007217T") == expected
    assert len(expected) == 32


def test_kinds_and_keys_separate_tags() -> None:
    number = "26310000000000012345"
    assert subject_tag(KEY, "invoice", number) != subject_tag(KEY, "taxpayer", number)
    assert subject_tag(KEY, "invoice", number) != subject_tag(bytes(32), "invoice", number)


def test_bad_arguments() -> None:
    with pytest.raises(LedgerValueError, match="at least 32 bytes, got 16"):
        subject_tag(bytes(16), "taxpayer", "91310110666007217T")
    with pytest.raises(LedgerValueError, match="unknown subject kind 'bank'"):
        subject_tag(KEY, "bank", "x")
    with pytest.raises(LedgerValueError, match="empty invoice identifier"):
        subject_tag(KEY, "invoice", "")


def test_record_tags_follow_the_schema(make_record: RecordFactory) -> None:
    record = make_record("invoice.issued/v1")
    record["buyer"] = dict(record["seller"], id_type="uscc")  # a company invoicing itself
    validated = validate("invoice.issued/v1", record)
    tags = v1_record_tags(KEY, validated.subject_identifiers())
    assert tags == [
        subject_tag(KEY, "invoice", "26310000000000012345"),
        subject_tag(KEY, "taxpayer", "91310110666007217T"),
    ]


# -- the compiled HMAC against the standard library's ------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=200),
    kind=st.sampled_from(["taxpayer", "invoice"]),
    identifier=st.text(min_size=1, max_size=150),
)
def test_tags_are_the_standard_librarys_hmac(key: bytes, kind: str, identifier: str) -> None:
    # Keys beyond the 64-byte block are hashed first; messages beyond 55 bytes need a second
    # block: both sizes are drawn.
    message = kind.encode() + b"\x1f" + identifier.encode()
    assert subject_tag(key, kind, identifier) == hmac.digest(key, message, "sha256")


@settings(max_examples=200, deadline=None)
@given(key=st.binary(max_size=200), prefix=st.binary(max_size=130), text=st.text(max_size=130))
def test_compiled_hmac_of_any_key_and_message(key: bytes, prefix: bytes, text: str) -> None:
    expected = hmac.digest(key, prefix + text.encode(), "sha256")
    assert _fastpaths.hmac_sha256(_fastpaths.hmac_sha256_key(key), prefix, text) == expected


@pytest.mark.parametrize("size", [0, 1, 54, 55, 56, 63, 64, 65, 119, 120, 128, 1000])
def test_compiled_hmac_at_block_boundaries(size: int) -> None:
    # 55 bytes still fit the last block with the length, 56 do not (with 64 absorbed before).
    text = "7" * size
    keyed = _fastpaths.hmac_sha256_key(KEY)
    assert _fastpaths.hmac_sha256(keyed, b"", text) == hmac.digest(KEY, text.encode(), "sha256")


def test_compiled_hmac_refuses_what_is_not_its_arguments() -> None:
    keyed = _fastpaths.hmac_sha256_key(KEY)
    with pytest.raises(TypeError, match="keyed: bytes of 64"):
        _fastpaths.hmac_sha256(keyed[:32], b"", "x")
    with pytest.raises(TypeError, match="keyed: bytes of 64"):
        _fastpaths.hmac_sha256(keyed, b"", b"x")
    with pytest.raises(TypeError, match="hmac_sha256_key"):
        _fastpaths.hmac_sha256_key("key")
    with pytest.raises(UnicodeEncodeError):
        subject_tag(KEY, "taxpayer", "\ud800")  # a lone surrogate has no UTF-8, as in .encode()


# -- tags per domain: what a keyring makes of a record ------------------------------------------


def _reference_tags(keyring: Keyring, validated: ValidatedRecord) -> list[SubjectTag]:
    """The tags as the tagging rules define them, with the standard library's HMAC."""
    domains = SCHEMA_TAG_DOMAINS[validated.schema.name]
    tags: list[SubjectTag] = []
    for kind, identifier in validated.subject_identifiers():
        domain = domains.get(kind)
        if domain is None:
            continue
        version = max(keyring.keys[domain])
        message = kind.encode() + b"\x1f" + identifier.encode()
        tag = SubjectTag(
            domain, version, hmac.digest(keyring.keys[domain][version], message, "sha256")
        )
        if tag not in tags:
            tags.append(tag)
    return tags


# Two versions of each domain (the newest makes new tags), keys of more than one block too.
_KEYRING = Keyring(
    {
        domain: {1: bytes([n]) * 32, 2: bytes([n + 100]) * (40 + 30 * n)}
        for n, domain in enumerate(sorted(TAG_DOMAINS))
    }
)


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_record_tags_per_domain_of_every_schema(schema: str) -> None:
    for record in samples.generate(schema, 40, seed=3):
        validated = validate(schema, record)
        assert record_subject_tags(_KEYRING, validated) == _reference_tags(_KEYRING, validated)


def test_record_tags_per_domain_without_duplicates(make_record: RecordFactory) -> None:
    record = make_record("invoice.issued/v1")
    record["buyer"] = dict(record["seller"], id_type="uscc")  # a company invoicing itself
    validated = validate("invoice.issued/v1", record)
    tags = record_subject_tags(_KEYRING, validated)
    assert [t.domain for t in tags] == ["invoice", "taxpayer-invoices"]
    assert tags == _reference_tags(_KEYRING, validated)


def test_record_tags_need_the_domains_key(make_record: RecordFactory) -> None:
    validated = validate("invoice.issued/v1", make_record("invoice.issued/v1"))
    without = Keyring({d: v for d, v in _KEYRING.keys.items() if d != "invoice"})
    with pytest.raises(MissingTagKeyError, match="holds no key of tag domain 'invoice'"):
        record_subject_tags(without, validated)
