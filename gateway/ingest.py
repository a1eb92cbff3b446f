"""From a request item to an outbox row: envelope, schema gate, validation, commitment.

Nothing here signs or touches the chain; a refused item never gets past this module. It is
the whole per-record cost of intake, and the preparation workers (:mod:`gateway.worker`) run
it for bulk requests, so it imports neither FastAPI nor pydantic until a bad envelope needs
pydantic's error messages.

An outbox row is a plain tuple (:data:`Row`), the column order of ``INSERT INTO records``:
a bulk request of 10,000 records builds no other object per record, and its answer for an
accepted record is rendered here, as JSON bytes, once. A bulk body is split into its items'
texts first (their syntax checked in C, so each item is parsed once) and checked a chunk at a
time, each chunk committed as it comes: a request
never holds all its records parsed, nor all its rows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from gateway.limits import ID_PATTERN, MAX_BULK
from gateway.outbox.commit import CHUNK
from gateway.outbox.rows import (
    Receipt,
    Row,
    commitment_of,
    digests,
    leaf_of,
    record_hash_of,
)
from ledger_node._fastpaths import array_items
from ledger_node.agencies import AgencyKind
from ledger_node.commitment import SALT_SIZE, commit_record_v2
from ledger_node.errors import ConfigurationError, LedgerValueError, RecordValidationError
from ledger_node.records.schemas import SCHEMAS
from ledger_node.records.validation import validate
from ledger_node.tagging import SCHEMA_TAG_DOMAINS, Keyring, MissingTagKeyError, record_subject_tags

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

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
# The envelope pydantic would accept, checked without it (the fast path of every valid item).
_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))
_SCHEMA_IDS = {name: "0x" + schema.schema_id.hex() for name, schema in SCHEMAS.items()}
_SCHEMA_IDS_BYTES = {name: value.encode() for name, value in _SCHEMA_IDS.items()}


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


def parse_body(body: bytes) -> Any:
    """The JSON value of a request body, or a 400 :class:`Rejection` saying where it broke."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return Rejection(
            400,
            "malformed_json",
            "the request body is not valid JSON",
            (("$", "json_syntax", f"{exc.msg} at line {exc.lineno} column {exc.colno}"),),
        )


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


def receipt_body(receipt: Receipt) -> dict[str, Any]:
    """The JSON of a :class:`~gateway.models.RecordReceipt`."""
    return {
        "id": receipt.id,
        "schema": receipt.schema,
        "schema_id": _SCHEMA_IDS[receipt.schema],
        "status": receipt.status,
        "record_hash": "0x" + receipt.record_hash.hex(),
        "commitment": "0x" + receipt.commitment.hex(),
        "leaf": "0x" + receipt.leaf.hex(),
        "accepted_at": receipt.accepted_at,
    }


def receipt_of_row(row: Row) -> Receipt:
    """The receipt of a row just accepted."""
    record_id, schema, _, blob, accepted_at = row
    return Receipt(
        record_id,
        schema,
        record_hash_of(blob),
        commitment_of(blob),
        leaf_of(blob),
        accepted_at,
        "accepted",
    )


# The 202 result of a bulk item, rendered by formatting: the same JSON as
# ``{"index", "id", "status": 202, "receipt": receipt_body(...)}`` through orjson (a test
# holds them equal), at a fraction of the cost, for up to 10,000 items a request. Ids match
# ID_PATTERN and schema names are the registry's, so neither needs JSON escaping.
_ACCEPTED_ITEM = (
    b'{"index":%d,"id":"%s","status":202,"receipt":{"id":"%s","schema":"%s","schema_id":"%s",'
    b'"status":"accepted","record_hash":"0x%s","commitment":"0x%s","leaf":"0x%s",'
    b'"accepted_at":%s}}'
)


def accepted_item(index: int, row: Row, accepted_at: bytes) -> bytes:
    """Bulk item ``index``'s answer for ``row`` accepted as new; ``accepted_at`` is the row's
    time as orjson writes it."""
    record_id, schema, _, blob, _ = row
    rid = record_id.encode()
    return _ACCEPTED_ITEM % (
        index,
        rid,
        rid,
        schema.encode(),
        _SCHEMA_IDS_BYTES[schema],
        blob[:32].hex().encode(),
        blob[64:96].hex().encode(),
        blob[96:128].hex().encode(),
        accepted_at,
    )


