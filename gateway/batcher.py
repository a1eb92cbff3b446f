"""The batcher: cuts accepted records into batches, signs and anchors their roots, follows
them to finality, and sends revocations. One background thread per gateway owns the sender.

Every signed write is persisted before it is sent, and only ever re-sent byte for byte, so a
crash at any instant leaves either nothing sent or a stored transaction to send again. A
batch keeps its root for life: if its transaction can never mine (its signature expired, or
its nonce went to another transaction), the same root is signed again; the ledger refuses a
root twice (``LedgerDuplicateRoot``), so a record is anchored at most once, and the outbox
retries until it is anchored at least once.

Each step of the loop, in order:

(1) after a start or a node outage: reconcile every open write with the chain and re-send it;
(2) cut a batch per schema once it has ``batch_size`` records or its oldest waited
    ``batch_interval``;
(3) sign the next requested revocation (one at a time: the ledger's signer nonces are
    sequential);
(4) poll receipts of sent writes; re-send those the node forgot; re-sign those that failed;
(5) mark anchored batches final after ``confirmations`` blocks, if still on chain.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode

from gateway.connection import AgencyChain
from gateway.metrics import GatewayMetrics
from gateway.store import (
    Assignment,
    BatchRow,
    BatchStatus,
    RevocationRow,
    RevocationStatus,
    SignedWrite,
    Store,
)
from ledger_node.chain.errors import ChainError, LedgerAlreadyRevoked, NodeUnavailable, RpcError
from ledger_node.chain.events import TOPICS, EventReader
from ledger_node.chain.ledger import Prepared
from ledger_node.chain.rpc import as_bytes, as_int
from ledger_node.chain.transactions import Receipt, SignedTransaction
from ledger_node.merkle import MerkleTree
from ledger_node.records.schemas import get_schema

log = logging.getLogger(__name__)

#: Gas limit of ``anchorBatch`` (about 63k used; the rest is headroom for storage repricing).
ANCHOR_GAS = 120_000
#: Most batches signed and not yet mined: bounds the work lost to a stuck node.
MAX_IN_FLIGHT = 32
#: Re-send a write the node has not mined after this long (it may have lost its mempool).
RESEND_AFTER = 6.0
#: Pause before trying again a revocation the ledger refused.
REVOCATION_RETRY = 5.0
#: Longest pause between retries while the node is down.
MAX_BACKOFF = 10.0


@dataclass
class ChainStatus:
    """What the batcher last saw of the chain, for /healthz."""

    reachable: bool = False
    block_number: int | None = None
    last_error: str | None = None


@dataclass
class _Open:
    """A sent write awaiting its receipt."""

    write: SignedWrite
    sent_at: float
    on_mined: Callable[[Receipt], None]


class Batcher:
    """Anchors one gateway's outbox; see the module docstring for the loop."""

    def __init__(
        self,
        store: Store,
        chain: AgencyChain,
        metrics: GatewayMetrics,
        *,
        batch_size: int,
        batch_interval: float,
        confirmations: int,
    ) -> None:
        self.store = store
        self.chain = chain
        self.metrics = metrics
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.confirmations = confirmations
        self.status = ChainStatus()
        self._ledger = chain.ledger
        self._sender = chain.ledger.sender(chain.sender_key)
        self._events = EventReader(self._ledger.rpc, self._ledger.address)
        self._next_nonce = 0
        # Set when the node refused a transaction: its nonce is free, so the next write
        # takes the node's pending count instead of leaving a gap nothing would fill.
        self._refill_nonce = False
        self._synced = False
        self._retry_at: dict[str, float] = {}
        self._sent_at: dict[bytes, float] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop; unsent work stays in the outbox for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def notify(self) -> None:
        """New records arrived: look for a full batch now rather than at the next tick."""
        self._wake.set()

    def _run(self) -> None:
        backoff = 0.5
        tick = min(0.1, self.batch_interval / 2)
        while not self._stop.is_set():
            try:
                self.step()
            except NodeUnavailable as exc:
                self._failed(exc, "node unreachable")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            except Exception as exc:
                # Anything else (a node error, a full disk) must not kill the thread: the
                # outbox is intact, so after a pause the loop reconciles and carries on.
                log.exception("batcher step failed; retrying")
                self._failed(exc, "batcher error")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 0.5
            self._wake.wait(tick)
            self._wake.clear()

    def _failed(self, exc: Exception, what: str) -> None:
        self.metrics.chain_errors.inc()
        self.status.reachable = not isinstance(exc, NodeUnavailable)
        self.status.last_error = f"{what}: {exc}"
        self._synced = False

    def step(self) -> None:
        """One pass of the loop (the tests drive it directly too)."""
        if not self._synced:
            self._reconcile()  # (1)
        self.status.block_number = self._ledger.block_number()
        self.status.reachable = True
        self._cut_batches()  # (2)
        self._sign_revocation()  # (3)
        self._poll()  # (4)
        self._finalise()  # (5)
        self.status.last_error = None

    # -- (1) reconcile ---------------------------------------------------------------------

    def _reconcile(self) -> None:
        writes = [b.write for b in self.store.open_batches() if b.status is BatchStatus.PENDING]
        writes += [
            r.write
            for r in self.store.open_revocations()
            if r.status is RevocationStatus.PENDING and r.write is not None
        ]
        writes.sort(key=lambda w: w.nonce)
        node_nonce = as_int(
            self._ledger.rpc.request("eth_getTransactionCount", [self._sender.address, "pending"])
        )
        self._next_nonce = max([node_nonce] + [w.nonce + 1 for w in writes])
        # In nonce order, so a node that lost its mempool gets no gap.
        for write in writes:
            self._send(write)
        self._synced = True
        if writes:
            log.info("resumed %d signed write(s) from the outbox", len(writes))

    # -- signing and sending ---------------------------------------------------------------

    def _sign(self, prepared: Prepared, deadline: int, gas: int) -> SignedWrite:
        if self._refill_nonce:
            self._next_nonce = min(self._next_nonce, self._node_nonce())
            self._refill_nonce = False
        nonce = self._next_nonce
        self._next_nonce += 1
        tx = self._sender.sign(
            self._ledger.address, prepared.calldata, gas, nonce, self._sender.max_fee()
        )
        return SignedWrite(prepared.signature, deadline, tx.raw, tx.tx_hash, nonce, gas)

    def _send(self, write: SignedWrite) -> bool:
        """Send (again) the stored bytes; False if the node refused them for good."""
        self._sent_at[write.tx_hash] = time.monotonic()
        try:
            self._sender.submit(
                [SignedTransaction(write.raw_tx, write.tx_hash, write.nonce, write.gas)]
            )
        except RpcError as exc:
            # The node keeps running, but will never mine these bytes: "nonce too low" (the
            # nonce went to another transaction) or a rejection (fee, funds).
            log.warning("node refused transaction 0x%s: %s", write.tx_hash.hex(), exc.message)
            self.status.last_error = f"node refused a transaction: {exc.message}"
            self._refill_nonce = True
            return False
        return True

    # -- (2) batches -----------------------------------------------------------------------

    def _cut_batches(self) -> None:
        in_flight = sum(1 for b in self.store.open_batches() if b.status is BatchStatus.PENDING)
        now = time.time()
        for backlog in self.store.backlog():
            remaining = backlog.count
            while remaining and in_flight < MAX_IN_FLIGHT:
                full = remaining >= self.batch_size
                if not full and now - backlog.oldest_accepted_at < self.batch_interval:
                    break
                remaining -= self._cut(backlog.schema)
                in_flight += 1

    def _cut(self, schema_name: str) -> int:
        rows = self.store.unbatched(schema_name, self.batch_size)
        if not rows:
            return 0
        schema = get_schema(schema_name)
        tree = MerkleTree([leaf for _, leaf in rows])
        proofs = tree.all_proofs()
        deadline = self._ledger.default_deadline()
        prepared = self._ledger.prepare_anchor(
            self.chain.agency_key,
            schema_id=schema.schema_id,
            root=tree.root,
            count=len(rows),
            deadline=deadline,
        )
        write = self._sign(prepared, deadline, ANCHOR_GAS)
        batch = BatchRow(
            tree.root, schema_name, len(rows), BatchStatus.PENDING, write, time.time(), None, None
        )
        assignments = [Assignment(seq, i, proofs[i]) for i, (seq, _) in enumerate(rows)]
        try:
            self.store.save_batch(batch, assignments)
        except BaseException:
            self._next_nonce -= 1  # nothing was stored or sent: the nonce is free again
            raise
        if not self._send(write):
            self._resign_batch(batch)
        return len(rows)

    def _resign_batch(self, batch: BatchRow) -> None:
        """Sign the batch's root again with a fresh deadline and nonce, persist, send."""
        deadline = self._ledger.default_deadline()
        prepared = self._ledger.prepare_anchor(
            self.chain.agency_key,
            schema_id=get_schema(batch.schema).schema_id,
            root=batch.root,
            count=batch.count,
            deadline=deadline,
        )
        write = self._sign(prepared, deadline, ANCHOR_GAS)
        self.store.resign_batch(batch.root, write)
        log.warning("re-signed batch 0x%s with nonce %d", batch.root.hex(), write.nonce)
        self._send(write)

    def _node_nonce(self) -> int:
        return as_int(
            self._ledger.rpc.request("eth_getTransactionCount", [self._sender.address, "pending"])
        )

    def _batch_mined(self, batch: BatchRow, receipt: Receipt) -> None:
        if receipt.status == 1:
            self._anchored(batch, receipt.block_number, None)
            return
        onchain = self._ledger.batch(self.chain.agency_id, batch.root)
        if onchain is not None:
            # Reverted as LedgerDuplicateRoot: an earlier signature of this root made it.
            self._anchored(
                batch, onchain.anchored_block, self._anchoring_write(batch, onchain.anchored_block)
            )
            return
        reason = self._revert_reason(batch.write, receipt)
        log.warning("batch 0x%s reverted: %s; signing it again", batch.root.hex(), reason)
        self.store.set_batch_error(batch.root, reason)
        self._resign_batch(batch)

    def _anchored(self, batch: BatchRow, block: int, by: SignedWrite | None) -> None:
        self.store.set_batch_status(batch.root, BatchStatus.ANCHORED, block, by)
        self.metrics.batches_anchored.inc()
        self.metrics.records_anchored.inc(batch.count)
        self.metrics.anchor_seconds.observe(max(time.time() - batch.created_at, 0.0))

    def _anchoring_write(self, batch: BatchRow, block: int) -> SignedWrite | None:
        """The transaction that anchored ``batch.root`` at ``block``, read from the chain;
        None if the node no longer has that block's logs (the stored write is then kept)."""
        agency = self.chain.agency_id.to_bytes(32, "big")
        events = self._events.logs(
            block, block, [TOPICS["BatchAnchored"], batch.root, None, agency]
        )
        if not events:
            return None
        tx_hash = events[0].tx_hash
        tx = self._ledger.rpc.request("eth_getTransactionByHash", ["0x" + tx_hash.hex()])
        (_, _, _, deadline), signature = decode(
            ["(bytes32,bytes32,uint32,uint64)", "bytes"], as_bytes(tx["input"])[4:]
        )
        return SignedWrite(
            bytes(signature), int(deadline), b"", tx_hash, as_int(tx["nonce"]), as_int(tx["gas"])
        )

    def _revert_reason(self, write: SignedWrite, receipt: Receipt) -> str:
        tx = self._ledger.rpc.request("eth_getTransactionByHash", ["0x" + write.tx_hash.hex()])
        signed = SignedTransaction(write.raw_tx, write.tx_hash, write.nonce, write.gas)
        try:
            self._ledger.raise_for_status(self._sender, signed, receipt, as_bytes(tx["input"]))
        except ChainError as exc:
            return str(exc)
        return "reverted"

    # -- (3) revocations -------------------------------------------------------------------

    def _sign_revocation(self) -> None:
        open_revocations = self.store.open_revocations()
        if any(r.status is RevocationStatus.PENDING for r in open_revocations):
            return
        now = time.monotonic()
        requested = next(
            (
                r
                for r in open_revocations
                if r.status is RevocationStatus.REQUESTED
                and self._retry_at.get(r.record_id, 0.0) <= now
            ),
            None,
        )
        if requested is None:
            return
        record = self.store.record(requested.record_id)
        assert record is not None and record.batch is not None and record.leaf_index is not None
        deadline = self._ledger.default_deadline()
        prepared = self._ledger.prepare_revoke_leaf(
            self.chain.agency_key,
            root=record.batch.root,
            schema_id=get_schema(record.schema).schema_id,
            commitment=record.commitment,
            proof=record.proof,
            reason=requested.reason_hash,
            nonce=self._ledger.nonce(self.chain.agency_key.address),
            deadline=deadline,
        )
        try:
            # The preflight names the reason a revocation cannot succeed, before it is signed.
            gas = self._sender.estimate_gas(self._ledger.address, prepared.calldata)
        except LedgerAlreadyRevoked:
            block = self._ledger.leaf_revoked_at(
                self.chain.agency_id, record.batch.root, record.leaf
            )
            self.store.set_revoked(requested.record_id, block)
            return
        except NodeUnavailable:
            raise
        except ChainError as exc:
            # Kept, and tried again later: governance may lift the cause (a suspension).
            self.store.set_revocation_error(requested.record_id, str(exc))
            self._retry_at[requested.record_id] = now + REVOCATION_RETRY
            return
        write = self._sign(prepared, deadline, gas * 6 // 5 + 10_000)
        self.store.save_revocation(requested.record_id, write)
        if not self._send(write):
            self.store.save_revocation(requested.record_id, None)

    def _revocation_mined(self, revocation: RevocationRow, receipt: Receipt) -> None:
        record = self.store.record(revocation.record_id)
        assert record is not None and record.batch is not None
        block = self._ledger.leaf_revoked_at(self.chain.agency_id, record.batch.root, record.leaf)
        if block:
            self.store.set_revoked(revocation.record_id, block)
            return
        assert revocation.write is not None
        reason = self._revert_reason(revocation.write, receipt)
        self.store.set_revocation_error(revocation.record_id, reason)
        self.store.save_revocation(revocation.record_id, None)  # sign again with a fresh nonce

    # -- (4) receipts ----------------------------------------------------------------------

    def _poll(self) -> None:
        waiting: list[_Open] = []
        for batch in self.store.open_batches():
            if batch.status is BatchStatus.PENDING:
                waiting.append(
                    _Open(
                        batch.write,
                        self._sent_at.get(batch.write.tx_hash, 0.0),
                        _bind(self._batch_mined, batch),
                    )
                )
        for revocation in self.store.open_revocations():
            if revocation.status is RevocationStatus.PENDING and revocation.write is not None:
                waiting.append(
                    _Open(
                        revocation.write,
                        self._sent_at.get(revocation.write.tx_hash, 0.0),
                        _bind(self._revocation_mined, revocation),
                    )
                )
        if not waiting:
            return
        results = self._ledger.rpc.batch(
            [("eth_getTransactionReceipt", ["0x" + w.write.tx_hash.hex()]) for w in waiting]
        )
        now = time.monotonic()
        for item, result in zip(waiting, results, strict=True):
            if isinstance(result, NodeUnavailable):
                raise result
            if isinstance(result, dict):
                self._sent_at.pop(item.write.tx_hash, None)
                item.on_mined(Receipt.from_rpc(result))
            elif now - item.sent_at > RESEND_AFTER and not self._send(item.write):
                self._unsendable(item)

    def _unsendable(self, item: _Open) -> None:
        """The node will never mine a stored write: decide from the chain what to do."""
        for batch in self.store.open_batches():
            if batch.write.tx_hash == item.write.tx_hash:
                onchain = self._ledger.batch(self.chain.agency_id, batch.root)
                if onchain is not None:
                    block = onchain.anchored_block
                    self._anchored(batch, block, self._anchoring_write(batch, block))
                else:
                    self._resign_batch(batch)
                return
        for revocation in self.store.open_revocations():
            if revocation.write is not None and revocation.write.tx_hash == item.write.tx_hash:
                self.store.save_revocation(revocation.record_id, None)
                return

    # -- (5) finality ----------------------------------------------------------------------

    def _finalise(self) -> None:
        head = self.status.block_number
        assert head is not None
        for batch in self.store.open_batches():
            if batch.status is not BatchStatus.ANCHORED or batch.block_number is None:
                continue
            if head - batch.block_number + 1 < self.confirmations:
                continue
            onchain = self._ledger.batch(self.chain.agency_id, batch.root)
            if onchain is not None and onchain.anchored_block == batch.block_number:
                self.store.set_batch_status(batch.root, BatchStatus.FINAL, batch.block_number)
            elif onchain is None:
                # A reorganisation dropped it; signing the root again is safe, the ledger
                # takes a root once.
                log.warning("batch 0x%s left the chain; anchoring it again", batch.root.hex())
                self._resign_batch(batch)
            else:
                self.store.set_batch_status(
                    batch.root, BatchStatus.ANCHORED, onchain.anchored_block
                )


def _bind(fn: Callable[[Any, Receipt], None], row: Any) -> Callable[[Receipt], None]:
    return lambda receipt: fn(row, receipt)
