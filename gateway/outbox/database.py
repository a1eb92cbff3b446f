"""The outbox's SQLite file: where it lives, how it is opened, its tables, and the
checkpointer that keeps its write-ahead log short.

WAL mode with ``synchronous=FULL`` by default: a commit returns only after the WAL is on disk,
so a 202 survives a power cut, not just a crash of the process. ``NORMAL`` (a setting) skips
that fsync: a 202 then survives SIGKILL of the gateway but not a crash of the machine.

One connection writes, under a lock; each reading thread has its own connection, which WAL
lets read while the writer writes. The file holds full records and their salts, so it is
created owner-only (SQLite gives its ``-wal`` and ``-shm`` files the database file's mode).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger_node.errors import ConfigurationError
from ledger_node.private_files import create_private

log = logging.getLogger(__name__)

#: Seconds between WAL checkpoints (a bulk load writes ~10 MB of WAL a second).
CHECKPOINT_INTERVAL = 0.5
#: Bytes the WAL file is cut back to once checkpointed (it is reused from its start).
_WAL_SIZE_LIMIT = 64 * 1024 * 1024
_PAGE_SIZE = 16384
#: The layout of the tables below; an outbox of another layout is migrated or refused.
FORMAT = 2

# records: written once, at acceptance, and never updated. seq places a record in its
#   schema's key range (see records.py), and its batch is the live batch whose range holds
#   it. digests: record hash, salt, commitment, leaf, subject tags (rows.digests).
# batches: a range of records under a root, with its signed write (batches.py).
# batch_leaves: a batch's leaves in leaf order, 32 bytes each; proofs are computed from them.
# (No comments inside: the statements are split on semicolons.)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    record BLOB NOT NULL,
    digests BLOB NOT NULL,
    accepted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS schemas (
    code INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS batches (
    batch INTEGER PRIMARY KEY,
    root BLOB NOT NULL UNIQUE,
    schema TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    count INTEGER NOT NULL,
    status TEXT NOT NULL,
    signature BLOB NOT NULL,
    deadline INTEGER NOT NULL,
    raw_tx BLOB NOT NULL,
    tx_hash BLOB NOT NULL,
    nonce INTEGER NOT NULL,
    gas INTEGER NOT NULL,
    created_at REAL NOT NULL,
    block_number INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS batches_by_range ON batches (first_seq);
CREATE INDEX IF NOT EXISTS batches_open ON batches (status)
    WHERE status NOT IN ('final', 'superseded');
CREATE TABLE IF NOT EXISTS batch_leaves (
    batch INTEGER PRIMARY KEY REFERENCES batches (batch),
    leaves BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS revocations (
    record_id TEXT PRIMARY KEY REFERENCES records (id),
    reason TEXT NOT NULL,
    reason_hash BLOB NOT NULL,
    status TEXT NOT NULL,
    requested_at REAL NOT NULL,
    signature BLOB,
    deadline INTEGER,
    raw_tx BLOB,
    tx_hash BLOB,
    nonce INTEGER,
    gas INTEGER,
    block_number INTEGER,
    last_error TEXT
) WITHOUT ROWID;
"""


def create_tables(conn: sqlite3.Connection) -> None:
    """Create whatever of the outbox's tables is missing and mark the layout (inside the
    caller's transaction)."""
    # One statement at a time: executescript() would commit the transaction.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (str(FORMAT),))


class Database:
    """The outbox file, its writer connection and per-thread readers."""

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self.path = path
        self._synchronous = synchronous
        create_private(path)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._writer = self.connect()
        self._create_tables()
        # Commits never checkpoint (copying the WAL into the database file and syncing it
        # inside a COMMIT would stall every request waiting for that group commit): the
        # checkpointer thread does, on its own connection, beside the writer.
        self._writer.execute("PRAGMA wal_autocheckpoint=0")
        self._closing = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="checkpointer", daemon=True
        )
        self._checkpointer.start()

    def connect(self) -> sqlite3.Connection:
        """A new connection with the outbox's pragmas."""
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.row_factory = sqlite3.Row
        # Set before the file's first write, when it alone decides: 16 KiB pages halve the
        # CPU of a bulk insert and of checkpoints against the default 4 KiB.
        conn.execute(f"PRAGMA page_size={_PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        return conn

    def _create_tables(self) -> None:
        version = None
        if self._has_table("meta"):
            version = self._writer.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if version is None and self._has_table("records"):
            # Layout 1, from before this package, marked no format: upgrade it in place.
            from gateway.outbox.upgrade import upgrade_layout1

            log.warning("upgrading outbox %s from layout 1 to layout %d", self.path, FORMAT)
            upgrade_layout1(self._writer, create_tables)
        elif version is None:
            with self.transaction() as conn:
                create_tables(conn)
        elif version[0] != str(FORMAT):
            raise ConfigurationError(
                f"outbox {self.path} has layout {version[0]}; this gateway reads layouts 1 and "
                f"{FORMAT}: run the taxledger version that wrote it"
            )

    def _has_table(self, name: str) -> bool:
        row = self._writer.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def reader(self) -> sqlite3.Connection:
        """This thread's reading connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The writer inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Stop the checkpointer and close the writer; readers close with their threads."""
        self._closing.set()
        self._checkpointer.join()
        with self._write_lock:
            self._writer.close()

    def _checkpoint_loop(self) -> None:
        """Copy committed WAL frames into the database file, beside the writer (a PASSIVE
        checkpoint takes no lock a commit needs), so the WAL stays short."""
        conn = self.connect()
        try:
            while not self._closing.wait(CHECKPOINT_INTERVAL):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # busy or a full disk: the next round tries again
                    log.warning("WAL checkpoint failed: %s", exc)
        finally:
            conn.close()

    # -- binding to one ledger -------------------------------------------------------------

    def bind(self, identity: dict[str, str]) -> dict[str, str]:
        """Tie the database to one ledger, chain and agency key; refuse one made for another.

        Its batches are signed for that ledger: sending them elsewhere would fail forever.
        ``identity`` keys missing from an older database are added. Returns what is stored.
        """
        with self.transaction() as conn:
            found = {
                row["key"]: row["value"]
                for row in conn.execute("SELECT key, value FROM meta WHERE key != 'format'")
            }
            clash = {k: (found[k], v) for k, v in identity.items() if k in found and found[k] != v}
            if not clash:
                conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [(k, v) for k, v in identity.items() if k not in found],
                )
                return {**identity, **found}
        raise ConfigurationError(
            f"outbox {self.path} belongs to agency key {found.get('agency')} on ledger "
            f"{found.get('ledger')} (chain {found.get('chain_id')}), not to "
            f"{identity.get('agency')} on {identity.get('ledger')} (chain "
            f"{identity.get('chain_id')}): {', '.join(sorted(clash))} differ; give this gateway "
            "its own database path"
        )
