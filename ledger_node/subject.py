"""Pseudonymous subject tags: find every attestation about a taxpayer or an invoice.

``tag = HMAC-SHA256(consortium_key, kind || 0x1f || identifier)``, 32 bytes. ``kind`` is one
of the fixed labels :data:`SUBJECT_KINDS`, none of which contains 0x1f (the ASCII unit
separator), so the message splits one way only and a taxpayer tag can never equal an invoice
tag for the same text. ``identifier`` is UTF-8 in the canonical spelling the record validation
enforces (upper-case USCC, 20-digit invoice number). Members holding the key can compute a
tag and look it up; the public cannot link tags to taxpayers.
"""

from __future__ import annotations

import functools

from ledger_node._fastpaths import hmac_sha256, hmac_sha256_key
from ledger_node.errors import LedgerValueError

SUBJECT_KINDS = ("taxpayer", "invoice")
#: Shortest consortium key accepted: a tag is only as hard to brute-force as the key.
MIN_KEY_SIZE = 32
_SEPARATOR = b"\x1f"
#: ``kind || 0x1f`` of each kind, the start of its tags' messages.
_PREFIXES = {kind: kind.encode() + _SEPARATOR for kind in SUBJECT_KINDS}


def subject_tag(consortium_key: bytes, kind: str, identifier: str) -> bytes:
    """The 32-byte tag of ``identifier`` of ``kind`` (``"taxpayer"`` or ``"invoice"``)."""
    return _tag(keyed(consortium_key), kind, identifier)


def _checked_key(consortium_key: bytes) -> bytes:
    if len(consortium_key) < MIN_KEY_SIZE:
        raise LedgerValueError(
            f"consortium key must be at least {MIN_KEY_SIZE} bytes, got {len(consortium_key)}"
        )
    return bytes(consortium_key)


def tag_prefix(kind: str) -> bytes:
    """``kind || 0x1f``, the start of the messages of ``kind``'s tags."""
    prefix = _PREFIXES.get(kind)
    if prefix is None:
        raise LedgerValueError(
            f"unknown subject kind {kind!r}; expected one of {', '.join(SUBJECT_KINDS)}"
        )
    return prefix


def _tag(keyed_key: bytes, kind: str, identifier: str) -> bytes:
    prefix = tag_prefix(kind)
    if not identifier:
        raise LedgerValueError(f"empty {kind} identifier")
    return hmac_sha256(keyed_key, prefix, identifier)


def keyed(key: bytes) -> bytes:
    """A key (checked) made ready for :func:`keyed_tag`: absorbed once, not per tag."""
    return _keyed(_checked_key(key))


@functools.lru_cache(maxsize=64)
def _keyed(key: bytes) -> bytes:
    # HMAC-SHA256 in C (``_fastpaths.hmac_sha256``): a tag's message is short, so the
    # standard library's per-call setup of a keyed object would cost more than the hashing
    # (tests/records/test_subject.py holds the two equal).
    return hmac_sha256_key(key)


def keyed_tag(keyed_key: bytes, prefix: bytes, identifier: str) -> bytes:
    """:func:`subject_tag` with a key from :func:`keyed` and the kind's :func:`tag_prefix`
    (``identifier`` must not be empty): the form for loops over many records."""
    return hmac_sha256(keyed_key, prefix, identifier)


def record_subject_tags(
    consortium_key: bytes, subjects: tuple[tuple[str, str], ...]
) -> list[bytes]:
    """Tags of ``(kind, identifier)`` pairs, as :meth:`ValidatedRecord.subject_identifiers`
    lists them, in that order and without duplicates (a buyer may also be the seller)."""
    keyed_key = keyed(consortium_key)  # once for the record, not per tag
    tags: list[bytes] = []
    for kind, identifier in subjects:
        tag = _tag(keyed_key, kind, identifier)
        if tag not in tags:
            tags.append(tag)
    return tags
