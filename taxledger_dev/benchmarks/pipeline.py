"""The write-throughput harness shared by both sides of ``taxledger bench``.

Both sides pay for the same work before anything is sent: real sample records are validated,
canonicalised, salted and committed (:class:`CommitPool`, in worker processes so committing
overlaps sending). Each side then writes the commitments its own way and :func:`drive` counts
records from the first submission until their transactions are mined, counting only records
whose transaction mined with status 1.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger_node.chain.rpc import Rpc, as_bytes, as_int
from ledger_node.chain.transactions import SignedTransaction
from ledger_node.commitment import commit_records
from ledger_node.merkle import MerkleTree
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED
from ledger_node.records.validation import validate

#: The schema every throughput figure writes: invoices are the volume of the ledger.
SCHEMA = INVOICE_ISSUED


@dataclass(frozen=True)
class WriteRate:
    """Records written in a window: submitted from ``0`` s, mined by ``seconds``."""

    records: int
    seconds: float
    blocks: int
    transactions: int
    reverted_records: int

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


# -- committing records ------------------------------------------------------------------------

_POOL_RECORDS: list[dict[str, Any]] = []


def _init_worker(records: list[dict[str, Any]]) -> None:
    _POOL_RECORDS[:] = records


def _committed(start: int, count: int) -> list[bytes]:
    """Validate and commit ``count`` records of the pool from ``start`` (wrapping); fresh salts
    make every commitment new even when a record repeats."""
    pool = _POOL_RECORDS
    size = len(pool)
    validated = [validate(SCHEMA, pool[(start + i) % size]) for i in range(count)]
    return [c.commitment for c in commit_records(validated)]


def commitments_task(start: int, count: int) -> bytes:
    """Worker task: the records' commitments, concatenated (32 bytes each)."""
    return b"".join(_committed(start, count))


def tree_task(start: int, count: int) -> tuple[bytes, int]:
    """Worker task: the Merkle root over the records' leaves, and the leaf count."""
    pool = _POOL_RECORDS
    size = len(pool)
    validated = [validate(SCHEMA, pool[(start + i) % size]) for i in range(count)]
    tree = MerkleTree([c.leaf for c in commit_records(validated)])
    return tree.root, count


