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
import tempfile
import time
from pathlib import Path

from ledger_node.audit.index import AuditIndex
from ledger_node.cli.parallel import default_processes
from ledger_node.localnode import start_node
from taxledger_dev.benchmarks.harness import found_bench_ledger
from taxledger_dev.benchmarks.verify import grow_chain, measure_verify, prepare_bundles, sync_rate


def bench_verify(
    bundles: int, batch: int, workdir: Path, processes: list[int], rounds: int
) -> None:
    chain = found_bench_ledger()
    started = time.perf_counter()
    documents = prepare_bundles(
        chain.ledger, chain.tax, chain.ledger.sender(chain.tax), bundles, batch
    )
    print(f"prepared {bundles} invoice bundles in {-(-bundles // batch)} batches "
          f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
    path = workdir / "verify.sqlite"
    index = AuditIndex.create_or_open(path, chain.consortium.deployment)
    index.sync(chain.rpc)
    index.close()
    for _ in range(rounds):
        for count in processes:
            rate = measure_verify(path, documents, processes=count)
            # CPU too: on a shared machine the wall clock also counts other processes' turns.
            print(
                f"verify: {bundles} bundles in {rate.seconds:.2f} s = {rate.per_second:,.0f} "
                f"bundles/s wall, {rate.per_cpu_second:,.0f} per CPU second, {count} "
                f"process{'es' if count > 1 else ''} (against a synced index, every check)"
            )


def bench_sync(blocks: int, anchors: int, workdir: Path) -> None:
    node = start_node("anvil")
    try:
        chain = found_bench_ledger(node.url)
        written = grow_chain(
            chain.rpc, chain.ledger, chain.tax, chain.ledger.sender(chain.tax), blocks, anchors
        )
        rate = sync_rate(chain.rpc, chain.consortium.deployment, workdir / "sync.sqlite")
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
