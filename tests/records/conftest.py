"""Factories for records layer tests: valid records from tests/assets, copied per use."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ASSETS = Path(__file__).resolve().parent.parent / "assets"
_VALID: dict[str, dict[str, Any]] = json.loads(
    (ASSETS / "records" / "valid_records.json").read_text(encoding="utf-8")
)

RecordFactory = Callable[[str], dict[str, Any]]


def valid_record(key: str) -> dict[str, Any]:
    """A fresh copy of the valid record ``key`` (a schema name, or ``name#variant``)."""
    return copy.deepcopy(_VALID[key])


@pytest.fixture
def make_record() -> RecordFactory:
    """Factory fixture: ``make_record("invoice.issued/v1")`` -> a fresh valid record."""
    return valid_record
