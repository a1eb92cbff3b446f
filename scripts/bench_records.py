"""Benchmark the records hot path and Merkle trees on one core.

Prints (1) records/s for validate + canonicalise + hash + salt + commit + leaf over a
realistic mix (invoices with 1-5 lines dominate), for the v1 schemas and then for the v2 ones
beside it, and (2) seconds to build a
1,000,000-leaf tree and compute every proof. Targets: >= 50,000 records/s, <= 10 s.
Both wall-clock and CPU time are shown: on a shared machine wall time includes waiting, and
the load average is printed before and after, since CPU time too swings with it.

    .venv/bin/python scripts/bench_records.py [--records N] [--leaves N] [--passes N] [--skip-tree]
        [--market N]

(3) with ``--market N``, the seconds to generate a market of N invoices with its payments,
returns, VAT returns, statuses and ratings (aim: well under a minute per million).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
from collections.abc import Callable

import orjson

from ledger_node.commitment import commit_record, commit_records
from ledger_node.merkle import MerkleTree, verify
from ledger_node.records import schemas
from ledger_node.records.economy import generate_market
from ledger_node.records.samples import generate
from ledger_node.records.validation import validate
from taxledger_dev.benchmarks.harness import MIX, MIX_V2, inputs_set_aside

#: Records per commit_records() call in the batch figures.
BATCH = 256


def records_mix(
    total: int, seed: int, mix: dict[str, int] = MIX
) -> list[tuple[str, dict[str, object]]]:
    """``total`` records in the proportions of ``mix``, shuffled."""
    work = [
        (name, record)
        for name, share in mix.items()
        for record in generate(name, total * share // 100, seed)
    ]
    random.Random(seed).shuffle(work)
    return work


def _best(passes: int, run: Callable[[], object]) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``passes`` runs of ``run``."""
    best_wall = best_cpu = float("inf")
    for _ in range(passes):
        with inputs_set_aside():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            best_wall = min(best_wall, time.perf_counter() - wall)
            best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def _report(label: str, count: int, wall: float, cpu: float, target: str = "") -> None:
    print(
        f"  {label}: {count / wall:,.0f} records/s wall, {count / cpu:,.0f} records/s CPU{target}"
    )


def bench_records(total: int, passes: int, mix: dict[str, int] = MIX, label: str = "v1") -> None:
    """Time the per-record pipeline over ``mix``, best of ``passes`` passes."""
    work = records_mix(total, 1, mix)
    lines = [len(r["lines"]) for name, r in work if name in schemas.INVOICE_SCHEMAS]  # type: ignore[arg-type]
    print(
        f"{label} records: {len(work)} ({sum(lines) / len(lines):.2f} lines per invoice on average)"
    )
    count = len(work)

    def one_by_one() -> None:
        for name, record in work:
            commit_record(validate(name, record))

    def batched(items: list[tuple[str, dict[str, object]]] = work) -> None:
        # Batches of a bulk request's size: small enough that each record is still in the
        # CPU cache when it is hashed after validation.
        for start in range(0, len(items), BATCH):
            commit_records(
                [validate(name, record) for name, record in items[start : start + BATCH]]
            )

    _report("pipeline", count, *_best(passes, one_by_one), " (target >= 50,000)")
    _report(
        f"pipeline, batch API (commit_records, {BATCH} at a time)", count, *_best(passes, batched)
    )
    # What the gateway sees: records fresh from a JSON parser, each one's objects together in
    # memory. The generated records above are scattered over the heap, which costs cache misses.
    parsed = [(name, orjson.loads(orjson.dumps(record))) for name, record in work]
    _report(
        "pipeline, batch API, records parsed from JSON",
        count,
        *_best(passes, lambda: batched(parsed)),
    )
    validated = [validate(name, record) for name, record in work]
    _report("validate only", count, *_best(passes, lambda: [validate(n, r) for n, r in work]))
    for schema in mix:
        own = [record for name, record in work if name == schema]
        cpu = _best(passes, lambda s=schema, rs=own: [validate(s, r) for r in rs])[1]  # type: ignore[misc]
        print(f"    {schema}: {cpu / len(own) * 1e6:.2f} µs CPU per record")
    _report(
        "commit only (commit_records)", count, *_best(passes, lambda: commit_records(validated))
    )


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


def bench_market(invoices: int) -> None:
    """Time generating a market of ``invoices`` invoices with its other records."""
    wall, cpu = time.perf_counter(), time.process_time()
    market = generate_market(1, invoices=invoices)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    counts = ", ".join(f"{len(v):,} {k}" for k, v in market.records.items() if v)
    print(f"market of {invoices:,} invoices: {wall:.1f} s wall, {cpu:.1f} s CPU ({counts})")


def main() -> None:
    """Parse arguments and run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--passes", type=int, default=3, help="best of this many passes")
    parser.add_argument("--skip-tree", action="store_true")
    parser.add_argument(
        "--market", type=int, default=0, help="also time generating a market of N invoices"
    )
    args = parser.parse_args()
    print("before: load {:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg()))
    # v1 and v2 in one run, so the two figures share the machine's state.
    bench_records(args.records, args.passes)
    bench_records(args.records, args.passes, MIX_V2, "v2")
    print("after: load {:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg()))
    if not args.skip_tree:
        bench_tree(args.leaves)
    if args.market:
        bench_market(args.market)


if __name__ == "__main__":
    main()
