"""What the risk tests share: analysing a generated market without a chain."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from ledger_node.records.economy import Market
from ledger_node.records.patterns import GroundTruth
from ledger_node.risk.config import load_config
from ledger_node.risk.engine import RiskEngine
from ledger_node.risk.facts import write_market_facts


@dataclass
class Analysed:
    """A planted market, its ground truth, and the engine that analysed it."""

    market: Market
    truth: list[GroundTruth]
    facts: Path
    engine: RiskEngine

    def hits(self) -> set[tuple[str, str]]:
        """Every (indicator, taxpayer) the analysis found."""
        rows = self.engine.rows(
            "SELECT h.indicator, p.taxpayer FROM hits h JOIN hit_party p ON p.hit = h.hit"
        )
        return {(r["indicator"], r["taxpayer"]) for r in rows}


def as_of(market: Market) -> datetime.date:
    """The day the tests judge a market on: six months after it ends."""
    return market.end + datetime.timedelta(days=182)


def analyse(market: Market, directory: Path, as_of_day: datetime.date | None = None) -> RiskEngine:
    """Write ``market``'s facts under ``directory`` and run the analysis on them."""
    write_market_facts(market, directory)
    engine = RiskEngine(directory, load_config(), as_of_day or as_of(market))
    engine.run()
    return engine
