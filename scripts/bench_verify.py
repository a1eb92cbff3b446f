"""Benchmark the verifier against a synced index, and the audit sync from anvil.

    .venv/bin/python scripts/bench_verify.py [--bundles 20000] [--batch 2000]
                                             [--processes N ...] [--rounds 1]
                                             [--blocks 5000] [--anchors 1000] [--no-sync]

Prints two figures: verified bundles per second (all checks, bundles as JSON bytes, against a
synced SQLite index; many bundles share a batch root, as they do in practice), in one process
and in one worker process per CPU (``Verifier.verify_many``; each worker opens the index
itself; pool start-up is inside the timing), wall clock and CPU seconds side by side; and synced
blocks per second when the audit index reads a fresh anvil chain (one block in five holds an
anchor by default). Building that chain is the slow part: anvil mines more slowly as the
chain grows, so the default stays at a few thousand blocks.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from ledger_node.audit.index import AuditIndex
from ledger_node.benchmarks import inputs_set_aside
from ledger_node.benchmarks.verify import grow_chain, prepare_bundles, sync_rate
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.localnode import start_node
from ledger_node.verify import Verifier
from ledger_node.verify.parallel import default_processes


def bench_verify(
    bundles: int, batch: int, workdir: Path, processes: list[int], rounds: int
) -> None:
    w3 = connect()
    rpc = Rpc(w3)
    consortium = found_consortium(rpc)
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    key = consortium.keys["tax-bureau"]
    started = time.perf_counter()
    documents = prepare_bundles(client, key, client.sender(key), bundles, batch)
    print(f"prepared {bundles} invoice bundles in {-(-bundles // batch)} batches "
          f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
    path = workdir / "verify.sqlite"
    index = AuditIndex.create_or_open(path, consortium.deployment)
    index.sync(rpc)
    index.close()
    for _ in range(rounds):
        for count in processes:
            # A fresh verifier each time: no anchor or proof node is known in advance.
            verifier = Verifier.from_index(AuditIndex.open(path))
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            with inputs_set_aside():  # the embedded chain and the bundles are not the cost
                started, cpu = time.perf_counter(), time.process_time()
                verdicts = list(verifier.verify_many(documents, processes=count))
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            after = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers, joined by now
            cpu += (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
            verifier.view.close()
            failures = [failure for failure in verdicts if failure is not None]
            assert len(verdicts) == bundles and not failures, failures[:3]
            # CPU too: on a shared machine the wall clock also counts other processes' turns.
            print(
                f"verify: {bundles} bundles in {elapsed:.2f} s = {bundles / elapsed:,.0f} "
                f"bundles/s wall, {bundles / cpu:,.0f} per CPU second, {count} "
                f"process{'es' if count > 1 else ''} (against a synced index, every check)"
            )


def bench_sync(blocks: int, anchors: int, workdir: Path) -> None:
    node = start_node("anvil")
    try:
        w3 = connect(node.url)
        rpc = Rpc(w3)
        consortium = found_consortium(rpc)
        client = LedgerClient.from_deployment(w3, consortium.deployment)
        key = consortium.keys["tax-bureau"]
        written = grow_chain(rpc, client, key, client.sender(key), blocks, anchors)
        rate = sync_rate(rpc, consortium.deployment, workdir / "sync.sqlite")
        print(f"sync: {rate.blocks} blocks ({rate.events} events, head {rate.head}) in "
              f"{rate.seconds:.2f} s = {rate.per_second:,.0f} blocks/s from anvil")  # fmt: skip
        assert rate.events >= written
    finally:
        node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundles", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--blocks", type=int, default=5_000)
    parser.add_argument("--anchors", type=int, default=1_000)
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=None,
        help=f"verifying processes to measure (default: 1 and {default_processes()}, the CPUs)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="measure each this many times")
    parser.add_argument("--no-sync", action="store_true", help="skip the anvil sync figure")
    args = parser.parse_args()
    processes = args.processes or sorted({1, default_processes()})
    with tempfile.TemporaryDirectory() as workdir:
        bench_verify(args.bundles, args.batch, Path(workdir), processes, args.rounds)
        if not args.no_sync:
            bench_sync(args.blocks, args.anchors, Path(workdir))


if __name__ == "__main__":
    main()
