"""A generated market with every pattern planted, its facts written as if attested live, and
its risk analysis: the indicator tests read it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from risk_harness import Analysed, analyse

from ledger_node.demo.scenario import DEMO_PATTERNS
from ledger_node.records.economy import generate_market
from ledger_node.records.patterns import plant

SEED = 11


@pytest.fixture(scope="session")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analysed]:
    market = generate_market(SEED, invoices=2000, companies=133)
    truth = plant(market, DEMO_PATTERNS, SEED)
    directory = tmp_path_factory.mktemp("facts")
    engine = analyse(market, directory)
    try:
        yield Analysed(market, truth, directory, engine)
    finally:
        engine.close()
