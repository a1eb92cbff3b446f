"""Benchmark the records hot path and Merkle trees on one core.

Prints (1) records/s for validate + canonicalise + hash + salt + commit + leaf over a
realistic mix (invoices with 1-5 lines dominate), and (2) seconds to build a
1,000,000-leaf tree and compute every proof. Targets: >= 50,000 records/s, <= 10 s.
Both wall-clock and CPU time are shown: on a shared machine wall time includes waiting.

    .venv/bin/python scripts/bench_records.py [--records N] [--leaves N]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time

from ledger_node.commitment import commit_record
from ledger_node.merkle import MerkleTree, verify
from ledger_node.records import schemas
from ledger_node.records.samples import generate
from ledger_node.records.validation import validate

#: Share of each schema in the mix: invoices dominate, then their payments.
MIX = {
    schemas.INVOICE_ISSUED: 70,
    schemas.PAYMENT_SETTLED: 22,
    schemas.REGISTRATION_STATUS: 4,
    schemas.TAX_RATING: 2,
    schemas.BANK_DECISION: 2,
}


def records_mix(total: int, seed: int) -> list[tuple[str, dict[str, object]]]:
    """``total`` records in the proportions of :data:`MIX`, shuffled."""
    work = [
        (name, record)
        for name, share in MIX.items()
        for record in generate(name, total * share // 100, seed)
    ]
    random.Random(seed).shuffle(work)
    return work


def bench_records(total: int) -> None:
    """Time the per-record pipeline over the mix, best of three passes."""
    work = records_mix(total, seed=1)
    lines = [len(r["lines"]) for name, r in work if name == schemas.INVOICE_ISSUED]  # type: ignore[arg-type]
    print(f"records: {len(work)} ({sum(lines) / len(lines):.2f} lines per invoice on average)")
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        for name, record in work:
            commit_record(validate(name, record))
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    print(
        f"  pipeline: {len(work) / best_wall:,.0f} records/s wall, "
        f"{len(work) / best_cpu:,.0f} records/s CPU (target >= 50,000)"
    )
    for label, step in (("validate only", lambda name, record: validate(name, record)),):
        wall = time.perf_counter()
        for name, record in work:
            step(name, record)
        print(f"  {label}: {len(work) / (time.perf_counter() - wall):,.0f} records/s wall")


def bench_tree(leaf_count: int) -> None:
    """Time building a tree of ``leaf_count`` random leaves and computing all proofs."""
    leaves = [os.urandom(32) for _ in range(leaf_count)]
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    tree = MerkleTree(leaves)
    built_wall, built_cpu = time.perf_counter() - wall, time.process_time() - cpu
    proofs = tree.all_proofs()
    # The collector's first pass over the new proofs is part of their cost.
    gc.collect()
    total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert verify(tree.root, leaves[leaf_count // 3], proofs[leaf_count // 3])
    print(f"tree of {leaf_count:,} leaves:")
    print(f"  build: {built_wall:.2f} s wall, {built_cpu:.2f} s CPU")
    print(f"  build + all proofs: {total_wall:.2f} s wall, {total_cpu:.2f} s CPU (target <= 10 s)")


def main() -> None:
    """Parse arguments and run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    args = parser.parse_args()
    bench_records(args.records)
    bench_tree(args.leaves)


if __name__ == "__main__":
    main()
