"""The outbox on real SQLite files: intake (new, duplicate, conflict), numbering without gaps
under concurrent group commits, batch ranges and their invariants, proofs from stored leaves,
re-anchoring a range, binding, and reopening."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from gateway.ingest import Ingestor, accepted_item, receipt_body, receipt_of_row
from gateway.outbox import BatchRow, BatchStatus, Outbox, Outcome, Row, SignedWrite
from gateway.outbox.batches import BatchRangeError
from gateway.outbox.commit import CHUNK
from gateway.outbox.records import SCHEMA_SPAN
from ledger_node.agencies import AgencyKind
from ledger_node.errors import ConfigurationError
from ledger_node.merkle import MerkleTree, verify
from ledger_node.records import samples
from ledger_node.tagging import Keyring
from ledger_node.tagkeys import DEFAULT_TAG_DOMAINS

INVOICE = "invoice.issued/v1"
RATING = "credit.tax-rating/v1"
KEYRING = Keyring.of({d.name: os.urandom(32) for d in DEFAULT_TAG_DOMAINS})
INGESTOR = Ingestor("tax-bureau", AgencyKind.TAX_BUREAU, KEYRING)


def rows(schema: str, count: int, prefix: str, seed: int = 1) -> list[Row]:
    out = []
    for i, record in enumerate(samples.generate(schema, count, seed=seed)):
        row = INGESTOR.prepare({"schema": schema, "id": f"{prefix}-{i}", "record": record}, i, 1.0)
        assert isinstance(row, tuple)
        out.append(row)
    return out


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db")
    yield box
    box.close()


def signed(seed: int) -> SignedWrite:
    return SignedWrite(bytes([seed]) * 65, 10**10, b"raw", bytes([seed]) * 32, seed, 120_000)


def batch_of(
    outbox: Outbox, schema: str, count: int, seed: int = 1
) -> tuple[BatchRow, list[bytes]]:
    """The next batch of ``schema`` over ``count`` records, as the batcher would cut it."""
    first = outbox.batches.next_seq(schema)
    leaves = outbox.records.leaves(first, count)
    tree = MerkleTree(leaves)
    row = BatchRow(
        tree.root, schema, first, len(leaves), BatchStatus.PENDING, signed(seed), time.time(),
        None, None,
    )  # fmt: skip
    return row, leaves


def test_new_duplicate_and_conflicting_ids(outbox: Outbox) -> None:
    first = rows(INVOICE, 3, "a")
    assert outbox.accept(first).new == 3
    other = rows(INVOICE, 1, "a", seed=9)[0]  # id a-0 with another record
    again = outbox.accept([first[1], other, *rows(INVOICE, 1, "b")])
    assert again.new == 1
    outcomes = [(k, outcome, earlier.id) for k, outcome, earlier in again.others]
    assert outcomes == [(0, Outcome.DUPLICATE, "a-1"), (1, Outcome.CONFLICT, "a-0")]
    assert again.others[0][2] == receipt_of_row(first[1])
    stored = outbox.record("a-1")
    assert stored is not None
    assert (stored.record_hash, stored.leaf, stored.status) == (
        first[1][3][:32],
        first[1][3][96:128],
        "accepted",
    )
    assert orjson.loads(stored.record) == orjson.loads(first[1][2])


def test_each_schema_is_numbered_without_gaps_under_concurrent_commits(outbox: Outbox) -> None:
    failures: list[BaseException] = []

    def post(schema: str, prefix: str) -> None:
        try:
            for chunk in range(5):
                batch = rows(schema, 40, f"{prefix}{chunk}", seed=chunk)
                outbox.accept(batch + batch[:3])  # three repeats inside the request
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=post, args=(INVOICE if n % 2 else RATING, f"t{n}-"))
        for n in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    counts = outbox.counts()
    assert counts["unbatched"] == 6 * 5 * 40
    for schema in (INVOICE, RATING):
        code = outbox.records.code(schema)
        assert code is not None
        assert outbox.records.newest(schema) == 3 * 5 * 40
        seqs = [
            seq
            for (seq,) in outbox.database.reader().execute(
                "SELECT seq FROM records WHERE seq > ? AND seq < ? ORDER BY seq",
                (code * SCHEMA_SPAN, (code + 1) * SCHEMA_SPAN),
            )
        ]
        assert seqs == list(range(code * SCHEMA_SPAN + 1, code * SCHEMA_SPAN + 601))


def test_a_request_of_several_schemas_numbers_each_in_its_own_range(outbox: Outbox) -> None:
    outbox.accept(rows(INVOICE, 2, "before"))
    invoices, ratings = rows(INVOICE, 3, "mixed-i"), rows(RATING, 3, "mixed-r")
    outbox.accept([invoices[0], ratings[0], ratings[1], invoices[1], invoices[2], ratings[2]])
    for schema, mixed, first in ((INVOICE, invoices, 3), (RATING, ratings, 1)):
        code = outbox.records.code(schema)
        assert code is not None
        numbers = []
        for row in mixed:
            stored = outbox.record(row[0])
            assert stored is not None and stored.schema == schema
            numbers.append(stored.seq - code * SCHEMA_SPAN)
        assert numbers == [first, first + 1, first + 2]


def test_a_failed_commit_hands_its_numbers_back(outbox: Outbox) -> None:
    outbox.accept(rows(INVOICE, 2, "ok"))
    broken: Row = ("bad", INVOICE, b"{}", ["not", "bytes"], 1.0)  # type: ignore[assignment]
    with pytest.raises(Exception, match="Error binding parameter"):
        outbox.accept([*rows(INVOICE, 2, "lost"), broken])
    assert outbox.record("lost-0") is None
    outbox.accept(rows(INVOICE, 1, "next"))
    stored = outbox.record("next-0")
    assert stored is not None
    assert stored.seq % SCHEMA_SPAN == 3


def test_batches_cover_their_schema_in_order(outbox: Outbox) -> None:
    outbox.accept(rows(INVOICE, 10, "i"))
    outbox.accept(rows(RATING, 4, "r"))
    batch, leaves = batch_of(outbox, INVOICE, 6)
    outbox.batches.save(batch, leaves)
    backlog = {b.schema: (b.count, b.first_seq) for b in outbox.backlog()}
    assert backlog == {INVOICE: (4, batch.end_seq), RATING: (4, outbox.batches.next_seq(RATING))}

    with pytest.raises(BatchRangeError, match="must start at record"):
        outbox.batches.save(batch, leaves)  # the same range again: a record in two roots
    skipping = BatchRow(
        b"\x01" * 32, INVOICE, batch.end_seq + 1, 2, BatchStatus.PENDING, signed(2), 0.0, None,
        None,
    )  # fmt: skip
    with pytest.raises(BatchRangeError, match="must start at record"):
        outbox.batches.save(skipping, leaves[:2])
    too_many, more = batch_of(outbox, INVOICE, 4)
    with pytest.raises(BatchRangeError, match=r"records .* 4 stored, 5 batched"):
        outbox.batches.save(
            BatchRow(too_many.root, INVOICE, too_many.first_seq, 5, BatchStatus.PENDING,
                     signed(3), 0.0, None, None),
            [*more, more[0]],
        )  # fmt: skip
    wrong_schema = BatchRow(
        b"\x02" * 32, RATING, too_many.first_seq, 4, BatchStatus.PENDING, signed(4), 0.0, None,
        None,
    )  # fmt: skip
    with pytest.raises(BatchRangeError, match=r"is not a credit\.tax-rating/v1 record"):
        outbox.batches.save(wrong_schema, more)


def test_status_and_proofs_come_from_the_batch(outbox: Outbox) -> None:
    accepted = rows(INVOICE, 7, "p")
    outbox.accept(accepted)
    batch, leaves = batch_of(outbox, INVOICE, 7)
    outbox.batches.save(batch, leaves)
    outbox.batches.set_status(batch.root, BatchStatus.ANCHORED, 41)
    for k, row in enumerate(accepted):
        stored = outbox.record(row[0])
        assert stored is not None and stored.batch is not None
        assert (stored.status, stored.leaf_index, stored.batch.block_number) == ("anchored", k, 41)
        assert verify(batch.root, stored.leaf, outbox.proof(stored))
    outbox.batches.set_status(batch.root, BatchStatus.FINAL, 41)
    assert outbox.accept(accepted[:1]).others[0][2].status == "final"
    assert outbox.counts() == {
        "unbatched": 0, "pending": 0, "anchored": 0, "final": 7, "batches_open": 0
    }  # fmt: skip


def test_a_superseded_range_goes_to_its_replacements(outbox: Outbox) -> None:
    accepted = rows(INVOICE, 5, "s")
    outbox.accept(accepted)
    batch, leaves = batch_of(outbox, INVOICE, 5)
    outbox.batches.save(batch, leaves)
    halves = []
    for first, part in ((batch.first_seq, leaves[:2]), (batch.first_seq + 2, leaves[2:])):
        tree = MerkleTree(part)
        halves.append(
            (BatchRow(tree.root, INVOICE, first, len(part), BatchStatus.PENDING,
                      signed(first % 7), 0.0, None, None), part)
        )  # fmt: skip
    with pytest.raises(BatchRangeError, match="cover the whole range"):
        outbox.batches.supersede(batch.root, halves[:1])
    outbox.batches.supersede(batch.root, halves)
    assert [b.root for b in outbox.batches.open()] == [h[0].root for h in halves]
    for k, row in enumerate(accepted):
        stored = outbox.record(row[0])
        assert stored is not None and stored.batch is not None
        half = halves[0][0] if k < 2 else halves[1][0]
        assert stored.batch.root == half.root
        assert verify(half.root, stored.leaf, outbox.proof(stored))
    assert outbox.batches.next_seq(INVOICE) == batch.end_seq


def test_binding_refuses_another_ledger_and_adds_new_keys(outbox: Outbox, tmp_path: Path) -> None:
    identity = {"chain_id": "31337", "ledger": "0xabc", "agency": "0xdef"}
    assert outbox.bind(identity) == identity
    assert outbox.bind({"genesis": "0x01"})["genesis"] == "0x01"
    assert outbox.bind({**identity, "genesis": "0x01"})["genesis"] == "0x01"
    with pytest.raises(ConfigurationError, match=r"ledger differ; give this gateway its own"):
        outbox.bind({**identity, "ledger": "0x999"})
    with pytest.raises(ConfigurationError, match=r"genesis differ"):
        outbox.bind({"genesis": "0x02"})


def test_reopening_carries_on_the_numbering(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    first = Outbox(path)
    first.accept(rows(INVOICE, 3, "x"))
    batch, leaves = batch_of(first, INVOICE, 3)
    first.batches.save(batch, leaves)
    first.close()
    again = Outbox(path)
    try:
        again.accept(rows(INVOICE, 2, "y"))
        stored = again.record("y-1")
        assert stored is not None
        assert stored.seq % SCHEMA_SPAN == 5
        assert [b.count for b in again.backlog()] == [2]
        assert again.batches.tree(batch.root).root == batch.root
    finally:
        again.close()


def test_the_rendered_bulk_answer_equals_the_model_json() -> None:
    for k, row in enumerate(rows(INVOICE, 3, "render")):
        rendered = accepted_item(k, row, orjson.dumps(row[4]))
        expected = {
            "index": k,
            "id": row[0],
            "status": 202,
            "receipt": receipt_body(receipt_of_row(row)),
        }
        assert rendered == orjson.dumps(expected)


def test_a_bulk_larger_than_a_chunk_commits_whole_with_its_repeats_found(outbox: Outbox) -> None:
    many = rows(INVOICE, CHUNK + 300, "c")
    conflicting = rows(INVOICE, 1, "c", seed=5)[0]  # id c-0, another record
    posted = [*many, many[10], conflicting]
    accepted = outbox.accept(posted)
    assert accepted.new == len(many)
    assert [(k, outcome) for k, outcome, _ in accepted.others] == [
        (len(many), Outcome.DUPLICATE),
        (len(many) + 1, Outcome.CONFLICT),
    ]
    assert outbox.records.newest(INVOICE) == len(many)


LAYOUT1 = Path(__file__).parent.parent / "assets" / "outbox" / "layout1.sql"


def test_an_outbox_of_layout_1_is_upgraded_in_place(tmp_path: Path) -> None:
    """tests/assets/outbox/layout1.sql: an outbox written by the gateway before the outbox
    package (records numbered across schemas, proofs stored per record): 12 invoices and 3
    ratings accepted interleaved, a final and an anchored invoice batch, a pending rating
    batch, unbatched records of both, and a revocation asked for."""
    path = tmp_path / "outbox.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(LAYOUT1.read_text())
        old = {
            row[0]: row[1:]
            for row in conn.execute("SELECT id, batch_root, leaf_index, proof, leaf FROM records")
        }
    box = Outbox(path)
    try:
        assert (
            box.database.reader()
            .execute("SELECT value FROM meta WHERE key = 'format'")
            .fetchone()[0]
            == "2"
        )
        identity = {"chain_id": "31337", "ledger": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                    "agency": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"}  # fmt: skip
        assert box.bind(identity) == identity
        statuses = {}
        for record_id, (root, index, proof, leaf) in old.items():
            stored = box.record(record_id)
            assert stored is not None and stored.leaf == leaf
            statuses[record_id] = stored.status
            if root is None:
                assert stored.batch is None
                continue
            assert stored.batch is not None and stored.batch.root == root
            assert stored.leaf_index == index
            assert b"".join(box.proof(stored)) == proof
            assert verify(root, leaf, box.proof(stored))
        assert statuses == {
            **{f"inv-{i}": "final" for i in range(5)},
            **{f"inv-{i}": "anchored" for i in range(5, 9)},
            **{f"inv-{i}": "accepted" for i in range(9, 12)},
            **{f"rating-{i}": "accepted" for i in range(3)},
        }
        assert sorted((b.schema, b.count) for b in box.backlog()) == [(RATING, 1), (INVOICE, 3)]
        revocation = box.revocations.get("inv-2")
        assert revocation is not None and revocation.reason == "红冲 开具错误"
        box.accept(rows(INVOICE, 1, "after"))
        after = box.record("after-0")
        assert after is not None and after.seq % SCHEMA_SPAN == 13
    finally:
        box.close()


def test_a_layout_1_outbox_that_breaks_its_ranges_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(LAYOUT1.read_text())
        # An unbatched record claimed by the final batch: not what a gateway writes.
        conn.execute(
            "UPDATE records SET batch_root = (SELECT root FROM batches WHERE status = 'final'),"
            " leaf_index = 5 WHERE id = 'inv-10'"
        )
    with pytest.raises(ConfigurationError, match="does not hold consecutive records"):
        Outbox(path)
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(records)")]
    assert "batch_root" in columns
