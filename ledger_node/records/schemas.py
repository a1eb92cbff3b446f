"""The record schemas of the ledger: names, ids, who may attest them, what they tag.

A schema's id is ``keccak256(name)``: the name carries its version (``invoice.issued/v1``),
so a new version is a new id and old attestations keep their meaning. Field rules live in
:mod:`ledger_node.records.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger_node.agencies import AgencyKind, kind_mask
from ledger_node.errors import UnknownSchemaError
from ledger_node.hashing import keccak256

INVOICE_ISSUED = "invoice.issued/v1"
PAYMENT_SETTLED = "payment.settled/v1"
REGISTRATION_STATUS = "registration.status/v1"
TAX_RATING = "credit.tax-rating/v1"
BANK_DECISION = "credit.bank-decision/v1"


@dataclass(frozen=True, slots=True)
class SubjectField:
    """One identifier of a record that gets a pseudonymous subject tag.

    ``kind`` is the tag kind (``"taxpayer"`` or ``"invoice"``), ``path`` the dotted field path
    of the identifier inside the record (``"seller.tax_id"``).
    """

    kind: str
    path: str

    def value(self, record: dict[str, object]) -> str:
        """The identifier this field names in ``record`` (a validated record)."""
        node: object = record
        for key in self.path.split("."):
            assert isinstance(node, dict)
            node = node[key]
        assert isinstance(node, str)
        return node


@dataclass(frozen=True, slots=True)
class Schema:
    """A record schema: its versioned name and id, its attesters, and its subject fields."""

    name: str
    attesters: frozenset[AgencyKind]
    revocable: bool
    subjects: tuple[SubjectField, ...]
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
        return tuple((subject.kind, subject.value(record)) for subject in self.subjects)


def _taxpayer(path: str) -> SubjectField:
    return SubjectField("taxpayer", path)


SCHEMAS: dict[str, Schema] = {
    schema.name: schema
    for schema in (
        # A red invoice reverses a blue one, so the bureau must be able to revoke.
        Schema(
            INVOICE_ISSUED,
            frozenset({AgencyKind.TAX_BUREAU}),
            revocable=True,
            subjects=(
                SubjectField("invoice", "invoice_number"),
                _taxpayer("seller.tax_id"),
                _taxpayer("buyer.tax_id"),
            ),
        ),
        Schema(
            PAYMENT_SETTLED,
            frozenset({AgencyKind.BANK}),
            revocable=True,
            subjects=(
                SubjectField("invoice", "invoice_number"),
                _taxpayer("payer.tax_id"),
                _taxpayer("payee.tax_id"),
            ),
        ),
        Schema(
            REGISTRATION_STATUS,
            frozenset({AgencyKind.MARKET_REGULATOR}),
            revocable=True,
            subjects=(_taxpayer("uscc"),),
        ),
        Schema(
            TAX_RATING,
            frozenset({AgencyKind.TAX_BUREAU}),
            revocable=True,
            subjects=(_taxpayer("uscc"),),
        ),
        Schema(
            BANK_DECISION,
            frozenset({AgencyKind.BANK}),
            revocable=True,
            subjects=(_taxpayer("uscc"),),
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
