"""The record schemas of the ledger: names, ids, who may attest them, what they tag, and
the module that checks them.

A schema's id is ``keccak256(name)``: the name carries its version (``invoice.issued/v1``),
so a new version is a new id and old attestations keep their meaning. Each schema's rules
live in its own module (:mod:`.invoice`, :mod:`.payment`, …) as a full, error-collecting
check and a fast "certainly valid?" predicate side by side; :mod:`.validation` dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger_node.agencies import AgencyKind, kind_mask
from ledger_node.errors import UnknownSchemaError
from ledger_node.hashing import keccak256
from ledger_node.records import (
    bank_decision,
    consent,
    declaration,
    disclosure,
    invoice,
    payment,
    rating,
    registration,
    tax_status,
)
from ledger_node.records.clock import Moment
from ledger_node.records.fields import Out

INVOICE_ISSUED = invoice.V1
INVOICE_ISSUED_V2 = invoice.V2
PAYMENT_SETTLED = payment.V1
PAYMENT_SETTLED_V2 = payment.V2
REGISTRATION_STATUS = registration.V1
TAX_RATING = rating.V1
BANK_DECISION = bank_decision.V1
BANK_DECISION_V2 = bank_decision.V2
TAX_STATUS = tax_status.V1
TAX_DECLARATION = declaration.V1
CONSENT_GRANTED = consent.V1
DISCLOSURE_MADE = disclosure.V1

#: Schemas whose records are invoices, and payments, in any version.
INVOICE_SCHEMAS = frozenset({INVOICE_ISSUED, INVOICE_ISSUED_V2})
PAYMENT_SCHEMAS = frozenset({PAYMENT_SETTLED, PAYMENT_SETTLED_V2})

#: ``check(record, out, moment)`` appends every problem; ``fast(record, moment)`` is True
#: only for a record the check certainly accepts.
Check = Callable[[object, Out, Moment], None]
Fast = Callable[[object, Moment], bool]


@dataclass(frozen=True, slots=True)
class SubjectField:
    """One identifier of a record that gets a pseudonymous subject tag.

    ``kind`` is the tag kind (``"taxpayer"`` or ``"invoice"``), ``path`` the dotted field path
    of the identifier inside the record (``"seller.tax_id"``); ``name[]`` steps into every
    item of a list (``"settles[].invoice_number"``). An absent optional identifier (a buyer
    who gave no ID) has no tag.
    """

    kind: str
    path: str
    #: The path's steps, ``(key, into every item)``, split once: every record walks them.
    _steps: tuple[tuple[str, bool], ...] = field(init=False, repr=False, compare=False)
    #: The keys of a path that steps into no list (it names one value at most), else None.
    _keys: tuple[str, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        steps = tuple((key.removesuffix("[]"), key.endswith("[]")) for key in self.path.split("."))
        object.__setattr__(self, "_steps", steps)
        single = not any(many for _, many in steps)
        object.__setattr__(self, "_keys", tuple(key for key, _ in steps) if single else None)

    def values(self, record: dict[str, object]) -> tuple[str, ...]:
        """The identifiers this field names in ``record`` (a validated record)."""
        keys = self._keys
        if keys is not None:  # one value at most: walk down to it
            node: object = record
            for key in keys:
                assert isinstance(node, dict)
                if key not in node:
                    return ()
                node = node[key]
            assert isinstance(node, str)
            return (node,)
        nodes: list[object] = [record]
        for key, many in self._steps:
            found: list[object] = []
            for node in nodes:
                assert isinstance(node, dict)
                if key in node:
                    value = node[key]
                    if many and isinstance(value, list):
                        found.extend(value)
                    else:
                        found.append(value)
            nodes = found
        for node in nodes:
            assert isinstance(node, str)
        return tuple(nodes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Schema:
    """A record schema: its versioned name and id, its attesters, its subject fields, and
    the check and fast predicate of its module."""

    name: str
    attesters: frozenset[AgencyKind]
    revocable: bool
    subjects: tuple[SubjectField, ...]
    check: Check = field(repr=False, compare=False)
    fast: Fast = field(repr=False, compare=False)
    #: ``keccak256(name)``, the bytes32 the contracts know the schema by.
    schema_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        # Computed once: the id is on the hot path of every commitment.
        object.__setattr__(self, "schema_id", keccak256(self.name.encode()))

    @property
    def version(self) -> int:
        """The version number in the name (``invoice.issued/v1`` → 1)."""
        return int(self.name.rsplit("/v", 1)[1])

    @property
    def attester_mask(self) -> int:
        """The contracts' bit mask of agency kinds allowed to attest this schema."""
        return kind_mask(self.attesters)

    def subject_identifiers(self, record: dict[str, object]) -> tuple[tuple[str, str], ...]:
        """``(kind, identifier)`` for every tagged identifier of a validated ``record``."""
        return tuple(
            (subject.kind, value) for subject in self.subjects for value in subject.values(record)
        )


