"""The audit index: the ledger's events in a local SQLite file, synced incrementally.

Every event of the ledger contract is stored once, in chain order, in ``events``; anchors,
attestations and revocations are also kept in lookup tables. ``meta`` holds which ledger the
index belongs to and the last block synced, written in the same transaction as that block's
events, so an interrupted sync resumes where it stopped and a repeated one reads only new
blocks. Only final blocks (``confirmations`` deep) are synced, and the hash of the last one
is kept so a reorganisation below it is detected instead of silently mixed in.

The index answers the verifier's questions (:class:`~ledger_node.verify.view.LedgerView`).
Anchors, attestations and revocations are keyed by agency as the ledger keeps them: two
agencies may write the same root or uid, and those are two writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ledger_node.chain.errors import ChainError
from ledger_node.chain.events import LOG_RANGE_BLOCKS, EventReader, LedgerEvent, decode_log
from ledger_node.chain.rpc import Rpc, as_bytes, as_int
from ledger_node.deployment import Deployment
from ledger_node.errors import ConfigurationError, Error
from ledger_node.verify.membership import GOVERNANCE_EVENTS, MembershipHistory, Position
from ledger_node.verify.view import Anchor, Attestation, Revocation

FORMAT = "taxledger.index/v2"
#: Formats of indexes of the earlier ledger contract (before per-agency writes).
RETIRED_FORMATS = frozenset({"taxledger.index/v1"})
#: Blocks asked for by one ``eth_getLogs``: the range every reader and node agree on.
DEFAULT_PAGE_SIZE = LOG_RANGE_BLOCKS
#: ``eth_getLogs`` pages sent in one JSON-RPC batch.
PAGES_PER_BATCH = 8

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_hash BLOB NOT NULL,
    name TEXT NOT NULL, args TEXT NOT NULL, PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS events_name ON events (name);
CREATE TABLE IF NOT EXISTS anchors (
    root BLOB NOT NULL, schema_id BLOB NOT NULL, agency_id INTEGER NOT NULL,
    signer TEXT NOT NULL, count INTEGER NOT NULL, block INTEGER NOT NULL,
    log_index INTEGER NOT NULL, tx_hash BLOB NOT NULL, PRIMARY KEY (root, agency_id));
CREATE TABLE IF NOT EXISTS attestations (
    uid BLOB NOT NULL, schema_id BLOB NOT NULL, subject BLOB NOT NULL,
    agency_id INTEGER NOT NULL, signer TEXT NOT NULL, ref_uid BLOB NOT NULL,
    expiration INTEGER NOT NULL, block INTEGER NOT NULL, log_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL, PRIMARY KEY (uid, agency_id));
CREATE INDEX IF NOT EXISTS attestations_subject ON attestations (subject);
CREATE INDEX IF NOT EXISTS attestations_ref ON attestations (ref_uid, agency_id);
CREATE TABLE IF NOT EXISTS revocations (
    target BLOB NOT NULL, leaf BLOB NOT NULL, agency_id INTEGER NOT NULL,
    signer TEXT NOT NULL, reason BLOB NOT NULL, block INTEGER NOT NULL,
    log_index INTEGER NOT NULL, tx_hash BLOB NOT NULL, PRIMARY KEY (target, agency_id, leaf));
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL);
"""

# Event arguments that are bytes32 (stored as 0x-hex in the JSON of ``events.args``).
_BYTES_ARGS = frozenset({"root", "schemaId", "uid", "subject", "refUID", "reason", "leaf"})
# A revocation of a single fact has no leaf; SQLite primary keys want a value.
_NO_LEAF = b""


class IndexStateError(Error, RuntimeError):
    """The index cannot be used as asked: another ledger's, corrupt, or behind a reorg."""


@dataclass(frozen=True)
class SyncResult:
    """What one sync read: blocks ``first..last`` (none when ``first > last``), events found."""

    first: int
    last: int
    events: int

    @property
    def blocks(self) -> int:
        return max(0, self.last - self.first + 1)


def _encode_args(args: dict[str, Any]) -> str:
    return orjson.dumps(
        {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in args.items()}
    ).decode()


def _decode_args(text: str) -> dict[str, Any]:
    args: dict[str, Any] = orjson.loads(text)
    for name in _BYTES_ARGS & args.keys():
        args[name] = bytes.fromhex(args[name][2:])
    return args


