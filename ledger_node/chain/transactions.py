"""Raw EIP-1559 transactions: fees, a nonce manager safe under concurrency, signing, sending
without double submission, and receipts.

Transactions are signed here with libsecp256k1 directly (through :class:`LocalKey`) and RLP
encoded by hand: several times faster than a general-purpose signer, which matters when one
process submits hundreds of attestations a second.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger_node.chain.errors import ChainError, NodeUnavailable, RpcError
from ledger_node.chain.rpc import Rpc, as_bytes, as_int
from ledger_node.hashing import keccak256
from ledger_node.keys import LocalKey
from ledger_node.rlp import encode_bytes as _rlp_bytes
from ledger_node.rlp import encode_int as _rlp_int
from ledger_node.rlp import encode_list as _rlp_list

GWEI = 10**9


_EMPTY_ACCESS_LIST = _rlp_list(b"")


class ReceiptTimeout(ChainError, TimeoutError):
    """A transaction was not mined in time; it may still be mined later."""


@dataclass(frozen=True)
class SignedTransaction:
    """A signed transaction, kept until it is mined so a retry sends the very same bytes."""

    raw: bytes
    tx_hash: bytes
    nonce: int
    gas: int


@dataclass(frozen=True)
class Receipt:
    """The parts of a transaction receipt the ledger needs."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    status: int
    gas_used: int
    logs: list[dict[str, Any]]
    contract_address: str | None

    @classmethod
    def from_rpc(cls, doc: dict[str, Any]) -> Receipt:
        return cls(
            tx_hash=as_bytes(doc["transactionHash"]),
            block_number=as_int(doc["blockNumber"]),
            block_hash=as_bytes(doc["blockHash"]),
            status=as_int(doc["status"]),
            gas_used=as_int(doc["gasUsed"]),
            logs=list(doc["logs"]),
            contract_address=(doc.get("contractAddress") or None)
            and str(doc["contractAddress"]).lower(),
        )


@dataclass
class FeePolicy:
    """EIP-1559 fee caps: ``max_fee = base_fee * headroom + tip``.

    The headroom covers the base fee climbing 12.5% per full block while a transaction waits.
    """

    tip: int = 1 * GWEI
    headroom: int = 3
    refresh_seconds: float = 0.5


