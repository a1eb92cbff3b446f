"""Records: the facts agencies attest, their schemas, identifiers and validation.

A record is a plain JSON object. :func:`validate` checks it against one of the
:data:`SCHEMAS` (each defined, with its rules, in its own module here) and returns a
:class:`ValidatedRecord`; :mod:`.samples` makes realistic ones.
"""

from ledger_node.records.schemas import SCHEMAS, Schema, SubjectField, get_schema, schema_by_id
from ledger_node.records.validation import ValidatedRecord, problems, validate

__all__ = [
    "SCHEMAS",
    "Schema",
    "SubjectField",
    "ValidatedRecord",
    "get_schema",
    "problems",
    "schema_by_id",
    "validate",
]
