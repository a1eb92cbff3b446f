"""Fixtures of the gateway tests: a block-producing anvil, and real gateway processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from exchange_harness import Exchange, start_exchange
from gateway_harness import Chain, GatewayProcess, found_chain, launch

from ledger_node.localnode import start_node


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """One anvil mining a block a second, as in production, with a founded consortium."""
    node = start_node("anvil", block_time=1)
    try:
        yield found_chain(node, tmp_path_factory.mktemp("chain"))
    finally:
        node.stop()


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Factory: start a gateway for an agency of a chain; every one is stopped at the end."""
    started: list[GatewayProcess] = []

    def start(
        chain: Chain, agency: str = "tax-bureau", crash_at: str | None = None, **overrides: Any
    ) -> GatewayProcess:
        gateway = launch(
            chain, tmp_path / f"{agency}-{len(started)}", agency, crash_at, **overrides
        )
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()
        gateway.client.close()


@pytest.fixture(scope="module")
def tax_gateway(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """The tax bureau's gateway, shared by a module's tests (records use unique ids)."""
    gateway = launch(chain, tmp_path_factory.mktemp("tax-gateway"), "tax-bureau")
    yield gateway
    gateway.stop()
    gateway.client.close()


@pytest.fixture(scope="module")
def exchange(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    """The gateways of the tax bureau, the bank and the regulator, finding each other through
    one consortium directory (one set per test module)."""
    started = start_exchange(chain, tmp_path_factory.mktemp("exchange"))
    yield started
    for gateway in started.gateways.values():
        gateway.stop()
        gateway.client.close()
