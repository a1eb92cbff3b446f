"""Gas of the ledger's writes, and single attestations per second from one process on anvil.

.venv/bin/python scripts/bench_chain.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import platform

from ledger_node.localnode import start_node
from taxledger_dev.benchmarks.harness import found_bench_ledger
from taxledger_dev.benchmarks.ledger import attest_throughput, measure_gas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--gas-limit", type=int, default=100_000_000)
    parser.add_argument("--anvil-arg", action="append", default=[])
    args = parser.parse_args()
    node = start_node(
        "anvil", block_time=1, gas_limit=args.gas_limit, extra_args=tuple(args.anvil_arg)
    )
    try:
        chain = found_bench_ledger(node.url)
        consortium, ledger = chain.consortium, chain.ledger
        gas = measure_gas(ledger, consortium)
        print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}")
        print(f"gas attest (signer's first): {gas.attest_first}")
        print(f"gas attest: {gas.attest}")
        for size, used in gas.anchor.items():
            print(f"gas anchorBatch {size:>5} facts: {used} ({used / size:.1f} per fact)")
        result = attest_throughput(ledger, consortium, seconds=args.seconds)
        print(
            f"single attestations mined: {result.facts} in {result.seconds:.1f} s over "
            f"{result.blocks} blocks = {result.per_second:.0f}/s "
            f"(anvil --block-time 1 --gas-limit {args.gas_limit})"
        )
    finally:
        node.stop()


if __name__ == "__main__":
    main()