class AuditIndex:
    """A SQLite index of one ledger's events. Open with :meth:`create_or_open` (to sync) or
    :meth:`open` (to read an index synced before)."""

    def __init__(self, path: str | Path, connection: sqlite3.Connection) -> None:
        self.path = Path(path)
        self.db = connection
        try:
            meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise _not_an_index(self.path, exc) from None
        if meta.get("format") in RETIRED_FORMATS:
            raise IndexStateError(
                f"{self.path} is an index of the earlier ledger contract "
                f"({meta['format']}); delete it or give a new file name, and sync again"
            )
        if meta.get("format") != FORMAT:
            raise IndexStateError(
                f"{self.path} is not a taxledger index (format {meta.get('format')!r}); "
                "give a new file name to create one"
            )
        self.chain_id = int(meta["chain_id"])
        self.ledger = str(meta["ledger"])
        self.deployment_block = int(meta["deployment_block"])
        #: The transaction that deployed and founded the ledger (its events need no proposal).
        self.deployment_tx = bytes.fromhex(str(meta["deployment_tx"])[2:])
        self._membership: MembershipHistory | None = None
        # Read once: the verifier asks for the head once per bundle.
        self._head = int(meta.get("head_block", self.deployment_block - 1))

    @staticmethod
    def _connect(path: str | Path) -> sqlite3.Connection:
        db = sqlite3.connect(str(path))
        try:
            # One writer (the sync); readers never see a half-written page of blocks.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise _not_an_index(path, exc) from None
        return db

    @classmethod
    def create_or_open(cls, path: str | Path, deployment: Deployment) -> AuditIndex:
        """Open the index at ``path`` for ``deployment``, creating it if it does not exist."""
        db = cls._connect(path)
        try:
            db.executescript(_SCHEMA)
            known = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            db.close()
            raise _not_an_index(path, exc) from None
        if not known:
            with db:
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("format", FORMAT),
                        ("chain_id", str(deployment.chain_id)),
                        ("ledger", deployment.ledger),
                        ("deployment_block", str(deployment.deployment_block)),
                        ("deployment_tx", deployment.deployment_tx.lower()),
                        ("synced_block", str(deployment.deployment_block - 1)),
                        ("head_block", str(deployment.deployment_block - 1)),
                    ],
                )
        elif (known.get("ledger"), known.get("chain_id")) != (
            deployment.ledger,
            str(deployment.chain_id),
        ):
            db.close()
            raise IndexStateError(
                f"index {path} holds ledger {known.get('ledger')} on chain "
                f"{known.get('chain_id')}, not {deployment.ledger} on chain "
                f"{deployment.chain_id}; use another index file"
            )
        return cls(path, db)

    @classmethod
    def open(cls, path: str | Path) -> AuditIndex:
        """Open an existing index read-only."""
        if not Path(path).is_file():
            raise ConfigurationError(
                f"index {path} does not exist; create it with `taxledger audit --index {path}`"
            )
        return cls(path, cls._connect(path))

    def close(self) -> None:
        self.db.close()

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def synced_block(self) -> int:
        """The last block whose events are all in the index."""
        return int(self._meta("synced_block") or self.deployment_block - 1)

    # -- syncing ---------------------------------------------------------------------------

    def sync(
        self,
        rpc: Rpc,
        *,
        confirmations: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncResult:
        """Read the events of the final blocks after the last synced one.

        ``progress(done, total)`` is called after each batch of pages, in blocks.
        """
        chain_id = as_int(rpc.request("eth_chainId", []))
        if chain_id != self.chain_id:
            raise IndexStateError(
                f"the node is on chain {chain_id}, the index on chain {self.chain_id}; point "
                "--rpc to the right node"
            )
        self._check_no_reorg(rpc)
        reader = EventReader(rpc, self.ledger, confirmations=confirmations, page_size=page_size)
        head = as_int(rpc.request("eth_blockNumber", []))
        first = self.synced_block + 1
        last = head - confirmations
        pages = list(reader.pages(first, last))
        total = max(0, last - first + 1)
        events = 0
        for start in range(0, len(pages), PAGES_PER_BATCH):
            group = pages[start : start + PAGES_PER_BATCH]
            events += self._store(_fetch(rpc, self.ledger, group), group[-1][1])
            if progress is not None:
                progress(group[-1][1] - first + 1, total)
        if total > 0:
            self._remember_tip(rpc, last)
        with self.db:
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'head_block'", (str(head),))
        self._membership = None
        self._head = head
        return SyncResult(first, last, events)

    def _check_no_reorg(self, rpc: Rpc) -> None:
        known = self._meta("synced_hash")
        if known is None:
            return
        block = rpc.request("eth_getBlockByNumber", [hex(self.synced_block), False])
        if block is None or as_bytes(block["hash"]).hex() != known:
            raise IndexStateError(
                f"block {self.synced_block} of the chain is not the one the index synced: the "
                "chain was reorganised below it; delete the index, sync again, and raise "
                "--confirmations"
            )

    def _remember_tip(self, rpc: Rpc, block_number: int) -> None:
        block = rpc.request("eth_getBlockByNumber", [hex(block_number), False])
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('synced_hash', ?)",
                (as_bytes(block["hash"]).hex(),),
            )

    def _store(self, events: list[LedgerEvent], synced_to: int) -> int:
        rows = [
            (e.block_number, e.log_index, e.tx_hash, e.name, _encode_args(e.args)) for e in events
        ]
        anchors, attestations, revocations = [], [], []
        for e in events:
            if e.name == "BatchAnchored":
                a = Anchor.from_event(e)
                anchors.append(
                    (
                        *(a.root, a.schema_id, a.agency_id, a.signer, a.count),
                        *(a.block_number, a.log_index, a.tx_hash),
                    )
                )
            elif e.name == "Attested":
                t = Attestation.from_event(e)
                attestations.append(
                    (
                        *(t.uid, t.schema_id, t.subject, t.agency_id, t.signer, t.ref_uid),
                        *(t.expiration, t.block_number, t.log_index, t.tx_hash),
                    )
                )
            elif e.name in ("Revoked", "LeafRevoked"):
                r = Revocation.from_event(e)
                revocations.append(
                    (
                        *(r.target, r.leaf if r.leaf is not None else _NO_LEAF, r.agency_id),
                        *(r.signer, r.reason, r.block_number, r.log_index, r.tx_hash),
                    )
                )
        with self.db:
            self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
            self.db.executemany("INSERT INTO anchors VALUES (?, ?, ?, ?, ?, ?, ?, ?)", anchors)
            self.db.executemany(
                "INSERT INTO attestations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", attestations
            )
            self.db.executemany(
                "INSERT INTO revocations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", revocations
            )
            self.db.execute(
                "UPDATE meta SET value = ? WHERE key = 'synced_block'", (str(synced_to),)
            )
        return len(rows)

    # -- reading ---------------------------------------------------------------------------

    def events(self, names: frozenset[str] | None = None) -> Iterator[LedgerEvent]:
        """Every indexed event (or those named), in chain order."""
        query = "SELECT block, log_index, tx_hash, name, args FROM events"
        params: list[str] = []
        if names is not None:
            query += f" WHERE name IN ({', '.join('?' * len(names))})"
            params = sorted(names)
        for block, log_index, tx_hash, name, args in self.db.execute(
            query + " ORDER BY block, log_index", params
        ):
            yield LedgerEvent(name, block, b"", bytes(tx_hash), log_index, _decode_args(args))

    def count(self, table: str) -> int:
        if table not in ("events", "anchors", "attestations", "revocations"):
            raise ValueError(f"no table {table}")
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608

    def anchors(self) -> list[Anchor]:
        rows = self.db.execute("SELECT * FROM anchors ORDER BY block, log_index").fetchall()
        return [_anchor(row) for row in rows]

    def attestations(self, subject: bytes | None = None) -> list[Attestation]:
        """Every single fact, or those about ``subject``, in chain order."""
        query = "SELECT * FROM attestations"
        params: tuple[bytes, ...] = ()
        if subject is not None:
            query, params = query + " WHERE subject = ?", (subject,)
        rows = self.db.execute(query + " ORDER BY block, log_index", params).fetchall()
        return [_attestation(row) for row in rows]

    def superseded_by(self, agency_id: int, uid: bytes) -> list[Attestation]:
        """The agency's facts that name its fact ``uid`` as the one they replace."""
        rows = self.db.execute(
            "SELECT * FROM attestations WHERE ref_uid = ? AND agency_id = ? "
            "ORDER BY block, log_index",
            (uid, agency_id),
        ).fetchall()
        return [_attestation(row) for row in rows]

    def writes_of(self, value: bytes, *, batch: bool) -> list[Anchor | Attestation]:
        """Every agency's anchor of the root ``value`` (``batch``), or every agency's single
        fact with the uid ``value``, in chain order."""
        table = "anchors WHERE root" if batch else "attestations WHERE uid"
        rows = self.db.execute(
            f"SELECT * FROM {table} = ? ORDER BY block, log_index",  # noqa: S608
            (value,),
        ).fetchall()
        return [_anchor(row) if batch else _attestation(row) for row in rows]

    def all_revocations(self) -> list[Revocation]:
        """Every revocation, in chain order."""
        rows = self.db.execute("SELECT * FROM revocations ORDER BY block, log_index").fetchall()
        return [_revocation(row) for row in rows]

    def block_timestamps(self, rpc: Rpc | None, numbers: set[int]) -> dict[int, int]:
        """Timestamps of ``numbers``, fetched (in one batch) and cached when ``rpc`` is given."""
        wanted = sorted(numbers)
        known: dict[int, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT number, timestamp FROM blocks WHERE number IN ({marks})",  # noqa: S608
                chunk,
            ).fetchall()
            known.update((int(n), int(t)) for n, t in rows)
        missing = [n for n in wanted if n not in known]
        if rpc is not None and missing:
            answers = rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in missing])
            fresh = [
                (n, as_int(b["timestamp"]))
                for n, b in zip(missing, answers, strict=True)
                if isinstance(b, dict)
            ]
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?)", fresh)
            known.update(fresh)
        return known

    # -- the verifier's questions (LedgerView) ---------------------------------------------

    def anchor(self, agency_id: int, root: bytes) -> Anchor | None:
        row = self.db.execute(
            "SELECT * FROM anchors WHERE root = ? AND agency_id = ?", (root, agency_id)
        ).fetchone()
        return None if row is None else _anchor(row)

    def attestation(self, agency_id: int, uid: bytes) -> Attestation | None:
        row = self.db.execute(
            "SELECT * FROM attestations WHERE uid = ? AND agency_id = ?", (uid, agency_id)
        ).fetchone()
        return None if row is None else _attestation(row)

    def revocations(self, agency_id: int, target: bytes) -> dict[bytes | None, Revocation]:
        rows = self.db.execute(
            "SELECT * FROM revocations WHERE target = ? AND agency_id = ?", (target, agency_id)
        )
        return {r.leaf: r for r in map(_revocation, rows.fetchall())}

    def membership(self, at: Position) -> MembershipHistory:
        if self._membership is None:
            self._membership = MembershipHistory(self.events(GOVERNANCE_EVENTS))
        return self._membership

    def head(self) -> int:
        return self._head

    def where(self) -> str:
        return f"index {self.path} (synced to block {self.synced_block})"


