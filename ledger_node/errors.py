"""The error hierarchy of taxledger.

Every error derives from :class:`Error`, and where a builtin fits it derives from that too
(``RecordValueError`` is a ``ValueError``), so callers may catch either.
"""

from __future__ import annotations


class Error(Exception):
    """Root of every taxledger error."""

    def diagnostics(self) -> str:
        """A human explanation of what went wrong and what to do about it."""
        return str(self)


class LedgerValueError(Error, ValueError):
    """An argument or a document is malformed."""


class ConfigurationError(Error, ValueError):
    """A setting, key or deployment file is missing or unusable."""


class UnknownSchemaError(LedgerValueError):
    """A record names a schema the ledger does not define."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        super().__init__(f"unknown schema {name!r}; expected one of {', '.join(known)}")


class RecordValidationError(LedgerValueError):
    """A record breaks its schema; carries every problem found, not just the first.

    ``problems`` is a tuple of ``(path, rule, message)``: the field path
    (``lines[2].tax``), a stable rule code (``tax_mismatch``) and a human message.
    """

    def __init__(self, schema: str, problems: tuple[tuple[str, str, str], ...]) -> None:
        self.schema = schema
        self.problems = problems
        lines = "; ".join(f"{path}: {rule}: {message}" for path, rule, message in problems)
        super().__init__(f"{schema} record invalid ({len(problems)} problem(s)): {lines}")

    def diagnostics(self) -> str:
        """One line per problem: field path, rule code, what is wrong."""
        rows = [f"record does not satisfy {self.schema}:"]
        rows.extend(f"  {path}: [{rule}] {message}" for path, rule, message in self.problems)
        return "\n".join(rows)


class ProofBundleError(LedgerValueError):
    """A proof bundle is malformed: a field is missing, mistyped or inconsistent."""
