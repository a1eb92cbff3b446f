"""Benchmark the verifier against a synced index, and the audit sync from anvil.

    .venv/bin/python scripts/bench_verify.py [--bundles 20000] [--batch 2000]
                                             [--blocks 5000] [--anchors 1000]

Prints two figures: verified bundles per second (all checks, bundles as JSON bytes, against a
synced SQLite index; many bundles share a batch root, as they do in practice), and synced
blocks per second when the audit index reads a fresh anvil chain (one block in five holds an
anchor by default). Building that chain is the slow part: anvil mines more slowly as the
chain grows, so the default stays at a few thousand blocks.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import orjson

from ledger_node.anchoring import anchor_records
from ledger_node.audit.index import AuditIndex
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.hashing import keccak256
from ledger_node.localnode import start_node
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS
from ledger_node.verify import Verifier

CONSORTIUM_KEY = b"\x42" * 32


def bench_verify(bundles: int, batch: int, workdir: Path) -> None:
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    key = consortium.keys["tax-bureau"]
    sender = client.sender(key)
    records = samples.generate(INVOICE_ISSUED, bundles, seed=1)
    started = time.perf_counter()
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
    print(f"prepared {bundles} invoice bundles in {bundles // batch} batches "
          f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
    index = AuditIndex.create_or_open(workdir / "verify.sqlite", consortium.deployment)
    index.sync(Rpc(w3))
    verifier = Verifier.from_index(index)
    started, cpu = time.perf_counter(), time.process_time()
    for raw in documents:
        verifier.verify_bytes(raw)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    # CPU time too: on a shared machine the wall clock also counts other processes' turns.
    print(
        f"verify: {bundles} bundles in {elapsed:.2f} s = {bundles / elapsed:,.0f} bundles/s "
        f"({bundles / cpu:,.0f} per CPU second; against a synced index, every check)"
    )


def bench_sync(blocks: int, anchors: int, workdir: Path) -> None:
    node = start_node("anvil")
    try:
        w3 = connect(node.url)
        rpc = Rpc(w3)
        consortium = found_consortium(rpc)
        client = LedgerClient.from_deployment(w3, consortium.deployment)
        key = consortium.keys["tax-bureau"]
        sender = client.sender(key)
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
        head = client.block_number()
        index = AuditIndex.create_or_open(workdir / "sync.sqlite", consortium.deployment)
        started = time.perf_counter()
        result = index.sync(rpc)
        elapsed = time.perf_counter() - started
        print(f"sync: {result.blocks} blocks ({result.events} events, head {head}) in "
              f"{elapsed:.2f} s = {result.blocks / elapsed:,.0f} blocks/s from anvil")  # fmt: skip
        assert index.count("anchors") == rounds * 100
    finally:
        node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundles", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--blocks", type=int, default=5_000)
    parser.add_argument("--anchors", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        bench_verify(args.bundles, args.batch, Path(workdir))
        bench_sync(args.blocks, args.anchors, Path(workdir))


if __name__ == "__main__":
    main()
