"""Benchmark the exchange: verified disclosures per second through two gateway processes.

    .venv/bin/python scripts/bench_exchange.py [--seconds 20] [--concurrency 1 50]
                                               [--companies 2000]

Starts anvil (one block a second) and the tax bureau's and the bank's gateways as processes,
seeds the tax bureau with ratings and consents, then runs one phase per concurrency: clients
ask the bank's gateway for a company's rating with its consent as fast as it answers. Every
answer counted is sealed to the bank's key, opened and verified by the bank's gateway (one
fact, no failed bundle); after each phase the run waits until the tax bureau has anchored
every disclosure record, and checks there is exactly one per answer. Prints queries per
second, p50 and p99 latency, how long the anchoring took, the CPU time each gateway process
spent per disclosure from the phase's start until all were anchored (less sensitive to other
work on the machine than the rate), the CPU time this benchmark's own client spent per
disclosure (it runs on the same cores), and the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from ledger_node.localnode import start_node
from taxledger_dev.benchmarks.exchange import (
    disclosure_records,
    run_phase,
    seed,
    start_gateways,
    wait_anchored,
)
from taxledger_dev.benchmarks.gateway import cpu_seconds, tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--companies", type=int, default=2000)
    args = parser.parse_args()
    node = start_node("anvil", block_time=1)
    with tempfile.TemporaryDirectory() as tmp:
        _, gateways = start_gateways(Path(tmp), node)
        try:
            tax, bank = gateways["tax-bureau"], gateways["bank"]
            subjects = seed(tax, args.companies)
            print(f"seeded {len(subjects)} companies' ratings and consents (anchored)")
            answered = 0
            for concurrency in args.concurrency:
                load = os.getloadavg()[0]
                pids = {g.name: tree(g.process.pid) for g in (tax, bank)}
                cpu_before = {name: cpu_seconds(p) for name, p in pids.items()}
                client_before = time.process_time()
                phase = run_phase(bank, subjects, concurrency, args.seconds)
                client = (time.process_time() - client_before) / max(1, len(phase.latencies))
                settle = wait_anchored(tax)
                cpu = {
                    name: (cpu_seconds(p) - cpu_before[name]) / max(1, len(phase.latencies))
                    for name, p in pids.items()
                }
                answered += len(phase.latencies)
                recorded = disclosure_records(tax)
                print(
                    f"{concurrency:>3} concurrent: {len(phase.latencies)} verified disclosures "
                    f"in {phase.seconds:.1f} s = {phase.rate:,.0f}/s, p50 "
                    f"{phase.percentile(0.5):.1f} ms, p99 {phase.percentile(0.99):.1f} ms, "
                    f"{len(phase.failures)} failed; all anchored {settle:.1f} s after the phase "
                    f"({recorded} disclosure records for {answered} answers); CPU per "
                    f"disclosure: tax-bureau {cpu['tax-bureau'] * 1e3:.2f} ms, bank "
                    f"{cpu['bank'] * 1e3:.2f} ms, this client {client * 1e3:.2f} ms; load "
                    f"{load:.1f}"
                )
                for failure in phase.failures[:3]:
                    print(f"    failed: {failure}")
        finally:
            for gateway in gateways.values():
                gateway.stop()
            node.stop()


if __name__ == "__main__":
    main()
