"""The verifier and the audit sync: bundles verified per second against a synced index, and
blocks per second the audit index reads from a node.

``scripts/bench_verify.py`` and ``taxledger bench`` both measure through these functions.
"""

from __future__ import annotations

import functools
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc
from ledger_node.chain.transactions import Sender
from ledger_node.cli.parallel import verify_in_processes
from ledger_node.cli.verify import index_verifier
from ledger_node.deployment import Deployment
from ledger_node.hashing import keccak256
from ledger_node.keys import LocalKey
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS
from ledger_node.verify import Verifier
from taxledger_dev.benchmarks.harness import inputs_set_aside

CONSORTIUM_KEY = b"\x42" * 32


@dataclass(frozen=True)
class VerifyRate:
    """Bundles verified, wall-clock seconds, and CPU seconds of this process and of the worker
    processes it verified in."""

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


def measure_verify(index_path: Path, documents: list[bytes], processes: int = 1) -> VerifyRate:
    """Verify every bundle (all checks) against a synced audit index with a fresh verifier (no
    anchor or proof node known in advance), in ``processes`` processes; every one must pass."""
    index = AuditIndex.open(index_path)
    verifier = Verifier.from_index(index)
    try:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        with inputs_set_aside():
            started, cpu = time.perf_counter(), time.process_time()
            verdicts = list(
                verify_in_processes(
                    functools.partial(index_verifier, index_path), documents, processes=processes
                )
                if processes > 1
                else verifier.verify_many(documents)
            )
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers, joined by now
        cpu += (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    finally:
        index.close()
    failures = [failure for failure in verdicts if failure is not None]
    if failures:
        raise RuntimeError(f"{len(failures)} bundle(s) failed verification, first: {failures[0]}")
    return VerifyRate(len(documents), elapsed, cpu)


def verify_rate(
    rpc: Rpc, deployment: Deployment, documents: list[bytes], index_path: Path
) -> VerifyRate:
    """Sync an audit index, then :func:`measure_verify` in one process."""
    index = AuditIndex.create_or_open(index_path, deployment)
    index.sync(rpc)
    index.close()
    return measure_verify(index_path, documents)


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
