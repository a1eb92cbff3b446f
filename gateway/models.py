"""The HTTP API's request and response bodies (what the OpenAPI schema documents)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.limits import ID_PATTERN, MAX_BULK
from ledger_node.purposes import Purpose
from ledger_node.records.schemas import SCHEMAS

# Built from the registry, so a new schema needs no edit here; mypy cannot see through it.
SchemaName = Literal[tuple(SCHEMAS)]  # type: ignore[valid-type]


class RecordCreate(BaseModel):
    """One record to attest."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)

    schema_name: SchemaName = Field(  # type: ignore[valid-type]
        alias="schema", description="Versioned schema name."
    )
    id: str = Field(pattern=ID_PATTERN, description="The client's id for this record.")
    record: dict[str, Any] = Field(description="The record, exactly as its schema defines it.")


class RecordBulkCreate(BaseModel):
    """Up to 10,000 records; each is accepted or rejected on its own."""

    model_config = ConfigDict(extra="forbid", strict=True)

    records: list[RecordCreate] = Field(max_length=MAX_BULK)


class RevokeCreate(BaseModel):
    """Why a record is revoked (a red invoice, a corrected rating)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Kept by the gateway; the ledger gets its keccak256.",
    )


class ExchangeQueryCreate(BaseModel):
    """A question of this agency's systems to another agency, through the exchange."""

    model_config = ConfigDict(extra="forbid", strict=True)

    provider: str = Field(min_length=1, max_length=100, description="The agency asked (name).")
    taxpayer: str | None = Field(None, max_length=18, description="The subject: a USCC.")
    invoice: str | None = Field(None, max_length=20, description="Or: a 20-digit invoice number.")
    schemas: list[SchemaName] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=16, description="The schemas of the facts wanted."
    )
    purpose: Literal[tuple(p.label for p in Purpose)] = Field(  # type: ignore[valid-type]
        description="Why the agency reads (the read policy allows it or not)."
    )
    consent: str | None = Field(
        None,
        pattern=r"^0x[0-9a-f]{64}$",
        description="Commitment of the taxpayer's consent.granted fact, where the policy "
        "requires consent.",
    )
    consent_bundle: dict[str, Any] | None = Field(
        None, description="The consent's proof bundle, for a provider that does not hold it."
    )
    after: int = Field(
        0,
        ge=0,
        le=2**64 - 1,
        description="Where the answer starts: 0 for the first page, else the `next` of the "
        "page before.",
    )


class Problem(BaseModel):
    """One thing wrong with a request: where, which rule, and what to do."""

    path: str = Field(description="Field path from the body's root, e.g. record.lines[2].tax.")
    rule: str = Field(description="Stable rule code, e.g. tax_mismatch, uscc_check.")
    message: str


class ErrorBody(BaseModel):
    """Why a request or a bulk item was refused."""

    code: str
    message: str
    problems: list[Problem] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer."""

    error: ErrorBody


class RecordReceipt(BaseModel):
    """What the gateway committed for a record."""

    id: str
    schema_name: str = Field(serialization_alias="schema")
    schema_id: str
    status: Literal["accepted", "anchored", "final", "revoked"]
    record_hash: str
    commitment: str
    leaf: str
    accepted_at: float = Field(description="Unix time the record was committed.")


class BulkItemResult(BaseModel):
    """The outcome of one bulk item (``status`` as a single POST would answer)."""

    index: int
    id: str | None
    status: int
    receipt: RecordReceipt | None = None
    error: ErrorBody | None = None


class BulkResult(BaseModel):
    """Per-item outcomes of a bulk request."""

    accepted: int = Field(description="Newly accepted records.")
    duplicates: int = Field(description="Re-posts of records accepted before.")
    rejected: int
    results: list[BulkItemResult]


class AnchorPublic(BaseModel):
    """Where a record's batch is on chain."""

    root: str
    leaf_index: int
    batch_size: int
    chain_id: int
    ledger: str
    agency_id: int
    signer: str
    tx_hash: str
    block_number: int | None


class RevocationPublic(BaseModel):
    """A record's revocation."""

    reason: str
    reason_salt: str = Field(
        description="The salt of the reason's on-chain commitment, for a verifier to show it."
    )
    reason_commitment: str = Field(
        description="keccak256(0x05 ‖ reason_salt ‖ utf8(reason)), the revocation's on-chain "
        "reason."
    )
    status: Literal["requested", "pending", "revoked"]
    tx_hash: str | None
    block_number: int | None
    error: str | None = Field(description="Why the ledger refused it so far, if it did.")


class RecordPublic(RecordReceipt):
    """A record's state: accepted → anchored → final (or revoked), with its anchor."""

    subjects: list[str] = Field(description="Pseudonymous subject tags of its identifiers.")
    anchor: AnchorPublic | None
    revocation: RevocationPublic | None


class HealthStatus(BaseModel):
    """Liveness, for anyone: ``degraded`` while the gateway cannot write to its chain (it
    still accepts records)."""

    status: Literal["ok", "degraded"]


class ChainHealth(BaseModel):
    """The chain as the gateway last saw it."""

    reachable: bool
    block_number: int | None
    problem: str | None = Field(description="Why the gateway cannot write now, if it cannot.")


class Health(HealthStatus):
    """Liveness with the details an operator needs (asked with an API key)."""

    agency: str
    agency_id: int
    chain: ChainHealth
    records: dict[str, int] = Field(description="Outbox depth by state.")


#: Request models the routes parse by hand (for speed) but the OpenAPI schema documents.
DOCUMENTED_REQUESTS: tuple[type[BaseModel], ...] = (
    RecordCreate,
    RecordBulkCreate,
    RevokeCreate,
    ExchangeQueryCreate,
)