class Sender:
    """An account that pays for and sends transactions, with its own nonce sequence.

    Nonces are handed out under a lock, so any number of threads may send at once. A signed
    transaction is only ever re-sent byte for byte: a retry can never mine twice.
    """

    def __init__(self, rpc: Rpc, key: LocalKey, chain_id: int, fees: FeePolicy | None = None):
        self.rpc = rpc
        self.key = key
        self.address = key.address
        self.chain_id = chain_id
        self.fees = fees or FeePolicy()
        self._lock = threading.Lock()
        self._ordered = threading.Lock()
        self._next_nonce: int | None = None
        self._fee_cache: tuple[float, int] | None = None

    # -- nonces and fees -------------------------------------------------------------------

    def take_nonces(self, count: int) -> int:
        """Reserve ``count`` consecutive nonces; return the first."""
        with self._lock:
            if self._next_nonce is None:
                self._next_nonce = self.pending_nonce()
            first = self._next_nonce
            self._next_nonce += count
            return first

    def pending_nonce(self) -> int:
        """The nonce the node expects next from this account (its pending transactions
        counted)."""
        return as_int(self.rpc.request("eth_getTransactionCount", [self.address, "pending"]))

    def resync_nonce(self) -> None:
        """Forget the local nonce; the next send asks the node for its pending count."""
        with self._lock:
            self._next_nonce = None

    def max_fee(self) -> int:
        """The fee cap for a transaction sent now."""
        now = time.monotonic()
        cached = self._fee_cache
        if cached is None or now - cached[0] > self.fees.refresh_seconds:
            block = self.rpc.request("eth_getBlockByNumber", ["latest", False])
            base = as_int(block.get("baseFeePerGas", 0) or 0)
            cached = (now, base)
            self._fee_cache = cached
        return cached[1] * self.fees.headroom + self.fees.tip

    # -- building --------------------------------------------------------------------------

    def sign(
        self, to: str | None, data: bytes, gas: int, nonce: int, max_fee: int
    ) -> SignedTransaction:
        """Sign a type-2 transaction calling ``to`` with ``data`` (``to=None`` deploys)."""
        fields = (
            _rlp_int(self.chain_id)
            + _rlp_int(nonce)
            + _rlp_int(min(self.fees.tip, max_fee))
            + _rlp_int(max_fee)
            + _rlp_int(gas)
            + _rlp_bytes(b"" if to is None else bytes.fromhex(to[2:]))
            + _rlp_int(0)
            + _rlp_bytes(data)
            + _EMPTY_ACCESS_LIST
        )
        y_parity, r, s = self.key.sign_recoverable(keccak256(b"\x02" + _rlp_list(fields)))
        raw = b"\x02" + _rlp_list(fields + _rlp_int(y_parity) + _rlp_int(r) + _rlp_int(s))
        return SignedTransaction(raw=raw, tx_hash=keccak256(raw), nonce=nonce, gas=gas)

    def estimate_gas(self, to: str | None, data: bytes) -> int:
        """Gas the call needs; raises the contract's typed error if it would revert."""
        call = {"from": self.address, "data": "0x" + data.hex()}
        if to is not None:
            call["to"] = to
        return as_int(self.rpc.request("eth_estimateGas", [call]))

    # -- sending ---------------------------------------------------------------------------

    def send(self, to: str | None, data: bytes, gas: int | None = None) -> SignedTransaction:
        """Sign and send one transaction; estimate its gas (and preflight it) if not given."""
        if gas is None:
            gas = self.estimate_gas(to, data) * 6 // 5 + 5_000
        return self.send_many([(to, data, gas)])[0]

    def send_many(self, calls: Sequence[tuple[str | None, bytes, int]]) -> list[SignedTransaction]:
        """Sign and send many transactions in one JSON-RPC batch, in nonce order."""
        if not calls:
            return []
        # The embedded chain refuses a nonce gap instead of queueing it, so there a nonce is
        # taken and sent in one critical section; a real node queues and may take them in any
        # order.
        with self._ordered if self.rpc.embedded else contextlib.nullcontext():
            first = self.take_nonces(len(calls))
            fee = self.max_fee()
            txs = [
                self.sign(to, data, gas, first + i, fee) for i, (to, data, gas) in enumerate(calls)
            ]
            self.submit(txs)
        return txs

    def submit(self, txs: Sequence[SignedTransaction], attempts: int = 5) -> None:
        """Send signed transactions, retrying the same bytes while the node is unreachable.

        A node that already has a transaction (it says "already known", or "nonce too low"
        and knows the transaction's hash) counts it as sent. Any other rejection raises, and
        the nonce sequence is re-read from the node, because the rejected nonce was not used.
        """
        pending = list(txs)
        for attempt in range(attempts):
            try:
                results = self.rpc.batch(
                    [("eth_sendRawTransaction", ["0x" + tx.raw.hex()]) for tx in pending]
                )
            except NodeUnavailable:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * 2**attempt)
                continue
            retry = []
            for tx, result in zip(pending, results, strict=True):
                if isinstance(result, NodeUnavailable):
                    retry.append(tx)
                elif isinstance(result, RpcError) and self._node_has(tx, result.message):
                    continue
                elif isinstance(result, ChainError):
                    self.resync_nonce()
                    raise result
            if not retry:
                return
            pending = retry
            time.sleep(0.2 * 2**attempt)
        raise NodeUnavailable(f"{len(pending)} transaction(s) could not be sent")

    def _node_has(self, tx: SignedTransaction, message: str) -> bool:
        """Whether a rejection only says the node has this very transaction already.

        "Already known" says so; "nonce too low" says the nonce is used, which is fine only if
        it was used by this transaction (a retry after an unknown outcome) and not by another.
        """
        text = message.lower()
        if not any(
            m in text for m in ("already known", "already imported", "known transaction", "nonce")
        ):
            return False
        found = self.rpc.request("eth_getTransactionByHash", ["0x" + tx.tx_hash.hex()])
        return found is not None

    def receipt(self, tx_hash: bytes) -> Receipt | None:
        """The receipt of a transaction, or None while it is not mined."""
        doc = self.rpc.request("eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
        return None if doc is None else Receipt.from_rpc(doc)

    def receipts(self, tx_hashes: Sequence[bytes]) -> list[Receipt | None]:
        """The receipts of many transactions in one round trip (None: not mined, or the node
        could not say); raises :class:`NodeUnavailable` if the node cannot be reached."""
        results = self.rpc.batch(
            [("eth_getTransactionReceipt", ["0x" + tx_hash.hex()]) for tx_hash in tx_hashes]
        )
        out: list[Receipt | None] = []
        for result in results:
            if isinstance(result, NodeUnavailable):
                raise result
            out.append(Receipt.from_rpc(result) if isinstance(result, dict) else None)
        return out

    def wait(self, txs: Sequence[SignedTransaction], timeout: float = 120.0) -> list[Receipt]:
        """Wait until every transaction is mined; receipts in the same order."""
        found: dict[bytes, Receipt] = {}
        deadline = time.monotonic() + timeout
        delay = 0.0 if self.rpc.embedded else 0.05
        while True:
            missing = [tx for tx in txs if tx.tx_hash not in found]
            if not missing:
                return [found[tx.tx_hash] for tx in txs]
            for tx, receipt in zip(
                missing, self.receipts([tx.tx_hash for tx in missing]), strict=True
            ):
                if receipt is not None:
                    found[tx.tx_hash] = receipt
            if len(found) == len(txs):
                continue
            if time.monotonic() > deadline:
                raise ReceiptTimeout(
                    f"{len(txs) - len(found)} transaction(s) not mined after {timeout:.0f} s; "
                    "they may still be mined"
                )
            time.sleep(delay or 0.01)
            delay = min(max(delay * 2, 0.05), 0.5)
