"""Watching the node: does it answer, promptly, for the chain this outbox is bound to?

A gateway must notice a node that hangs (every call has a deadline; a batcher stuck in one
for longer than that is reported), stops, or comes back as another chain: another chain id,
another genesis block (a node restarted without its data has a new one), or no code at the
ledger's address. Until the chain is the right one again the batcher signs and sends
nothing, so nothing is sent that would have to be signed again; records are still
accepted, durably.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.outbox import Outbox
from ledger_node.chain.errors import ChainError
from ledger_node.chain.ledger import LedgerClient

#: Seconds between full identity checks (chain id, genesis block, ledger code).
IDENTITY_INTERVAL = 2.0


class WrongChain(ChainError):
    """The node answers, but not for the chain and ledger this outbox is bound to."""


@dataclass
class ChainStatus:
    """What the batcher last saw of the chain, for /healthz.

    ``problem`` says why the gateway cannot write now (None: it can); ``ok_at`` is when the
    batcher last finished a pass (monotonic clock), so a pass stuck in a call to a hung node
    shows as staleness even before that call times out.
    """

    reachable: bool = False
    block_number: int | None = None
    problem: str | None = None
    ok_at: float | None = None
    started_at: float = field(default_factory=time.monotonic)

    def degraded(self, stale_after: float) -> str | None:
        """Why the gateway is degraded, or None if it is not."""
        now = time.monotonic()
        if self.problem is not None:
            return self.problem
        since = self.ok_at if self.ok_at is not None else self.started_at
        if now - since > stale_after:
            return f"the node has not answered for {now - since:.0f} s"
        if self.ok_at is None:
            return "not in contact with the node yet"
        return None


class ChainWatch:
    """Checks, every :data:`IDENTITY_INTERVAL`, that the node is on the outbox's chain."""

    def __init__(self, ledger: LedgerClient, outbox: Outbox) -> None:
        self._ledger = ledger
        self._outbox = outbox
        self._checked_at: float | None = None
        self._genesis: str | None = None

    def check(self) -> int:
        """The head block; raises :class:`WrongChain` if the node is on another chain, or a
        ChainError if it cannot be asked."""
        now = time.monotonic()
        if self._checked_at is not None and now - self._checked_at < IDENTITY_INTERVAL:
            return self._ledger.block_number()
        identity = self._ledger.identity()
        if identity.chain_id != self._ledger.chain_id:
            raise WrongChain(
                f"the node is on chain {identity.chain_id}, the ledger on chain "
                f"{self._ledger.chain_id}; point the gateway at a node of its chain"
            )
        genesis = "0x" + identity.genesis_hash.hex()
        if self._genesis is None:  # the first chain this outbox saw is its chain for good
            self._genesis = self._outbox.bind({"genesis": genesis})["genesis"]
        bound = self._genesis
        if bound != genesis:
            raise WrongChain(
                f"the node's genesis block is {genesis}, this outbox's chain began with "
                f"{bound}: the node was reset or is another network; restore its data"
            )
        if identity.code_size == 0:
            raise WrongChain(
                f"the node has no ledger at {self._ledger.address}: it lost its state or is "
                "another network; restore its data"
            )
        self._checked_at = now
        return identity.block_number

    def forget(self) -> None:
        """Check the identity again at the next pass (after an outage)."""
        self._checked_at = None
