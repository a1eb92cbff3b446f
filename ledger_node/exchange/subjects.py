"""The subject tag an exchange request names: one call site for both sides of the exchange,
so the tagging scheme can change in one place."""

from __future__ import annotations

from ledger_node.subject import subject_tag


def subject_tag_of(consortium_key: bytes, kind: str, identifier: str) -> bytes:
    """The tag of ``identifier`` of ``kind`` (``"taxpayer"`` or ``"invoice"``), as the
    provider's facts carry it."""
    return subject_tag(consortium_key, kind, identifier)
