"""Canonical bytes of a JSON value per RFC 8785 (JSON Canonicalization Scheme), and its hash.

``rfc8785`` is the reference implementation and the fallback. It is pure Python, so values
for which orjson is provably byte-identical take a fast path: ``orjson.dumps`` with sorted
keys equals JCS exactly when the value holds only ``dict`` (ASCII ``str`` keys), ``list``,
``str``, ``int`` within ±(2^53−1), ``bool`` and ``None``, and every string is encodable as
UTF-8. Then both sort keys the same way (UTF-16 and UTF-8 orders agree on ASCII), escape
strings the same way (``"``, ``\\``, the short escapes and ``\\u00xx`` for other C0 controls;
everything else, U+2028 and emoji included, as raw UTF-8), and print integers the same way.
Floats (ECMAScript number formatting), big integers, non-ASCII keys and other types go
to ``rfc8785``. ``tests/records/test_canonical.py`` checks the equivalence with Hypothesis.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

from ledger_node.errors import LedgerValueError
from ledger_node.hashing import keccak256

# JCS numbers are IEEE doubles: integers beyond 2^53 − 1 have no exact JSON form.
_INT_LIMIT = 2**53 - 1


def _fast_path_safe(value: object) -> bool:
    """True if orjson's sorted output of ``value`` is its JCS form (see the module doc)."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return -_INT_LIMIT <= value <= _INT_LIMIT  # type: ignore[operator]
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or not key.isascii() or not _fast_path_safe(item):
                return False
        return True
    if kind is list:
        return all(_fast_path_safe(item) for item in value)  # type: ignore[attr-defined]
    return False


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of the JSON value ``value``.

    Raises :class:`~ledger_node.errors.LedgerValueError` if ``value`` has no JCS form
    (NaN, infinities, integers beyond 2^53 − 1, non-string keys, lone surrogates, other types).
    """
    if _fast_path_safe(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: let the reference implementation say what is wrong
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise LedgerValueError(f"value has no RFC 8785 canonical form: {exc}") from exc


def canonical_bytes_of_validated(record: dict[str, Any]) -> bytes:
    """:func:`canonical_bytes` of a record that passed schema validation, without the scan.

    Validation already proves what the scan checks: exact JSON types, field names from the
    schema (ASCII), small integers, and strings matched by patterns that exclude lone
    surrogates. orjson still refuses anything it cannot encode, and then the reference
    implementation decides.
    """
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return canonical_bytes(record)


def record_hash(record: Any) -> bytes:
    """``keccak256(canonical_bytes(record))``: the 32-byte hash a commitment binds."""
    return keccak256(canonical_bytes(record))