def _exact(data: bytes) -> bytes:
    """A copy of ``data`` in a block of its own size: orjson's output keeps the 4 KiB buffer
    it was written in, and a bulk request holds thousands of them until it is answered."""
    return bytes(memoryview(data))


# A bulk body as clients send it, ``{"records": [...]}``, with JSON's whitespace anywhere.
_BLANK = rb"[ \t\n\r]*"
_BULK_HEAD = re.compile(_BLANK + rb"\{" + _BLANK + rb'"records"' + _BLANK + rb":" + _BLANK)
_BULK_TAIL = re.compile(_BLANK + rb"\}" + _BLANK)


def _item_texts(body: bytes) -> list[memoryview] | None:
    """The JSON text of each item of a bulk body ``{"records": [...]}``, each checked to
    parse (by ``array_items``' grammar, which accepts nothing orjson refuses, so no item is
    parsed twice); None for a body of any other shape, with any syntax error, or that the
    grammar leaves to orjson (the whole body's parse then decides, as for any other body)."""
    head = _BULK_HEAD.match(body)
    if head is None:
        return None
    offsets = array_items(body, head.end())
    if offsets is None or _BULK_TAIL.fullmatch(body, offsets[-1]) is None:
        return None
    view = memoryview(body)
    return [view[offsets[k] : offsets[k + 1]] for k in range(0, len(offsets) - 1, 2)]


@dataclass(frozen=True, slots=True)
class BulkItems:
    """The items of a bulk request: their JSON texts, parsed one at a time as they are checked
    (parsing a 10,000-record body at once takes about sixteen times its size in memory), or
    their values when the body was parsed whole."""

    items: list[Any]
    texts: bool

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class BulkChunk:
    """Items ``start, start + 1, ...`` of a bulk request of ``total`` items, checked and ready
    for the outbox (and cheap to pickle).

    ``parts[i]`` is item ``start + i``'s answer as JSON bytes: its refusal, or its ``202``
    result if the outbox takes ``rows[k]`` (``positions[k] == start + i``) as new; only
    duplicates and conflicts, which the outbox finds, are answered otherwise.
    """

    start: int
    total: int
    rows: list[Row]
    positions: list[int]
    parts: list[bytes]
    refused: dict[int, int]  # refusals by HTTP status

    @property
    def end(self) -> int:
        """The index after this chunk's last item."""
        return self.start + len(self.parts)


