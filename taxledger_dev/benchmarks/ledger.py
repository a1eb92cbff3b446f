"""Gas and throughput of the ledger's write paths on a real node."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from ledger_node.chain.deploy import FoundedConsortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import as_bytes, as_int
from ledger_node.chain.transactions import SignedTransaction
from ledger_node.commitment import leaf as make_leaf
from ledger_node.hashing import keccak256
from ledger_node.merkle import MerkleTree
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS, TAX_RATING
from taxledger_dev.benchmarks.pipeline import CommitPool, WriteRate, drive, tree_task

BATCH_SIZES = (1, 64, 1024, 4096)


@dataclass(frozen=True)
class GasFigures:
    """Gas of one attest (after the signer's first) and of anchorBatch per batch size."""

    attest_first: int
    attest: int
    anchor: dict[int, int]


@dataclass(frozen=True)
class Throughput:
    """Facts submitted and mined in a time window."""

    facts: int
    seconds: float
    blocks: int

    @property
    def per_second(self) -> float:
        return self.facts / self.seconds if self.seconds else 0.0


def _commitments(prefix: str, count: int) -> list[bytes]:
    return [keccak256(f"{prefix}{i}".encode()) for i in range(count)]


def measure_gas(ledger: LedgerClient, consortium: FoundedConsortium) -> GasFigures:
    """Gas used by ``attest`` and by ``anchorBatch`` over real Merkle trees of each size."""
    tax = consortium.keys["tax-bureau"]
    sender = ledger.sender(tax)
    rating = SCHEMAS[TAX_RATING].schema_id
    invoice = SCHEMAS[INVOICE_ISSUED].schema_id
    first = ledger.attest(tax, sender, schema_id=rating, commitment=keccak256(b"gas first"))
    again = ledger.attest(tax, sender, schema_id=rating, commitment=keccak256(b"gas second"))
    anchor = {}
    for size in BATCH_SIZES:
        tree = MerkleTree([make_leaf(invoice, c) for c in _commitments(f"gas{size}-", size)])
        written = ledger.anchor_batch(tax, sender, schema_id=invoice, root=tree.root, count=size)
        anchor[size] = written.gas_used
    return GasFigures(first.gas_used, again.gas_used, anchor)


def attest_throughput(
    ledger: LedgerClient,
    consortium: FoundedConsortium,
    *,
    seconds: float,
    chunk: int = 250,
    in_flight: int = 6000,
    senders: int = 1,
) -> Throughput:
    """Single attestations from one process: signed, sent in JSON-RPC batches, mined.

    Counts facts whose receipts came back with status 1 between the first send and the
    last receipt.
    """
    tax = consortium.keys["tax-bureau"]
    sender = ledger.sender(tax)
    rating = SCHEMAS[TAX_RATING].schema_id
    # Warm the signer's nonce slot so every measured attest costs the same gas.
    ledger.attest(tax, sender, schema_id=rating, commitment=keccak256(b"warm-up"))
    nonce = ledger.nonce(tax.address)
    probe = ledger.prepare_attest(
        tax, schema_id=rating, commitment=keccak256(b"probe"), nonce=nonce
    )
    gas = sender.estimate_gas(ledger.address, probe.calldata) * 11 // 10
    start_block = ledger.block_number()
    ours: set[bytes] = set()
    mined = 0
    counter = 0
    seen_block = start_block
    # Signing is Python work and sending is mostly waiting on the node: a sending thread lets
    # the two overlap (the socket wait releases the GIL).
    outbox: queue.Queue[list[SignedTransaction] | None] = queue.Queue(maxsize=4)
    failures: list[BaseException] = []

    def send_loop() -> None:
        while (txs := outbox.get()) is not None:
            try:
                sender.submit(txs)
            except BaseException as exc:  # surfaced by the main thread
                failures.append(exc)
                return

    threads = [threading.Thread(target=send_loop, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    deadline = started + seconds
    fee = sender.max_fee()
    try:
        while time.monotonic() < deadline or ours:
            if failures:
                raise failures[0]
            if time.monotonic() < deadline and len(ours) < in_flight:
                first = sender.take_nonces(chunk)
                txs = []
                for i in range(chunk):
                    prepared = ledger.prepare_attest(
                        tax,
                        schema_id=rating,
                        nonce=nonce,
                        commitment=keccak256(b"throughput %d" % counter),
                    )
                    nonce += 1
                    counter += 1
                    txs.append(sender.sign(ledger.address, prepared.calldata, gas, first + i, fee))
                ours.update(tx.tx_hash for tx in txs)
                outbox.put(txs)
            head = ledger.block_number()
            if head == seen_block:
                if time.monotonic() >= deadline or len(ours) >= in_flight:
                    time.sleep(0.05)
                continue
            # One call per new block returns all its receipts: far cheaper than one per
            # transaction.
            for receipts in ledger.rpc.batch(
                [("eth_getBlockReceipts", [hex(n)]) for n in range(seen_block + 1, head + 1)]
            ):
                for receipt in receipts:
                    tx_hash = as_bytes(receipt["transactionHash"])
                    if tx_hash in ours:
                        if as_int(receipt["status"]) != 1:
                            raise AssertionError("an attestation reverted during the benchmark")
                        ours.discard(tx_hash)
                        mined += 1
            seen_block = head
            fee = sender.max_fee()
    finally:
        for _ in threads:
            outbox.put(None)
        for thread in threads:
            thread.join()
    elapsed = time.monotonic() - started
    return Throughput(mined, elapsed, ledger.block_number() - start_block)


def anchor_throughput(
    ledger: LedgerClient,
    consortium: FoundedConsortium,
    pool: CommitPool,
    *,
    seconds: float,
    batch: int = 4096,
    batches_in_flight: int = 8,
) -> WriteRate:
    """taxledger's best write path: records validated and committed (in ``pool``), a Merkle
    tree of ``batch`` leaves, its root anchored by ``anchorBatch`` signed by the agency key;
    sent raw as soon as each tree is ready, counted once mined."""
    tax = consortium.keys["tax-bureau"]
    sender = ledger.sender(tax)
    invoice = SCHEMAS[INVOICE_ISSUED].schema_id
    probe = ledger.prepare_anchor(tax, schema_id=invoice, root=keccak256(b"probe"), count=batch)
    gas = sender.estimate_gas(ledger.address, probe.calldata) * 6 // 5
    stream = pool.stream(tree_task, batch)

    def produce() -> list[tuple[SignedTransaction, int]]:
        made: list[tuple[SignedTransaction, int]] = []
        while not made or (stream.ready() and len(made) < batches_in_flight):
            root, count = stream.next()
            prepared = ledger.prepare_anchor(tax, schema_id=invoice, root=root, count=count)
            nonce = sender.take_nonces(1)
            tx = sender.sign(ledger.address, prepared.calldata, gas, nonce, sender.max_fee())
            made.append((tx, count))
        return made

    try:
        return drive(
            ledger.rpc,
            produce,
            sender.submit,
            seconds=seconds,
            max_in_flight=batch * batches_in_flight,
        )
    finally:
        stream.drain()
