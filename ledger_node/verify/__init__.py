"""Verify proof bundles against the ledger: :class:`Verifier` runs the numbered checks and
raises :class:`VerificationFailure` naming the first that fails."""

from ledger_node.verify.errors import VerificationFailure
from ledger_node.verify.verifier import Verified, Verifier
from ledger_node.verify.view import Anchor, Attestation, ChainView, LedgerView, Revocation

__all__ = [
    "Anchor",
    "Attestation",
    "ChainView",
    "LedgerView",
    "Revocation",
    "VerificationFailure",
    "Verified",
    "Verifier",
]