def _not_an_index(path: str | Path, exc: sqlite3.DatabaseError) -> IndexStateError:
    return IndexStateError(
        f"{path} is not a taxledger index ({exc}); give the index file `taxledger audit` "
        "synced, or a new file name to create one"
    )


def _fetch(rpc: Rpc, address: str, pages: list[tuple[int, int]]) -> list[LedgerEvent]:
    """The decoded events of ``pages``, asked for in one JSON-RPC batch."""
    answers = rpc.batch(
        [
            ("eth_getLogs", [{"address": address, "fromBlock": hex(a), "toBlock": hex(b)}])
            for a, b in pages
        ]
    )
    events: list[LedgerEvent] = []
    for (a, b), answer in zip(pages, answers, strict=True):
        if isinstance(answer, ChainError):
            raise IndexStateError(f"reading the events of blocks {a}..{b} failed: {answer}")
        events.extend(e for log in answer if not log.get("removed") and (e := decode_log(log)))
    return events


def _anchor(row: tuple[Any, ...]) -> Anchor:
    root, schema_id, agency_id, signer, count, block, log_index, tx_hash = row
    return Anchor(
        bytes(root), bytes(schema_id), agency_id, signer, count, block, log_index, bytes(tx_hash)
    )


def _attestation(row: tuple[Any, ...]) -> Attestation:
    uid, schema_id, subject, agency_id, signer, ref_uid, expiration, block, log_index, tx = row
    return Attestation(
        bytes(uid),
        bytes(schema_id),
        bytes(subject),
        agency_id,
        signer,
        bytes(ref_uid),
        expiration,
        block,
        log_index,
        bytes(tx),
    )


def _revocation(row: tuple[Any, ...]) -> Revocation:
    target, leaf, agency_id, signer, reason, block, log_index, tx_hash = row
    return Revocation(
        bytes(target),
        bytes(leaf) or None,
        agency_id,
        signer,
        bytes(reason),
        block,
        log_index,
        bytes(tx_hash),
    )
