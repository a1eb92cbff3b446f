"""Validating a record: look up its schema and let the schema's module decide.

:func:`validate` reports every problem of a record at once, each as ``(path, rule, message)``
with a JSON-ish path (``lines[2].tax``) and a stable rule code (docs/record-schemas.md lists
them all). Each schema's module holds a full, error-collecting check and a fast predicate
that answers "certainly valid?" as cheaply as possible; the predicate runs first, and when it
says no the full check runs and says exactly what is wrong. A predicate may refuse a valid
record (that only costs time) but must never accept an invalid one;
``tests/records/test_fastpath.py`` holds every predicate to that contract.

Time rules compare a record with the moment it is accepted (:mod:`.clock`): now, unless the
caller gives another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger_node.errors import RecordValidationError
from ledger_node.records import clock
from ledger_node.records.clock import Moment
from ledger_node.records.fields import Problem
from ledger_node.records.schemas import SCHEMAS, Schema, get_schema


@dataclass(frozen=True, slots=True)
class ValidatedRecord:
    """A record that satisfies its schema, with the schema it was checked against.

    ``record`` is the caller's dict, unchanged: validation never rewrites a record, so its
    canonical bytes are the ones the agency meant (:mod:`ledger_node.commitment` hashes them).
    """

    schema: Schema
    record: dict[str, Any]

    def subject_identifiers(self) -> tuple[tuple[str, str], ...]:
        """``(kind, identifier)`` for every identifier the schema tags."""
        return self.schema.subject_identifiers(self.record)


# Frozen dataclasses set each field through object.__setattr__; the slot descriptors are
# twice as fast on the hot path of validate().
_new_object = object.__new__
_set_schema = vars(ValidatedRecord)["schema"].__set__
_set_record = vars(ValidatedRecord)["record"].__set__
_now = clock.now
_schemas = SCHEMAS


def validate(schema_name: str, record: object, moment: Moment | None = None) -> ValidatedRecord:
    """Check ``record`` against the schema ``schema_name``, as accepted at ``moment`` (now if
    None).

    Raises :class:`~ledger_node.errors.UnknownSchemaError` for an unknown schema and
    :class:`~ledger_node.errors.RecordValidationError` listing every problem found.
    """
    # The registry's dict directly: one call less on the hot path; get_schema says why not.
    schema = _schemas.get(schema_name) or get_schema(schema_name)
    at = _now() if moment is None else moment
    if schema.fast(record, at):
        validated = _new_object(ValidatedRecord)
        _set_schema(validated, schema)
        _set_record(validated, record)
        return validated
    out: list[Problem] = []
    schema.check(record, out, at)
    if out:
        raise RecordValidationError(schema_name, tuple(out))
    assert isinstance(record, dict)
    return ValidatedRecord(schema, record)


def problems(schema_name: str, record: object, moment: Moment | None = None) -> tuple[Problem, ...]:
    """Every problem of ``record`` under ``schema_name``; empty if it is valid."""
    schema = get_schema(schema_name)
    at = _now() if moment is None else moment
    if schema.fast(record, at):
        return ()
    out: list[Problem] = []
    schema.check(record, out, at)
    return tuple(out)
