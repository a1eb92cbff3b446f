"""The verifier and the audit sync: bundles verified per second against a synced index, and
blocks per second the audit index reads from a node.

``scripts/bench_verify.py`` and ``taxledger bench`` both measure through these functions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex
from ledger_node.benchmarks import inputs_set_aside
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc
from ledger_node.chain.transactions import Sender
from ledger_node.deployment import Deployment
from ledger_node.hashing import keccak256
from ledger_node.keys import LocalKey
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS
from ledger_node.verify import Verifier

CONSORTIUM_KEY = b"\x42" * 32


@dataclass(frozen=True)
class VerifyRate:
    """Bundles verified, wall-clock and CPU seconds of this process."""

    bundles: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.bundles / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        return self.bundles / self.cpu_seconds if self.cpu_seconds else 0.0


@dataclass(frozen=True)
class SyncRate:
    """Blocks (and events) the audit index read from the node, and the seconds it took."""

    blocks: int
    events: int
    head: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.blocks / self.seconds if self.seconds else 0.0


def prepare_bundles(
    client: LedgerClient, key: LocalKey, sender: Sender, bundles: int, batch: int
) -> list[bytes]:
    """Anchor ``bundles`` sample invoices in batches of ``batch``; their bundles as JSON."""
    records = samples.generate(INVOICE_ISSUED, bundles, seed=1)
    documents = []
    for start in range(0, bundles, batch):
        made = anchor_records(
            client,
            key,
            sender,
            INVOICE_ISSUED,
            records[start : start + batch],
            consortium_key=CONSORTIUM_KEY,
        )
        documents += [orjson.dumps(b.to_dict()) for b in made]
    return documents


def verify_rate(
    rpc: Rpc, deployment: Deployment, documents: list[bytes], index_path: Path
) -> VerifyRate:
    """Sync an audit index, then verify every bundle (all checks) against it."""
    index = AuditIndex.create_or_open(index_path, deployment)
    index.sync(rpc)
    verifier = Verifier.from_index(index)
    with inputs_set_aside():
        started, cpu = time.perf_counter(), time.process_time()
        for raw in documents:
            verifier.verify_bytes(raw)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return VerifyRate(len(documents), elapsed, cpu)


def grow_chain(
    rpc: Rpc, client: LedgerClient, key: LocalKey, sender: Sender, blocks: int, anchors: int
) -> int:
    """Add about ``blocks`` blocks holding ``anchors`` anchors (in rounds of 100, the rest
    empty blocks mined with ``anvil_mine``); return the anchors written."""
    schema_id = SCHEMAS[INVOICE_ISSUED].schema_id
    rounds = max(1, anchors // 100)
    filler = max(0, blocks // rounds - 100)
    for r in range(rounds):
        prepared = [
            client.prepare_anchor(
                key, schema_id=schema_id, root=keccak256(f"{r}:{i}".encode()), count=100
            )
            for i in range(100)
        ]
        sender.wait(client.send_prepared(sender, prepared, gas=200_000))
        # Small steps: anvil answers one huge anvil_mine slower than many small ones.
        for _ in range(filler // 100):
            rpc.request("anvil_mine", [hex(100)])
        rpc.request("anvil_mine", [hex(filler % 100)])
    return rounds * 100


def sync_rate(rpc: Rpc, deployment: Deployment, index_path: Path) -> SyncRate:
    """Sync a fresh audit index from the deployment block to the head."""
    head = int(rpc.request("eth_blockNumber", []), 16)
    index = AuditIndex.create_or_open(index_path, deployment)
    started = time.perf_counter()
    result = index.sync(rpc)
    return SyncRate(result.blocks, result.events, head, time.perf_counter() - started)
