"""Every accepted record ends anchored exactly once: through a SIGKILL in the middle of a bulk
load, and through the node stopping and coming back under load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gateway_harness import (
    Chain,
    GatewayProcess,
    Loader,
    assert_final_exactly_once,
    found_chain,
    settled,
    wait_for,
)

from ledger_node.localnode import start_node


def test_sigkill_mid_bulk_then_restart(
    chain: Chain, start_gateway: Callable[..., GatewayProcess]
) -> None:
    gateway = start_gateway(chain, batch_size=300, batch_interval_ms=200)
    loader = Loader(gateway, "kill")
    loader.start()
    wait_for(lambda: loader.requests >= 8, 60, "bulk requests before the kill")
    gateway.kill()  # in the middle of a request, with batches cut, signed and in flight
    loader.join(30)
    assert loader.accepted

    gateway.start()
    wait_for(lambda: settled(gateway), 90, "every record to be final after the restart", 0.3)
    assert_final_exactly_once(gateway, chain, loader.accepted)


def test_node_down_then_back_under_load(
    tmp_path: Path, start_gateway: Callable[..., GatewayProcess]
) -> None:
    state = tmp_path / "anvil-state.json"
    node = start_node("anvil", block_time=1, state_path=state)
    try:
        chain = found_chain(node, tmp_path / "chain")
        gateway = start_gateway(chain, batch_size=200, batch_interval_ms=200)
        loader = Loader(gateway, "outage", per_request=100)
        loader.start()
        wait_for(lambda: loader.requests >= 5, 60, "records before the outage")
        node.stop()
        during = loader.requests
        wait_for(lambda: gateway.health()["status"] == "degraded", 30, "the gateway to notice")
        wait_for(lambda: loader.requests >= during + 5, 60, "records accepted while down")
        assert gateway.counts()["unbatched"] > 0

        node = start_node("anvil", port=node.port, block_time=1, state_path=state)
        wait_for(lambda: loader.requests >= during + 10, 60, "records after the outage")
        loader.halt.set()
        loader.join(30)
        wait_for(lambda: settled(gateway), 90, "every record to be final", 0.3)
        assert gateway.health()["status"] == "ok"
        assert_final_exactly_once(gateway, chain, loader.accepted)
    finally:
        node.stop()
