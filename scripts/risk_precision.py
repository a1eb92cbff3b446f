"""Measure the risk indicators: precision and recall per indicator over several seeds, with
every pattern planted by name at a rate into the generated economy, and the hits on the honest
economy of the same seeds (target: none).

    .venv/bin/python scripts/risk_precision.py [--seeds 5] [--invoices 20000]
                                               [--rate 0.004] [--first-seed 100]

For each seed: an honest market is analysed as is (every hit there is a false alarm), then
the same market with each pattern of the demo planted ``max(1, rate × companies)`` times,
each instance on facts of its own. A planted instance is *found* by an indicator it must trip
if the indicator hits one of the taxpayers the instance must flag (recall = found /
planted). A hit is *right* if its taxpayer is one some instance must flag (precision = right
taxpayer hits / all taxpayer hits of the indicator). Facts carry the provenance of a ledger
that attests them when they happen (``write_market_facts``).
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from ledger_node.demo.scenario import DEMO_PATTERNS
from ledger_node.records.economy import Market, generate_market
from ledger_node.records.patterns import PATTERNS, plant
from ledger_node.risk.config import load_config
from ledger_node.risk.engine import RiskEngine
from ledger_node.risk.facts import write_market_facts
from ledger_node.risk.indicators import INDICATORS


def hits_of(engine: RiskEngine) -> set[tuple[str, str]]:
    rows = engine.rows("SELECT h.indicator, p.taxpayer FROM hits h JOIN hit_party p USING (hit)")
    return {(r["indicator"], r["taxpayer"]) for r in rows}


def analyse(market: Market, directory: Path) -> set[tuple[str, str]]:
    write_market_facts(market, directory)
    engine = RiskEngine(directory, load_config(), market.end + datetime.timedelta(days=182))
    try:
        engine.run()
        return hits_of(engine)
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=0.004)
    args = parser.parse_args()
    planted: dict[str, list[int]] = defaultdict(list)
    found: dict[str, list[int]] = defaultdict(list)
    right: dict[str, list[int]] = defaultdict(list)
    total: dict[str, list[int]] = defaultdict(list)
    honest: list[int] = []
    started = time.perf_counter()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        with tempfile.TemporaryDirectory() as scratch:
            market = generate_market(seed, invoices=args.invoices)
            false_alarms = analyse(market, Path(scratch) / "honest")
            honest.append(len(false_alarms))
            each = max(1, round(args.rate * len(market.companies)))
            names = [name for _ in range(each) for name in DEMO_PATTERNS]
            truth = plant(market, names, seed)
            hits = analyse(market, Path(scratch) / "planted")
        flagged = {t for g in truth for t in g.flagged}
        for indicator in INDICATORS:
            code = indicator.code
            expected = [g for g in truth if code in g.indicators]
            planted[code].append(len(expected))
            found[code].append(sum(any((code, t) in hits for t in g.flagged) for g in expected))
            mine = {t for c, t in hits if c == code}
            total[code].append(len(mine))
            right[code].append(len(mine & flagged))
        print(
            f"seed {seed}: {len(market.companies):,} companies, {len(truth)} instances "
            f"({each} of each pattern), {len(hits)} taxpayer hits; honest market: "
            f"{honest[-1]} hit(s)",
            flush=True,
        )
    print()
    print(f"{'indicator':<28} {'planted':>8} {'found':>6} {'recall':>15} {'hits':>6} "
          f"{'precision':>15}")  # fmt: skip
    for indicator in INDICATORS:
        code = indicator.code
        recalls = [f / p for f, p in zip(found[code], planted[code], strict=True) if p]
        precisions = [r / t for r, t in zip(right[code], total[code], strict=True) if t]
        print(
            f"{code:<28} {sum(planted[code]):>8} {sum(found[code]):>6} "
            f"{_range(recalls):>15} {sum(total[code]):>6} {_range(precisions):>15}"
        )
    sources = {p for name in DEMO_PATTERNS for p in PATTERNS[name].indicators}
    print()
    print(
        f"hits on the honest markets: {sum(honest)} over {len(honest)} seeds "
        f"({', '.join(map(str, honest))}); {len(sources)} of {len(INDICATORS)} indicators have "
        f"a planted pattern; {time.perf_counter() - started:.0f} s"
    )


def _range(values: list[float]) -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    return f"{low:.2f}" if low == high else f"{low:.2f}-{high:.2f}"


if __name__ == "__main__":
    main()
