"""The batcher: cuts accepted records into batches, signs and anchors their roots, follows
them to finality, and sends revocations. One background thread per gateway owns the sender.

Every signed write is persisted before it is sent, and only ever re-sent byte for byte, so a
crash at any instant leaves either nothing sent or a stored transaction to send again. A
batch keeps its root for life: if its transaction can never mine (its signature expired, or
its nonce went to another transaction), the same root is signed again; the ledger refuses a
root twice, so a record is anchored at most once, and the outbox retries until it is anchored
at least once. A root counts as anchored only when the ledger shows it as this agency
signed it (agency, schema, root, count); a root on chain under another claim is not this
batch's, and its records are re-anchored in new batches (see :mod:`ledger_node.anchoring`).

Each pass of the loop, in order:

(0) check the node: reachable, and on the outbox's chain (else sign and send nothing);
(1) after a start or a node outage: reconcile every open write with the chain and re-send it;
(2) cut a batch per schema once it has ``batch_size`` records or its oldest waited
    ``batch_interval`` (not while the node refuses this gateway's transactions);
(3) sign the next requested revocation (one at a time: the ledger's signer nonces are
    sequential);
(4) poll receipts of sent writes; re-send those the node forgot; re-sign those that failed;
(5) mark anchored batches final after ``confirmations`` blocks, if still on chain as signed.

(4) and (5) run when the head moved, something was sent, or a second has passed: in
between, nothing they look at can have changed on chain (a pass is cheap while idle).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.chainwatch import ChainStatus, ChainWatch, WrongChain
from gateway.connection import AgencyChain
from gateway.faults import crash_point
from gateway.metrics import GatewayMetrics
from gateway.outbox import (
    BatchRow,
    BatchStatus,
    Outbox,
    RevocationRow,
    RevocationStatus,
    SignedWrite,
)
from ledger_node.anchoring import (
    Confirmation,
    Verdict,
    confirm_batch,
    on_chain_as_signed,
    prepare_batch,
)
from ledger_node.chain.errors import ChainError, LedgerAlreadyRevoked, NodeUnavailable, RpcError
from ledger_node.chain.ledger import Prepared
from ledger_node.chain.transactions import Receipt, SignedTransaction
from ledger_node.eip712 import BatchRequest
from ledger_node.merkle import MerkleTree
from ledger_node.records.schemas import get_schema

log = logging.getLogger(__name__)

#: Most batches signed and not yet mined: bounds the work lost to a stuck node.
MAX_IN_FLIGHT = 32
#: Most batches cut in one pass of the loop.
CUTS_PER_PASS = 4
#: Longest time between two looks at receipts while the head stands still (re-sends and
#: retries are due by the clock, not by blocks).
POLL_INTERVAL = 1.0
#: Re-send a write the node has not mined after this long (it may have lost its mempool).
RESEND_AFTER = 6.0
#: Pause before trying again a revocation the ledger refused.
REVOCATION_RETRY = 5.0
#: Pause before sending again a transaction the node refused (funds, for instance).
REFUSED_RETRY = 5.0
#: Longest pause between retries while the node is down, and between re-signing a batch
#: whose transaction reverted (doubling from one second).
MAX_BACKOFF = 10.0
#: Node refusals meaning the stored transaction can never be accepted: sign it again.
_NONCE_USED = ("nonce too low", "nonce_too_low", "nonce has already been used")
_FEE_TOO_LOW = (
    "fee cap",
    "base fee",
    "underpriced",
    "gas price below",
    "gas_price_below",
    "max fee per gas less than",
)


@dataclass
class _Open:
    """A sent write awaiting its receipt."""

    write: SignedWrite
    sent_at: float
    on_mined: Callable[[Receipt], None]
    on_unsendable: Callable[[], None]


class Batcher:
    """Anchors one gateway's outbox; see the module docstring for the loop."""

    def __init__(
        self,
        outbox: Outbox,
        chain: AgencyChain,
        metrics: GatewayMetrics,
        *,
        batch_size: int,
        batch_interval: float,
        confirmations: int,
    ) -> None:
        self.outbox = outbox
        self.chain = chain
        self.metrics = metrics
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.confirmations = confirmations
        self.status = ChainStatus()
        self._ledger = chain.ledger
        self._sender = chain.ledger.sender(chain.sender_key)
        self._watch = ChainWatch(self._ledger, outbox)
        self._next_nonce = 0
        # Set when the node refused a transaction: its nonce is free, so the next write
        # takes the node's pending count instead of leaving a gap nothing would fill.
        self._refill_nonce = False
        # Set while the node refuses this gateway's transactions for a reason re-signing
        # cannot cure (funds): nothing new is signed until a stored write gets through.
        self._refused: str | None = None
        self._synced = False
        self._retry_at: dict[bytes | str, float] = {}
        self._backoff: dict[bytes, float] = {}
        self._sent_at: dict[bytes, float] = {}
        # What the last look at receipts saw: nothing can be mined, final or reorganised
        # before the head moves, so a pass in between skips (4) and (5), unless it sent
        # something or a retry may be due.
        self._polled_head: int | None = None
        self._polled_at = 0.0
        self._sent_since_poll = False
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
                self._failed(str(exc), reachable=False)
            except WrongChain as exc:
                self._failed(str(exc), reachable=True)
            except Exception as exc:
                # Anything else (a node error, a full disk) must not kill the thread: the
                # outbox is intact, so after a pause the loop reconciles and carries on.
                log.exception("batcher step failed; retrying")
                self._failed(f"batcher error: {exc}", reachable=self.status.reachable)
            else:
                backoff = 0.5
                self._wake.wait(tick)
                self._wake.clear()
                continue
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _failed(self, problem: str, *, reachable: bool) -> None:
        if self.status.problem != problem:
            log.warning("degraded: %s", problem)
        self.metrics.chain_errors.inc()
        self.status.reachable = reachable
        self.status.problem = problem
        self._synced = False
        self._watch.forget()

    def step(self) -> None:
        """One pass of the loop (the tests drive it directly too)."""
        self.status.block_number = self._watch.check()  # (0)
        self.status.reachable = True
        if not self._synced:
            self._reconcile()  # (1)
        if self._refused is None:
            self._cut_batches()  # (2)
            self._sign_revocation()  # (3)
        now = time.monotonic()
        head = self.status.block_number
        if (
            head != self._polled_head
            or self._sent_since_poll
            or now - self._polled_at >= POLL_INTERVAL
        ):
            self._polled_head, self._polled_at, self._sent_since_poll = head, now, False
            self._poll()  # (4)
            self._finalise()  # (5)
        if self.status.problem is not None and self._refused is None:
            log.info("the node is back: %s no more", self.status.problem)
        self.status.problem = self._refused
        self.status.ok_at = time.monotonic()

    # -- (1) reconcile ---------------------------------------------------------------------

    def _reconcile(self) -> None:
        writes = [b.write for b in self.outbox.batches.open() if b.status is BatchStatus.PENDING]
        writes += [
            r.write
            for r in self.outbox.revocations.open()
            if r.status is RevocationStatus.PENDING and r.write is not None
        ]
        writes.sort(key=lambda w: w.nonce)
        self._next_nonce = max([self._sender.pending_nonce()] + [w.nonce + 1 for w in writes])
        self._refused = None
        # In nonce order, so a node that lost its mempool gets no gap.
        for write in writes:
            self._send(write)
        self._synced = True
        if writes:
            log.info("resumed %d signed write(s) from the outbox", len(writes))

    # -- signing and sending ---------------------------------------------------------------

    def _take_nonce(self) -> int:
        if self._refill_nonce:
            self._next_nonce = min(self._next_nonce, self._sender.pending_nonce())
            self._refill_nonce = False
        nonce = self._next_nonce
        self._next_nonce += 1
        return nonce

    def _sign(self, prepared: Prepared, deadline: int, gas: int) -> SignedWrite:
        nonce = self._take_nonce()
        tx = self._sender.sign(
            self._ledger.address, prepared.calldata, gas, nonce, self._sender.max_fee()
        )
        return SignedWrite(prepared.signature, deadline, tx.raw, tx.tx_hash, nonce, gas)

    def _send(self, write: SignedWrite) -> bool:
        """Send (again) the stored bytes; False if the node will never take them, so they
        must be signed again (their nonce went to another transaction, or their fee is below
        the base fee)."""
        self._sent_at[write.tx_hash] = time.monotonic()
        self._sent_since_poll = True
        try:
            # One attempt: the loop's own retries (and its health report) take over after.
            self._sender.submit(
                [SignedTransaction(write.raw_tx, write.tx_hash, write.nonce, write.gas)],
                attempts=1,
            )
        except RpcError as exc:
            text = exc.message.lower().replace("_", " ")
            if any(m.replace("_", " ") in text for m in _NONCE_USED + _FEE_TOO_LOW):
                log.warning("node refused transaction 0x%s for good: %s", write.tx_hash.hex(),
                            exc.message)  # fmt: skip
                # Its nonce may be free now: the next signature takes the node's count.
                self._refill_nonce = True
                return False
            # Funds, a full pool, a permissioning rule: the same bytes (and their nonce) may
            # pass later, and new signatures would meet the same refusal. Stop signing until
            # they pass.
            if self._refused is None:
                log.warning("node refuses this gateway's transactions: %s", exc.message)
            self._refused = f"the node refuses this gateway's transactions: {exc.message}"
            return True
        if self._refused is not None:
            log.info("the node takes this gateway's transactions again")
            self._refused = None
        return True

    # -- (2) batches -----------------------------------------------------------------------

    def _cut_batches(self) -> None:
        in_flight = sum(1 for b in self.outbox.batches.open() if b.status is BatchStatus.PENDING)
        # A few per pass, so a pass (and the node's health it reports) stays short.
        in_flight_after = min(MAX_IN_FLIGHT, in_flight + CUTS_PER_PASS)
        now = time.time()
        for backlog in self.outbox.backlog():
            remaining = backlog.count
            while remaining and in_flight < in_flight_after and self._refused is None:
                full = remaining >= self.batch_size
                if not full and now - backlog.oldest_accepted_at < self.batch_interval:
                    break
                remaining -= self._cut(backlog.schema)
                in_flight += 1

    def _cut(self, schema: str) -> int:
        first = self.outbox.batches.next_seq(schema)
        leaves = self.outbox.records.leaves(first, self.batch_size)
        if not leaves:
            return 0
        batch = self._signed(schema, first, MerkleTree(leaves))
        try:
            self.outbox.batches.save(batch, leaves)
        except BaseException:
            self._next_nonce -= 1  # nothing was stored or sent: the nonce is free again
            raise
        self._dispatch(batch)
        return len(leaves)

    def _signed(self, schema: str, first: int, tree: MerkleTree) -> BatchRow:
        deadline = self._ledger.default_deadline()
        prepared = prepare_batch(
            self._ledger,
            self.chain.agency_id,
            self.chain.agency_key,
            self._sender,
            schema_id=get_schema(schema).schema_id,
            tree=tree,
            nonce=self._take_nonce(),
            deadline=deadline,
        )
        tx = prepared.transaction
        write = SignedWrite(prepared.signature, deadline, tx.raw, tx.tx_hash, tx.nonce, tx.gas)
        return BatchRow(
            tree.root, schema, first, len(tree), BatchStatus.PENDING, write, time.time(), None,
            None,
        )  # fmt: skip

    def _dispatch(self, batch: BatchRow) -> None:
        crash_point("batch-saved")
        if not self._send(batch.write):
            self._resign_batch(batch)
        crash_point("batch-sent")

    def _resign_batch(self, batch: BatchRow) -> None:
        """Sign the batch's root again with a fresh deadline and nonce, persist, send."""
        signed = self._signed(batch.schema, batch.first_seq, self.outbox.batches.tree(batch.root))
        self.outbox.batches.resign(batch.root, signed.write)
        log.warning("re-signed batch 0x%s with nonce %d", batch.root.hex(), signed.write.nonce)
        self._send(signed.write)

    def _reanchor(self, batch: BatchRow, confirmation: Confirmation) -> None:
        """The root is on chain under another claim: give the records to new batches (two
        halves: new roots), signed, stored and sent."""
        self.metrics.batches_reanchored.inc()
        if batch.count < 2:
            problem = (
                f"batch 0x{batch.root.hex()} cannot be anchored: {confirmation.detail}; a "
                "single record has no other root, so check who else signs with this agency's key"
            )
            log.error("%s", problem)
            self.outbox.batches.set_error(batch.root, problem)
            return
        leaves = self.outbox.batches.leaves(batch.root)
        half = batch.count // 2
        parts = [
            self._signed(batch.schema, batch.first_seq, MerkleTree(leaves[:half])),
            self._signed(batch.schema, batch.first_seq + half, MerkleTree(leaves[half:])),
        ]
        self.outbox.batches.supersede(
            batch.root, [(parts[0], leaves[:half]), (parts[1], leaves[half:])]
        )
        log.warning(
            "batch 0x%s is not this agency's on chain (%s); its %d records are re-anchored as "
            "0x%s and 0x%s",
            batch.root.hex(), confirmation.detail, batch.count, parts[0].root.hex(),
            parts[1].root.hex(),
        )  # fmt: skip
        for part in parts:
            self._dispatch(part)

    def _request_of(self, batch: BatchRow) -> BatchRequest:
        return BatchRequest(
            get_schema(batch.schema).schema_id, batch.root, batch.count, batch.write.deadline
        )

    def _batch_mined(self, batch: BatchRow, receipt: Receipt | None) -> None:
        """A batch's transaction was mined (``receipt``) or can never be (None)."""
        if receipt is not None:
            crash_point("batch-mined")
        confirmation = confirm_batch(
            self._ledger, self.chain.agency_id, self._request_of(batch), batch.write.tx_hash,
            receipt,
        )  # fmt: skip
        verdict = confirmation.verdict
        if verdict is Verdict.ANCHORED:
            assert confirmation.block_number is not None
            self._anchored(batch, confirmation.block_number, None)
        elif verdict is Verdict.ANCHORED_BEFORE:
            assert confirmation.block_number is not None
            self._anchored(batch, confirmation.block_number, _found_write(confirmation))
        elif verdict is Verdict.TAKEN:
            self._reanchor(batch, confirmation)
        elif receipt is None:
            self._resign_batch(batch)
        else:
            reason = self._ledger.revert_reason(self._sender, batch.write.tx_hash, receipt)
            self.outbox.batches.set_error(batch.root, reason)
            delay = self._backoff.get(batch.root, 1.0)
            self._backoff[batch.root] = min(delay * 2, MAX_BACKOFF)
            self._retry_at[batch.root] = time.monotonic() + delay
            log.warning("batch 0x%s reverted: %s; signing it again in %.0f s",
                        batch.root.hex(), reason, delay)  # fmt: skip

    def _anchored(self, batch: BatchRow, block: int, by: SignedWrite | None) -> None:
        self.outbox.batches.set_status(batch.root, BatchStatus.ANCHORED, block, by)
        self._backoff.pop(batch.root, None)
        self.metrics.batches_anchored.inc()
        self.metrics.records_anchored.inc(batch.count)
        self.metrics.anchor_seconds.observe(max(time.time() - batch.created_at, 0.0))

    # -- (3) revocations -------------------------------------------------------------------

    def _sign_revocation(self) -> None:
        open_revocations = self.outbox.revocations.open()
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
        record = self.outbox.record(requested.record_id)
        assert record is not None and record.batch is not None
        deadline = self._ledger.default_deadline()
        prepared = self._ledger.prepare_revoke_leaf(
            self.chain.agency_key,
            root=record.batch.root,
            schema_id=get_schema(record.schema).schema_id,
            commitment=record.commitment,
            proof=self.outbox.proof(record),
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
            self.outbox.revocations.set_revoked(requested.record_id, block)
            return
        except NodeUnavailable:
            raise
        except ChainError as exc:
            # Kept, and tried again later: governance may lift the cause (a suspension).
            self.outbox.revocations.set_error(requested.record_id, str(exc))
            self._retry_at[requested.record_id] = now + REVOCATION_RETRY
            return
        write = self._sign(prepared, deadline, gas * 6 // 5 + 10_000)
        self.outbox.revocations.save(requested.record_id, write)
        crash_point("revocation-saved")
        if not self._send(write):
            self.outbox.revocations.save(requested.record_id, None)
        crash_point("revocation-sent")

    def _revocation_mined(self, revocation: RevocationRow, receipt: Receipt | None) -> None:
        record = self.outbox.record(revocation.record_id)
        assert record is not None and record.batch is not None
        block = self._ledger.leaf_revoked_at(self.chain.agency_id, record.batch.root, record.leaf)
        if block:
            self.outbox.revocations.set_revoked(revocation.record_id, block)
            return
        if receipt is not None:
            assert revocation.write is not None
            reason = self._ledger.revert_reason(self._sender, revocation.write.tx_hash, receipt)
            self.outbox.revocations.set_error(revocation.record_id, reason)
        # Signed again with a fresh nonce at the next pass.
        self.outbox.revocations.save(revocation.record_id, None)

    # -- (4) receipts ----------------------------------------------------------------------

    def _poll(self) -> None:
        waiting: list[_Open] = []
        now = time.monotonic()
        for batch in self.outbox.batches.open():
            if batch.status is not BatchStatus.PENDING:
                continue
            if self._retry_at.get(batch.root, 0.0) > now:
                continue
            if batch.root in self._retry_at:  # its last transaction reverted: sign anew
                del self._retry_at[batch.root]
                self._resign_batch(batch)
                continue
            waiting.append(
                _Open(
                    batch.write,
                    self._sent_at.get(batch.write.tx_hash, 0.0),
                    _bind(self._batch_mined, batch),
                    _bind_none(self._batch_mined, batch),
                )
            )
        for revocation in self.outbox.revocations.open():
            if revocation.status is RevocationStatus.PENDING and revocation.write is not None:
                waiting.append(
                    _Open(
                        revocation.write,
                        self._sent_at.get(revocation.write.tx_hash, 0.0),
                        _bind(self._revocation_mined, revocation),
                        _bind_none(self._revocation_mined, revocation),
                    )
                )
        if not waiting:
            return
        receipts = self._sender.receipts([w.write.tx_hash for w in waiting])
        now = time.monotonic()
        for item, receipt in zip(waiting, receipts, strict=True):
            if receipt is not None:
                self._sent_at.pop(item.write.tx_hash, None)
                item.on_mined(receipt)
            elif self._due(item, now) and not self._send(item.write):
                item.on_unsendable()

    def _due(self, item: _Open, now: float) -> bool:
        wait = REFUSED_RETRY if self._refused is not None else RESEND_AFTER
        return now - item.sent_at > wait

    # -- (5) finality ----------------------------------------------------------------------

    def _finalise(self) -> None:
        head = self.status.block_number
        assert head is not None
        for batch in self.outbox.batches.open():
            if batch.status is not BatchStatus.ANCHORED or batch.block_number is None:
                continue
            if head - batch.block_number + 1 < self.confirmations:
                continue
            onchain, mismatch = on_chain_as_signed(
                self._ledger, self.chain.agency_id, self._request_of(batch)
            )
            if onchain is None:
                # A reorganisation dropped it; signing the root again is safe, the ledger
                # takes a root once.
                log.warning("batch 0x%s left the chain; anchoring it again", batch.root.hex())
                self._resign_batch(batch)
            elif mismatch:
                self._reanchor(batch, Confirmation(Verdict.TAKEN, detail=mismatch))
            elif onchain.anchored_block == batch.block_number:
                self.outbox.batches.set_status(batch.root, BatchStatus.FINAL, batch.block_number)
            else:
                self.outbox.batches.set_status(
                    batch.root, BatchStatus.ANCHORED, onchain.anchored_block
                )


def _found_write(confirmation: Confirmation) -> SignedWrite | None:
    """The stored form of a write found on chain (None: the node could not name it)."""
    if confirmation.tx_hash is None or confirmation.request is None:
        return None
    assert confirmation.signature is not None
    assert confirmation.nonce is not None and confirmation.gas is not None
    return SignedWrite(
        confirmation.signature,
        confirmation.request.deadline,
        b"",
        confirmation.tx_hash,
        confirmation.nonce,
        confirmation.gas,
    )


def _bind(fn: Callable[[Any, Receipt | None], None], row: Any) -> Callable[[Receipt], None]:
    return lambda receipt: fn(row, receipt)


def _bind_none(fn: Callable[[Any, Receipt | None], None], row: Any) -> Callable[[], None]:
    return lambda: fn(row, None)
