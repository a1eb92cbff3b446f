"""The one error a verification raises: which numbered check failed, and why."""

from __future__ import annotations

from ledger_node.errors import Error


class VerificationFailure(Error, ValueError):
    """A proof bundle failed check ``check`` (see :class:`~ledger_node.verify.Verifier`).

    ``code`` is a stable, machine-readable name of the failure (``revoked``,
    ``commitment_mismatch``…); ``message`` says what failed, why, and what to do.
    """

    def __init__(self, check: int, code: str, message: str) -> None:
        super().__init__(f"({check}) {message}")
        self.check = check
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[VerificationFailure], tuple[int, str, str]]:
        # Picklable (across processes) although its arguments are not the message alone.
        return (type(self), (self.check, self.code, self.message))

    def diagnostics(self) -> str:
        return f"check ({self.check}) failed: {self.message}"
