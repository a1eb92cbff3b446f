"""Why a provider refuses an exchange request: one stable code per reason, with its status.

A refused request discloses nothing; the gateway counts refusals by code and logs them with
the requester's agency id and the code only (no subject, no identifier).
"""

from __future__ import annotations

from typing import Final

from ledger_node.errors import LedgerValueError

#: Every refusal code and the HTTP status it is answered with.
REFUSALS: Final = {
    "malformed_request": 400,
    "wrong_provider": 400,
    "deadline_passed": 400,
    "deadline_too_far": 400,
    "bad_signature": 401,
    "unknown_requester": 403,
    "requester_suspended": 403,
    "policy_denies": 403,
    "consent_missing": 403,
    "consent_expired": 403,
    "consent_revoked": 403,
    "consent_not_covering": 403,
    "unknown_subject": 404,
    "nonce_replayed": 409,
    "no_encryption_key": 409,
    "not_disclosable": 409,
    "request_too_large": 413,
}


class Refusal(LedgerValueError):
    """A request the provider will not answer: ``code`` is one of :data:`REFUSALS`."""

    def __init__(self, code: str, message: str) -> None:
        if code not in REFUSALS:
            raise ValueError(f"unknown refusal code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """The HTTP status of this refusal."""
        return REFUSALS[self.code]
