"""From a request item to an outbox row: envelope, schema gate, validation, commitment.

Nothing here signs or touches the chain; a refused item never gets past this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gateway.models import MAX_BULK, RecordCreate
from gateway.store import NewRecord
from ledger_node.agencies import AgencyKind
from ledger_node.commitment import commit_record
from ledger_node.errors import LedgerValueError, RecordValidationError
from ledger_node.records.schemas import SCHEMAS
from ledger_node.records.validation import validate
from ledger_node.subject import record_subject_tags

Problem = tuple[str, str, str]

# Pydantic's error types, in the rule vocabulary of ledger_node.records.validation.
_RULES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "literal_error": "unknown_schema",
    "string_type": "wrong_type",
    "dict_type": "not_object",
    "model_type": "not_object",
    "string_pattern_mismatch": "id_format",
    "string_too_short": "length",
    "string_too_long": "length",
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an item was refused, and the HTTP status a single POST answers with."""

    status: int
    code: str
    message: str
    problems: tuple[Problem, ...] = field(default=())

    def body(self) -> dict[str, Any]:
        """The ``error`` object of the response."""
        return {
            "code": self.code,
            "message": self.message,
            "problems": [{"path": p, "rule": r, "message": m} for p, r, m in self.problems],
        }


def join_path(prefix: str, loc: tuple[int | str, ...] | str) -> str:
    """A field path like ``records[3].record.lines[0].tax``."""
    parts = loc if isinstance(loc, tuple) else (loc,)
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out or "$"


def pydantic_problems(errors: list[ErrorDetails], prefix: str = "") -> tuple[Problem, ...]:
    """Pydantic errors as ``(path, rule, message)``."""
    return tuple(
        (join_path(prefix, tuple(e["loc"])), _RULES.get(e["type"], e["type"]), e["msg"])
        for e in errors
    )


def invalid_request(problems: tuple[Problem, ...]) -> Rejection:
    """A 422 for a request whose shape is wrong."""
    return Rejection(422, "invalid_request", "the request body does not match the API", problems)


def bulk_items(body: object) -> list[object] | Rejection:
    """The items of a bulk body ``{"records": [...]}``, or why it is not one."""
    if type(body) is not dict:
        return invalid_request((("$", "not_object", "expected a JSON object"),))
    problems: list[Problem] = [
        (str(key), "unknown_field", "field is not defined by the API")
        for key in body
        if key != "records"
    ]
    items = body.get("records")
    if items is None:
        problems.append(("records", "missing_field", "required field is missing"))
    elif type(items) is not list:
        problems.append(("records", "wrong_type", "expected an array of records"))
    elif len(items) > MAX_BULK:
        problems.append(
            ("records", "max_items", f"{len(items)} records; send at most {MAX_BULK} per request")
        )
    if problems or type(items) is not list:
        return invalid_request(tuple(problems))
    return items


class Ingestor:
    """Turns request items into outbox rows for one agency."""

    def __init__(self, agency: str, kind: AgencyKind, consortium_key: bytes) -> None:
        self.agency = agency
        self.kind = kind
        self._consortium_key = consortium_key

    def prepare(self, item: object, prefix: str, now: float) -> NewRecord | Rejection:
        """Check one ``{"schema", "id", "record"}`` item; ``prefix`` roots its field paths."""
        # (1) the envelope
        try:
            envelope = RecordCreate.model_validate(item)
        except ValidationError as exc:
            return invalid_request(pydantic_problems(exc.errors(), prefix))
        schema = SCHEMAS[envelope.schema_name]
        # (2) the schema gate: before anything is hashed, stored or signed
        if self.kind not in schema.attesters:
            allowed = ", ".join(sorted(k.label for k in schema.attesters))
            return Rejection(
                403,
                "schema_not_allowed",
                f"agency {self.agency} is a {self.kind.label}; {schema.name} records are "
                f"attested by: {allowed}. Send them through that agency's gateway",
                ((join_path(prefix, "schema"), "attester_kind", "schema not allowed"),),
            )
        # (3) the record's fields
        record_path = join_path(prefix, "record")
        try:
            committed = commit_record(validate(schema.name, envelope.record))
        except RecordValidationError as exc:
            return Rejection(
                422,
                "invalid_record",
                f"the record does not satisfy {schema.name}",
                tuple(
                    (record_path if path == "$" else join_path(record_path, path), rule, message)
                    for path, rule, message in exc.problems
                ),
            )
        except LedgerValueError as exc:
            return Rejection(
                422,
                "invalid_record",
                "the record has no canonical JSON form",
                ((record_path, "canonical_form", str(exc)),),
            )
        # (4) what the outbox keeps
        return NewRecord(
            envelope.id,
            schema.name,
            orjson.dumps(envelope.record),
            committed.record_hash,
            committed.salt,
            committed.commitment,
            committed.leaf,
            b"".join(
                record_subject_tags(self._consortium_key, committed.validated.subject_identifiers())
            ),
            now,
        )