def sample_records(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """``count`` realistic invoices (generated once; generating is slower than committing)."""
    return samples.generate(SCHEMA, count, seed=seed)


class CommitPool:
    """Worker processes holding a pool of sample records, committing slices of it on demand.

    :meth:`stream` keeps ``ahead`` tasks queued so the workers never wait for the caller.
    """

    def __init__(self, records: list[dict[str, Any]], workers: int | None = None) -> None:
        self.workers = workers or max(1, min(2, len(os.sched_getaffinity(0))))
        ctx = multiprocessing.get_context("spawn")
        self.pool: multiprocessing.pool.Pool = ctx.Pool(
            self.workers, initializer=_init_worker, initargs=(records,)
        )
        self.size = len(records)
        self.cursor = 0
        # Start every worker now (imports and the record pool), not inside a timed window.
        self.pool.map(_committed_count, [(0, 1)] * self.workers)

    def stream(
        self, task: Callable[[int, int], Any], count: int, ahead: int | None = None
    ) -> StreamedTasks:
        return StreamedTasks(self, task, count, ahead or self.workers * 2)

    def worker_pids(self) -> list[int]:
        processes: list[Any] = self.pool._pool  # type: ignore[attr-defined]
        return [int(p.pid) for p in processes]

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()

    def __enter__(self) -> CommitPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _committed_count(args: tuple[int, int]) -> int:
    return len(_committed(*args))


class StreamedTasks:
    """An endless stream of one task over successive slices of the record pool."""

    def __init__(
        self, owner: CommitPool, task: Callable[[int, int], Any], count: int, ahead: int
    ) -> None:
        self.owner = owner
        self.task = task
        self.count = count
        self.queued: deque[multiprocessing.pool.AsyncResult[Any]] = deque()
        for _ in range(ahead):
            self._queue()

    def _queue(self) -> None:
        owner = self.owner
        self.queued.append(owner.pool.apply_async(self.task, (owner.cursor, self.count)))
        owner.cursor = (owner.cursor + self.count) % owner.size

    def next(self) -> Any:
        result = self.queued.popleft().get()
        self._queue()
        return result

    def ready(self) -> bool:
        return self.queued[0].ready()

    def drain(self) -> None:
        """Wait for the queued tasks, so a later window starts with idle workers."""
        for queued in self.queued:
            queued.wait()
        self.queued.clear()


# -- sending and counting ----------------------------------------------------------------------


def resend(rpc: Rpc, txs: Sequence[SignedTransaction]) -> None:
    """Send signed transactions again, byte for byte; the node's answers are ignored (it
    refuses those it holds or has mined: the receipts tell what happened)."""
    if txs:
        rpc.batch([("eth_sendRawTransaction", ["0x" + tx.raw.hex()]) for tx in txs])


def drive(
    rpc: Rpc,
    produce: Callable[[], Sequence[tuple[SignedTransaction, int]]],
    submit: Callable[[Sequence[SignedTransaction]], None],
    *,
    seconds: float,
    max_in_flight: int,
    drain_timeout: float = 120.0,
    resend_after: float = 5.0,
) -> WriteRate:
    """Submit what ``produce`` makes (transactions and the records each carries) for
    ``seconds``, keeping at most ``max_in_flight`` records unmined; then wait for the rest.

    The figure runs from the first submission to the moment the last transaction is seen
    mined, read block by block (``eth_getBlockReceipts``). Records of reverted transactions
    are counted apart and not as written.
    """
    start_block = as_int(rpc.request("eth_blockNumber", []))
    seen = start_block
    pending: dict[bytes, int] = {}
    # anvil sometimes drops a queued transaction from its pool: the same bytes are sent again
    # after a while unmined (the node answers "already known" for those it still holds).
    unmined: dict[bytes, tuple[float, SignedTransaction]] = {}
    next_check = time.monotonic() + resend_after
    in_flight = mined = reverted = transactions = 0
    started = time.monotonic()
    deadline = started + seconds
    last_mined = started
    while True:
        now = time.monotonic()
        if now >= deadline and not pending:
            break
        if now > deadline + drain_timeout:
            late = len(pending)
            raise TimeoutError(f"{late} transaction(s) not mined {drain_timeout:.0f} s late")
        sent = False
        if now < deadline and in_flight < max_in_flight:
            made = produce()
            submit([tx for tx, _ in made])
            for tx, records in made:
                pending[tx.tx_hash] = records
                unmined[tx.tx_hash] = (now, tx)
                in_flight += records
            transactions += len(made)
            sent = True
        head = as_int(rpc.request("eth_blockNumber", []))
        if head > seen:
            calls = [("eth_getBlockReceipts", [hex(n)]) for n in range(seen + 1, head + 1)]
            for receipts in rpc.batch(calls):
                for receipt in receipts or ():
                    tx_hash = as_bytes(receipt["transactionHash"])
                    carried = pending.pop(tx_hash, 0)
                    if not carried:
                        continue
                    del unmined[tx_hash]
                    in_flight -= carried
                    if as_int(receipt["status"]) == 1:
                        mined += carried
                    else:
                        reverted += carried
                    last_mined = time.monotonic()
            seen = head
        elif not sent:
            time.sleep(0.02)
        if time.monotonic() > next_check:
            overdue = sorted(
                (tx for at, tx in unmined.values() if at < time.monotonic() - resend_after),
                key=lambda tx: tx.nonce,
            )
            resend(rpc, overdue)
            next_check = time.monotonic() + resend_after / 2
    return WriteRate(mined, last_mined - started, seen - start_block, transactions, reverted)
