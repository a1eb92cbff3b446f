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
import hashlib
import hmac

from ledger_node.errors import LedgerValueError

SUBJECT_KINDS = ("taxpayer", "invoice")
#: Shortest consortium key accepted: a tag is only as hard to brute-force as the key.
MIN_KEY_SIZE = 32
_SEPARATOR = b"\x1f"
#: ``kind || 0x1f`` of each kind, the start of its tags' messages.
_PREFIXES = {kind: kind.encode() + _SEPARATOR for kind in SUBJECT_KINDS}


def subject_tag(consortium_key: bytes, kind: str, identifier: str) -> bytes:
    """The 32-byte tag of ``identifier`` of ``kind`` (``"taxpayer"`` or ``"invoice"``)."""
    return _tag(_keyed(_checked_key(consortium_key)), kind, identifier)


def _checked_key(consortium_key: bytes) -> bytes:
    if len(consortium_key) < MIN_KEY_SIZE:
        raise LedgerValueError(
            f"consortium key must be at least {MIN_KEY_SIZE} bytes, got {len(consortium_key)}"
        )
    return bytes(consortium_key)


def _tag(keyed: hmac.HMAC, kind: str, identifier: str) -> bytes:
    prefix = _PREFIXES.get(kind)
    if prefix is None:
        raise LedgerValueError(
            f"unknown subject kind {kind!r}; expected one of {', '.join(SUBJECT_KINDS)}"
        )
    if not identifier:
        raise LedgerValueError(f"empty {kind} identifier")
    mac = keyed.copy()
    mac.update(prefix + identifier.encode())
    return mac.digest()


@functools.lru_cache(maxsize=8)
def _keyed(consortium_key: bytes) -> hmac.HMAC:
    """The standard library's HMAC-SHA256 keyed once per key: a tag copies it rather than
    absorbing the key's pads again."""
    return hmac.new(consortium_key, digestmod=hashlib.sha256)


def record_subject_tags(
    consortium_key: bytes, subjects: tuple[tuple[str, str], ...]
) -> list[bytes]:
    """Tags of ``(kind, identifier)`` pairs, as :meth:`ValidatedRecord.subject_identifiers`
    lists them, in that order and without duplicates (a buyer may also be the seller)."""
    keyed = _keyed(_checked_key(consortium_key))  # once for the record, not per tag
    tags: list[bytes] = []
    for kind, identifier in subjects:
        tag = _tag(keyed, kind, identifier)
        if tag not in tags:
            tags.append(tag)
    return tags
