"""What the exchange keeps in the outbox: an index of the anchored facts by subject tag and
by commitment, and every answer given, by requester and nonce.

* ``exchange_subjects`` / ``exchange_commitments`` — the facts this gateway can disclose
  (those in a mined batch), found by subject tag (a disclosure record by the tag it names)
  and by commitment (a cited consent). Filled batch by batch as batches are mined
  (:meth:`Exchanges.index_anchored`); re-indexing a batch is harmless.
* ``exchange_answers`` — the sealed answer to each request with its ``disclosure.made``
  record, written in the transaction that commits the record to ``records``
  (:meth:`Exchanges.saving`), before the answer leaves: a retry with the same nonce gets the
  same answer and makes no second disclosure record.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from gateway.outbox.batches import Batches
from gateway.outbox.database import Database
from gateway.outbox.records import SCHEMA_SPAN, Records
from gateway.outbox.rows import BatchStatus, Row, commitment_of, subjects_of
from ledger_node.records.schemas import DISCLOSURE_MADE
from ledger_node.waiting import holding, would_wait

_TABLES = (
    """CREATE TABLE IF NOT EXISTS exchange_subjects (
        tag BLOB NOT NULL,
        seq INTEGER NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (tag, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS exchange_commitments (
        commitment BLOB PRIMARY KEY,
        id TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS exchange_progress (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS exchange_answers (
        requester INTEGER NOT NULL,
        nonce BLOB NOT NULL,
        request_hash BLOB NOT NULL,
        disclosure_id TEXT NOT NULL UNIQUE,
        disclosure BLOB NOT NULL,
        digests BLOB NOT NULL,
        accepted_at REAL NOT NULL,
        answer BLOB NOT NULL,
        PRIMARY KEY (requester, nonce)
    ) WITHOUT ROWID""",
)
_INDEXED = "indexed_batch"


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """An answer given, with the disclosure record that logs it."""

    request_hash: bytes
    disclosure: Row
    answer: bytes

    @property
    def disclosure_id(self) -> str:
        return self.disclosure[0]


class Exchanges:
    """The exchange's tables of one outbox."""

    def __init__(self, database: Database, records: Records, batches: Batches) -> None:
        self._database = database
        self._records = records
        self._batches = batches
        # The batches' change count when the index last looked (None: not yet).
        self._looked_at: int | None = None
        self._index_lock = threading.Lock()
        # Batches above the persisted mark indexed already (a pending batch holds it back).
        self._indexed_above: set[int] = set()
        with database.transaction() as conn:
            for statement in _TABLES:
                conn.execute(statement)
            row = conn.execute(
                "SELECT value FROM exchange_progress WHERE name = ?", (_INDEXED,)
            ).fetchone()
        self._mark = 0 if row is None else int(row[0])

    # -- the index of disclosable facts --------------------------------------------------------

    def index_anchored(self) -> None:
        """Index the records of every batch mined since the last call (nothing to do, and
        nothing read, if no batch changed since; under :func:`ledger_node.waiting.no_waiting`,
        :class:`~ledger_node.waiting.WouldWait` if there is something to write)."""
        if self._batches.changes == self._looked_at:
            return
        with holding(self._index_lock, "indexing the batches mined"):
            changes = self._batches.changes
            if changes == self._looked_at:
                return
            batches = (
                self._database.reader()
                .execute(
                    "SELECT batch, first_seq, count, status FROM batches WHERE batch > ?"
                    " ORDER BY batch",
                    (self._mark,),
                )
                .fetchall()
            )
            done = set(self._indexed_above)
            todo = [
                b
                for b in batches
                if b["batch"] not in done
                and b["status"] in (BatchStatus.ANCHORED.value, BatchStatus.FINAL.value)
            ]
            done |= {b["batch"] for b in batches if b["status"] == BatchStatus.SUPERSEDED.value}
            done |= {b["batch"] for b in todo}
            mark = self._mark
            for b in batches:
                if b["batch"] not in done:
                    break
                mark = b["batch"]
            if todo or mark != self._mark:
                would_wait("indexing the batches mined")  # a write, behind the outbox's writer
            if todo:
                self._index(todo)
            self._indexed_above = {n for n in done if n > mark}
            self._looked_at = changes
            if mark != self._mark:
                with self._database.transaction() as conn:
                    conn.execute(
                        "INSERT OR REPLACE INTO exchange_progress VALUES (?, ?)", (_INDEXED, mark)
                    )
                self._mark = mark

    def _index(self, batches: list[sqlite3.Row]) -> None:
        reader = self._database.reader()
        subjects: list[tuple[bytes, int, str]] = []
        commitments: list[tuple[bytes, str]] = []
        for batch in batches:
            first = batch["first_seq"]
            disclosures = self._records.schema_of(first) == DISCLOSURE_MADE
            rows = reader.execute(
                "SELECT seq, id, record, digests FROM records WHERE seq >= ? AND seq < ?",
                (first, first + batch["count"]),
            )
            for seq, record_id, record, blob in rows:
                assert seq // SCHEMA_SPAN == first // SCHEMA_SPAN
                commitments.append((commitment_of(blob), record_id))
                if disclosures:
                    # A disclosure is found by the subject it names (it has no tags itself).
                    tag = bytes.fromhex(orjson.loads(record)["subject_tag"][2:])
                    subjects.append((tag, seq, record_id))
                else:
                    subjects.extend((tag, seq, record_id) for tag in subjects_of(blob))
        with self._database.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO exchange_subjects VALUES (?, ?, ?)", subjects)
            conn.executemany(
                "INSERT OR IGNORE INTO exchange_commitments VALUES (?, ?)", commitments
            )

    def ids_about(self, tag: bytes, *, after: int = 0) -> list[tuple[int, str]]:
        """``(seq, id)`` of the anchored facts about the subject ``tag`` after the record
        ``after`` (0: all), oldest first."""
        rows = self._database.reader().execute(
            "SELECT seq, id FROM exchange_subjects WHERE tag = ? AND seq > ? ORDER BY seq",
            # Records are numbered below 2**63 (SQLite's integers); a larger cursor is past all.
            (tag, min(after, 2**63 - 1)),
        )
        return [(int(seq), str(record_id)) for seq, record_id in rows]

    def id_of_commitment(self, commitment: bytes) -> str | None:
        """The id of the anchored fact with ``commitment``, or None."""
        row = (
            self._database.reader()
            .execute("SELECT id FROM exchange_commitments WHERE commitment = ?", (commitment,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    # -- answers -----------------------------------------------------------------------------

    def answer(self, requester: int, nonce: bytes) -> StoredAnswer | None:
        """The answer given to ``requester``'s request ``nonce``, or None."""
        row = (
            self._database.reader()
            .execute(
                "SELECT request_hash, disclosure_id, disclosure, digests, accepted_at, answer"
                " FROM exchange_answers WHERE requester = ? AND nonce = ?",
                (requester, nonce),
            )
            .fetchone()
        )
        return None if row is None else _stored(row)

    def saving(
        self, requester: int, nonce: bytes, stored: StoredAnswer
    ) -> Callable[[sqlite3.Connection], None]:
        """The write of an answer, for the transaction that commits its disclosure record; if
        a concurrent request with the same nonce stored one first, that one stays."""
        record_id, _, record, blob, accepted_at = stored.disclosure
        values = (
            requester,
            nonce,
            stored.request_hash,
            record_id,
            record,
            blob,
            accepted_at,
            stored.answer,
        )

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR IGNORE INTO exchange_answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values
            )

        return write


def _stored(row: sqlite3.Row) -> StoredAnswer:
    request_hash, record_id, record, blob, accepted_at, answer = row
    return StoredAnswer(
        bytes(request_hash),
        (str(record_id), DISCLOSURE_MADE, bytes(record), bytes(blob), float(accepted_at)),
        bytes(answer),
    )