class Ingestor:
    """Turns request items into outbox rows for one agency."""

    def __init__(self, agency: str, kind: AgencyKind, keyring: Keyring) -> None:
        self.agency = agency
        self.kind = kind
        self.keyring = keyring
        # Every domain this agency tags records in must be in its keyring: checked once here,
        # so that a record is never refused for what is the gateway's configuration.
        for schema in SCHEMAS.values():
            if kind in schema.attesters:
                for domain in SCHEMA_TAG_DOMAINS[schema.name].values():
                    try:
                        keyring.current(domain)
                    except MissingTagKeyError as exc:
                        raise ConfigurationError(
                            f"agency {agency} attests {schema.name}, whose subjects are tagged "
                            f"in domain {domain}: {exc}"
                        ) from None

    def _envelope(self, item: object, prefix: str) -> tuple[str, str, dict[str, Any]] | Rejection:
        """``(schema, id, record)`` of a ``{"schema", "id", "record"}`` item."""
        if type(item) is dict and len(item) == 3:
            schema_name = item.get("schema")
            record_id = item.get("id")
            record = item.get("record")
            if (
                type(schema_name) is str
                and schema_name in SCHEMAS
                and type(record_id) is str
                and _ID.fullmatch(record_id) is not None
                and type(record) is dict
            ):
                return schema_name, record_id, record
        # Something is wrong: pydantic names it, exactly as the API documents.
        from pydantic import ValidationError

        from gateway.models import RecordCreate

        try:
            envelope = RecordCreate.model_validate(item)
        except ValidationError as exc:
            return invalid_request(pydantic_problems(exc.errors(), prefix))
        return envelope.schema_name, envelope.id, envelope.record

    def prepare(
        self, item: object, index: int | None, now: float, salt: bytes | None = None
    ) -> Row | Rejection:
        """Check one ``{"schema", "id", "record"}`` item (``index``: its place in a bulk
        request, which roots its field paths); ``salt``: a fresh one if not given."""
        # (1) the envelope
        envelope = self._envelope(item, _prefix(index))
        if type(envelope) is Rejection:
            return envelope
        schema_name, record_id, record = envelope  # type: ignore[misc]
        schema = SCHEMAS[schema_name]
        # (2) the schema gate: before anything is hashed, stored or signed
        if self.kind not in schema.attesters:
            allowed = ", ".join(sorted(k.label for k in schema.attesters))
            return Rejection(
                403,
                "schema_not_allowed",
                f"agency {self.agency} is a {self.kind.label}; {schema.name} records are "
                f"attested by: {allowed}. Send them through that agency's gateway",
                ((join_path(_prefix(index), "schema"), "attester_kind", "schema not allowed"),),
            )
        # (3) the record's fields, committed one by one with its subject tags (proof v2)
        try:
            validated = validate(schema_name, record)
            tags = record_subject_tags(self.keyring, validated)
            committed = commit_record_v2(validated, tags, salt)
        except RecordValidationError as exc:
            record_path = join_path(_prefix(index), "record")
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
                ((join_path(_prefix(index), "record"), "canonical_form", str(exc)),),
            )
        # (4) what the outbox keeps: the master salt, the tags' values (their domains follow
        # from the schema, their versions from the keyring that made them)
        return (
            record_id,
            schema_name,
            _exact(orjson.dumps(record)),
            digests(
                committed.record_hash,
                committed.salt,
                committed.commitment,
                committed.leaf,
                b"".join(t.tag for t in tags),
            ),
            now,
        )

    def bulk(self, body: bytes) -> BulkItems | Rejection:
        """The items of a ``POST /v1/records:bulk`` body, or why it is not one."""
        texts = _item_texts(body)
        if texts is not None:
            checked = bulk_items({"records": texts})  # the number of items
            return checked if type(checked) is Rejection else BulkItems(texts, texts=True)
        parsed = parse_body(body)
        if type(parsed) is Rejection:
            return parsed
        items = bulk_items(parsed)
        if type(items) is Rejection:
            return items
        return BulkItems(items, texts=False)  # type: ignore[arg-type]

    def chunks(self, bulk: BulkItems, now: float, start: int = 0) -> Iterator[BulkChunk]:
        """Check the items from ``start`` on, :data:`CHUNK` at a time (at least one chunk,
        empty for an empty request)."""
        items = bulk.items
        total = len(items)
        dumps = orjson.dumps
        loads = orjson.loads
        accepted_at = dumps(now)
        for first in range(start, max(total, start + 1), CHUNK):
            last = min(first + CHUNK, total)
            rows: list[Row] = []
            positions: list[int] = []
            parts: list[bytes] = []
            refused: dict[int, int] = {}
            # One draw of randomness for every salt of the chunk, not a system call each.
            salts = os.urandom(SALT_SIZE * (last - first))
            for index in range(first, last):
                item = loads(items[index]) if bulk.texts else items[index]
                items[index] = None  # checked items go as rows come
                offset = (index - first) * SALT_SIZE
                prepared = self.prepare(item, index, now, salts[offset : offset + SALT_SIZE])
                if type(prepared) is Rejection:
                    item_id = item.get("id") if type(item) is dict else None
                    refused[prepared.status] = refused.get(prepared.status, 0) + 1
                    parts.append(
                        dumps(
                            {
                                "index": index,
                                "id": item_id if type(item_id) is str else None,
                                "status": prepared.status,
                                "error": prepared.body(),
                            }
                        )
                    )
                else:
                    row: Row = prepared  # type: ignore[assignment]
                    rows.append(row)
                    positions.append(index)
                    parts.append(accepted_item(index, row, accepted_at))
            yield BulkChunk(first, total, rows, positions, parts, refused)


def _prefix(index: int | None) -> str:
    """The field path of bulk item ``index`` (the body's root for a single record)."""
    return "" if index is None else f"records[{index}]"
