"""Subject tags: HMAC-SHA256 over kind || 0x1f || identifier."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import pytest

from ledger_node.errors import LedgerValueError
from ledger_node.records import validate
from ledger_node.subject import record_subject_tags, subject_tag

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
    tags = record_subject_tags(KEY, validated.subject_identifiers())
    assert tags == [
        subject_tag(KEY, "invoice", "26310000000000012345"),
        subject_tag(KEY, "taxpayer", "91310110666007217T"),
    ]
