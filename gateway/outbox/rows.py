"""What the outbox stores and answers: its row types and the states they move through."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

#: A record as intake hands it to the outbox: ``(id, schema, record, digests, accepted_at)``,
#: ``record`` its JSON and ``digests`` its :func:`digests`. A plain tuple: a bulk request of
#: 10,000 records builds no other object per record (built by :mod:`gateway.ingest`).
Row = tuple[str, str, bytes, bytes, float]


def digests(
    record_hash: bytes, salt: bytes, commitment: bytes, leaf: bytes, subjects: bytes
) -> bytes:
    """A record's hashes as the outbox keeps them, in one value: record hash, salt,
    commitment, leaf and its subject tags, 32 bytes each (one column, not eight: a bulk
    insert's cost grows with the columns bound per row)."""
    return record_hash + salt + commitment + leaf + subjects


def record_hash_of(blob: bytes) -> bytes:
    """The record hash in a :func:`digests` value."""
    return blob[:32]


def salt_of(blob: bytes) -> bytes:
    """The salt in a :func:`digests` value."""
    return blob[32:64]


def commitment_of(blob: bytes) -> bytes:
    """The commitment in a :func:`digests` value."""
    return blob[64:96]


def leaf_of(blob: bytes) -> bytes:
    """The Merkle leaf in a :func:`digests` value."""
    return blob[96:128]


def subjects_of(blob: bytes) -> tuple[bytes, ...]:
    """The subject tags in a :func:`digests` value."""
    return split32(blob[128:])


class BatchStatus(enum.StrEnum):
    """Where a batch is.

    ``pending``: signed and (being) sent; ``anchored``: mined; ``final``: mined deep enough to
    stay; ``superseded``: its root went on chain under a claim that is not this gateway's
    (another agency, schema or count), so its records were given to new batches.
    """

    PENDING = "pending"
    ANCHORED = "anchored"
    FINAL = "final"
    SUPERSEDED = "superseded"


class RevocationStatus(enum.StrEnum):
    """Where a revocation is: asked for, signed and (being) sent, or mined."""

    REQUESTED = "requested"
    PENDING = "pending"
    REVOKED = "revoked"


class Outcome(enum.Enum):
    """What accepting a record (or asking for a revocation) did."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


def record_status(batch_status: BatchStatus | str | None) -> str:
    """A record's status from its batch's: ``accepted`` until mined, then ``anchored``,
    then ``final``."""
    if batch_status in (BatchStatus.ANCHORED, BatchStatus.FINAL):
        return str(batch_status)
    return "accepted"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a client gets back for an accepted record."""

    id: str
    schema: str
    record_hash: bytes
    commitment: bytes
    leaf: bytes
    accepted_at: float
    status: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """What committing rows did: every row is new except those in ``others``.

    ``others`` lists ``(k, outcome, earlier)`` for ``rows[k]`` whose id was taken: a
    :attr:`Outcome.DUPLICATE` (same schema and record hash) or an :attr:`Outcome.CONFLICT`,
    with the receipt of the record that holds the id. A clean bulk load builds nothing per row.
    """

    new: int
    others: list[tuple[int, Outcome, Receipt]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SignedWrite:
    """A signed ledger write ready to (re)send: the agency's signature and the raw transaction.

    ``raw_tx`` is empty for a write this gateway did not send itself but found on chain (an
    earlier signature of the same root): it is kept for its hash and signature only.
    """

    signature: bytes
    deadline: int
    raw_tx: bytes
    tx_hash: bytes
    nonce: int
    gas: int


@dataclass(frozen=True, slots=True)
class BatchRow:
    """A batch as stored: the records numbered ``first_seq .. first_seq + count - 1`` (all of
    one schema, see :mod:`gateway.outbox.records`), under ``root``."""

    root: bytes
    schema: str
    first_seq: int
    count: int
    status: BatchStatus
    write: SignedWrite
    created_at: float
    block_number: int | None
    last_error: str | None

    @property
    def end_seq(self) -> int:
        """One past the last record's number."""
        return self.first_seq + self.count


@dataclass(frozen=True, slots=True)
class RevocationRow:
    """A revocation as stored (``write`` is None until it is signed)."""

    record_id: str
    reason: str
    reason_hash: bytes
    status: RevocationStatus
    requested_at: float
    write: SignedWrite | None
    block_number: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record with its batch and revocation, everything ``GET`` and proofs need.

    ``leaf_index`` is the record's place among its batch's leaves (None while unbatched);
    its Merkle proof comes from the batch's stored leaves, see
    :meth:`gateway.outbox.Outbox.proof`.
    """

    id: str
    schema: str
    seq: int
    record: bytes
    record_hash: bytes
    salt: bytes
    commitment: bytes
    leaf: bytes
    subjects: tuple[bytes, ...]
    accepted_at: float
    batch: BatchRow | None
    revocation: RevocationRow | None

    @property
    def leaf_index(self) -> int | None:
        """Position of this record's leaf in its batch, or None while unbatched."""
        return None if self.batch is None else self.seq - self.batch.first_seq

    @property
    def status(self) -> str:
        """``accepted`` → ``anchored`` → ``final``, or ``revoked``."""
        if self.revocation is not None and self.revocation.status is RevocationStatus.REVOKED:
            return "revoked"
        return record_status(self.batch.status if self.batch else None)


@dataclass(frozen=True, slots=True)
class Backlog:
    """Unbatched records of one schema: numbers ``first_seq`` onwards."""

    schema: str
    first_seq: int
    count: int
    oldest_accepted_at: float


def split32(blob: bytes | None) -> tuple[bytes, ...]:
    """A concatenation of 32-byte hashes, as a tuple."""
    if not blob:
        return ()
    return tuple(blob[i : i + 32] for i in range(0, len(blob), 32))
