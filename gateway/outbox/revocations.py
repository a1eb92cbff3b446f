"""Revocations: asked for once per record, then signed, sent and mined.

Invariants (enforced here):

* a record has at most one revocation: asking again with the same reason is a duplicate,
  with another reason a conflict;
* a revocation's signed write is stored before it is sent, and forgotten (back to
  ``requested``) only when the chain can no longer mine it, so it is signed afresh.
"""

from __future__ import annotations

import sqlite3
import time

from gateway.outbox.batches import write_of, write_values
from gateway.outbox.database import Database
from gateway.outbox.rows import Outcome, RevocationRow, RevocationStatus, SignedWrite


def revocation_of(row: sqlite3.Row) -> RevocationRow:
    """A ``revocations`` row as a :class:`RevocationRow`."""
    return RevocationRow(
        row["record_id"],
        row["reason"],
        row["reason_hash"],
        RevocationStatus(row["status"]),
        row["requested_at"],
        write_of(row),
        row["block_number"],
        row["last_error"],
    )


class Revocations:
    """The ``revocations`` table."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def request(
        self, record_id: str, reason: str, reason_hash: bytes
    ) -> tuple[Outcome, RevocationRow]:
        """Ask for a record's revocation, once: the same reason again is a duplicate, another
        reason a conflict."""
        with self._database.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM revocations WHERE record_id = ?", (record_id,)
            ).fetchone()
            if row is not None:
                earlier = revocation_of(row)
                same = earlier.reason == reason
                return (Outcome.DUPLICATE if same else Outcome.CONFLICT), earlier
            now = time.time()
            conn.execute(
                "INSERT INTO revocations (record_id, reason, reason_hash, status, requested_at)"
                " VALUES (?, ?, ?, 'requested', ?)",
                (record_id, reason, reason_hash, now),
            )
        return Outcome.ACCEPTED, RevocationRow(
            record_id, reason, reason_hash, RevocationStatus.REQUESTED, now, None, None, None
        )

    def get(self, record_id: str) -> RevocationRow | None:
        """A record's revocation, if one was asked for."""
        row = (
            self._database.reader()
            .execute("SELECT * FROM revocations WHERE record_id = ?", (record_id,))
            .fetchone()
        )
        return None if row is None else revocation_of(row)

    def open(self) -> list[RevocationRow]:
        """Revocations not yet mined, oldest first."""
        rows = self._database.reader().execute(
            "SELECT * FROM revocations WHERE status != 'revoked' ORDER BY requested_at"
        )
        return [revocation_of(row) for row in rows]

    def save(self, record_id: str, write: SignedWrite | None) -> None:
        """Persist a revocation's signed write before it is sent (None: sign it again)."""
        status = RevocationStatus.REQUESTED if write is None else RevocationStatus.PENDING
        values = (None,) * 6 if write is None else write_values(write)
        with self._database.transaction() as conn:
            conn.execute(
                "UPDATE revocations SET status = ?, signature = ?, deadline = ?, raw_tx = ?,"
                " tx_hash = ?, nonce = ?, gas = ? WHERE record_id = ?",
                (status.value, *values, record_id),
            )

    def set_revoked(self, record_id: str, block_number: int) -> None:
        """Mark a revocation mined."""
        with self._database.transaction() as conn:
            conn.execute(
                "UPDATE revocations SET status = 'revoked', block_number = ?, last_error = NULL"
                " WHERE record_id = ?",
                (block_number, record_id),
            )

    def set_error(self, record_id: str, error: str) -> None:
        """Note why a revocation is stuck."""
        with self._database.transaction() as conn:
            conn.execute(
                "UPDATE revocations SET last_error = ? WHERE record_id = ?", (error, record_id)
            )