def _taxpayer(path: str) -> SubjectField:
    return SubjectField("taxpayer", path)


_TAX = frozenset({AgencyKind.TAX_BUREAU})
_BANK = frozenset({AgencyKind.BANK})
_INVOICE_SUBJECTS = (
    SubjectField("invoice", "invoice_number"),
    _taxpayer("seller.tax_id"),
    _taxpayer("buyer.tax_id"),
)
_USCC_SUBJECT = (_taxpayer("uscc"),)

# Every schema is revocable: revocation is for a fact attested in error (and for a consent
# the taxpayer withdraws). A red invoice does not revoke its blue one: it is its own fact.
SCHEMAS: dict[str, Schema] = {
    schema.name: schema
    for schema in (
        Schema(INVOICE_ISSUED, _TAX, True, _INVOICE_SUBJECTS, invoice.check_v1, invoice.fast_v1),
        Schema(INVOICE_ISSUED_V2, _TAX, True, _INVOICE_SUBJECTS, invoice.check_v2, invoice.fast_v2),
        Schema(
            PAYMENT_SETTLED,
            _BANK,
            True,
            (
                SubjectField("invoice", "invoice_number"),
                _taxpayer("payer.tax_id"),
                _taxpayer("payee.tax_id"),
            ),
            payment.check_v1,
            payment.fast_v1,
        ),
        Schema(
            PAYMENT_SETTLED_V2,
            _BANK,
            True,
            (
                SubjectField("invoice", "settles[].invoice_number"),
                _taxpayer("payer.tax_id"),
                _taxpayer("payee.tax_id"),
            ),
            payment.check_v2,
            payment.fast_v2,
        ),
        Schema(
            REGISTRATION_STATUS,
            frozenset({AgencyKind.MARKET_REGULATOR}),
            True,
            _USCC_SUBJECT,
            registration.check_v1,
            registration.fast_v1,
        ),
        Schema(TAX_RATING, _TAX, True, _USCC_SUBJECT, rating.check_v1, rating.fast_v1),
        Schema(
            BANK_DECISION, _BANK, True, _USCC_SUBJECT, bank_decision.check_v1, bank_decision.fast_v1
        ),
        Schema(
            BANK_DECISION_V2,
            _BANK,
            True,
            _USCC_SUBJECT,
            bank_decision.check_v2,
            bank_decision.fast_v2,
        ),
        Schema(TAX_STATUS, _TAX, True, _USCC_SUBJECT, tax_status.check_v1, tax_status.fast_v1),
        Schema(
            TAX_DECLARATION, _TAX, True, _USCC_SUBJECT, declaration.check_v1, declaration.fast_v1
        ),
        Schema(
            CONSENT_GRANTED,
            _TAX,
            True,
            (_taxpayer("taxpayer"),),
            consent.check_v1,
            consent.fast_v1,
        ),
        # Any member discloses what it holds; the subject is already a tag.
        Schema(
            DISCLOSURE_MADE,
            frozenset(AgencyKind),
            True,
            (),
            disclosure.check_v1,
            disclosure.fast_v1,
        ),
    )
}

#: Schemas by their bytes32 id.
SCHEMAS_BY_ID: dict[bytes, Schema] = {schema.schema_id: schema for schema in SCHEMAS.values()}


def get_schema(name: str) -> Schema:
    """The schema called ``name``; raises :class:`UnknownSchemaError` if there is none."""
    try:
        return SCHEMAS[name]
    except KeyError:
        raise UnknownSchemaError(name, tuple(SCHEMAS)) from None


def schema_by_id(schema_id: bytes) -> Schema:
    """The schema whose id is ``schema_id``; raises :class:`UnknownSchemaError` otherwise."""
    try:
        return SCHEMAS_BY_ID[schema_id]
    except KeyError:
        raise UnknownSchemaError("0x" + schema_id.hex(), tuple(SCHEMAS)) from None
