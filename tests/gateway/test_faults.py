"""Fault injection, beside the durability tests: the node frozen, the node back without its
state, and the gateway killed at each step of a batch and of a revocation (by its own crash
points, not timed by chance). Every accepted record ends final exactly once and verifies."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from gateway_harness import (
    LOAD_SCHEMA,
    RECORDS,
    Chain,
    GatewayProcess,
    Loader,
    assert_final_exactly_once,
    found_chain,
    settled,
    wait_for,
)

from ledger_node.chain.events import TOPICS, EventReader
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.localnode import LocalNode, start_node
from ledger_node.verify.errors import VerificationFailure
from ledger_node.verify.verifier import Verifier

pytestmark = pytest.mark.slow


def _status(gateway: GatewayProcess) -> str:
    status: str = gateway.client.get("/healthz").json()["status"]
    return status


def _post(gateway: GatewayProcess, count: int, prefix: str) -> set[str]:
    items = [
        {"schema": LOAD_SCHEMA, "id": f"{prefix}-{i}", "record": RECORDS[i % len(RECORDS)]}
        for i in range(count)
    ]
    response = gateway.post("/v1/records:bulk", {"records": items})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == count
    return {item["id"] for item in items}  # type: ignore[misc]


@pytest.fixture
def own_node(tmp_path: Path) -> Callable[..., LocalNode]:
    """Factory of anvil processes on one port, stopped at the end (whichever runs)."""
    started: list[LocalNode] = []

    def start(**kwargs: object) -> LocalNode:
        port = started[0].port if started else None
        node = start_node("anvil", port=port, block_time=1, **kwargs)  # type: ignore[arg-type]
        started.append(node)
        return node

    yield start  # type: ignore[misc]
    for node in started:
        if node.alive():
            node.stop()


def test_a_frozen_node_turns_health_degraded_within_10_s_and_loses_nothing(
    tmp_path: Path, own_node: Callable[..., LocalNode], start_gateway: Callable[..., GatewayProcess]
) -> None:
    node = own_node()
    chain = found_chain(node, tmp_path / "chain")
    gateway = start_gateway(chain, batch_size=200, batch_interval_ms=200, rpc_timeout=2.0)
    loader = Loader(gateway, "frozen", per_request=100)
    loader.start()
    wait_for(lambda: gateway.counts()["final"] > 0, 60, "records final before the freeze")
    os.kill(node.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: _status(gateway) == "degraded", 10, "degraded within 10 s of the freeze")
        problem = gateway.health()["chain"]["problem"]
        assert problem.startswith(("the node has not answered for", "node unreachable")), problem
        during = loader.requests
        wait_for(lambda: loader.requests >= during + 3, 30, "records accepted while frozen")
    finally:
        os.kill(node.pid, signal.SIGCONT)
    wait_for(lambda: _status(gateway) == "ok", 30, "ok once the node answers again")
    loader.halt.set()
    loader.join(30)
    wait_for(lambda: settled(gateway), 90, "every record to be final", 0.3)
    assert_final_exactly_once(gateway, chain, loader.accepted)


def test_a_node_back_without_its_state_gets_nothing_until_it_is_restored(
    tmp_path: Path, own_node: Callable[..., LocalNode], start_gateway: Callable[..., GatewayProcess]
) -> None:
    state = tmp_path / "anvil-state.json"
    node = own_node(state_path=state)
    chain = found_chain(node, tmp_path / "chain")
    gateway = start_gateway(chain, batch_size=200, batch_interval_ms=200, rpc_timeout=2.0)
    loader = Loader(gateway, "reset", per_request=100)
    loader.start()
    wait_for(lambda: loader.requests >= 3, 60, "records before the reset")
    node.stop()  # anvil writes its state file as it exits
    empty = own_node()  # the same port, a new chain
    wait_for(
        lambda: "genesis block" in (gateway.health()["chain"]["problem"] or ""),
        10,
        "the gateway to see another chain",
    )
    assert _status(gateway) == "degraded"
    during = loader.requests
    wait_for(lambda: loader.requests >= during + 3, 30, "records accepted meanwhile")
    assert gateway.counts()["unbatched"] > 0
    sender = chain.consortium.keys["tax-bureau"].address
    assert Rpc(connect(empty.url)).request("eth_getTransactionCount", [sender, "pending"]) == "0x0"
    empty.stop()

    own_node(state_path=state)
    wait_for(lambda: _status(gateway) == "ok", 30, "ok once the node has its state again")
    loader.halt.set()
    loader.join(30)
    wait_for(lambda: settled(gateway), 90, "every record to be final", 0.3)
    assert_final_exactly_once(gateway, chain, loader.accepted)


@pytest.mark.parametrize("crash_at", ["batch-saved", "batch-sent", "batch-mined"])
def test_a_gateway_killed_at_each_step_of_a_batch(
    chain: Chain, start_gateway: Callable[..., GatewayProcess], crash_at: str
) -> None:
    gateway = start_gateway(chain, crash_at=crash_at, batch_size=40, batch_interval_ms=200)
    accepted = _post(gateway, 100, f"{crash_at}-{uuid.uuid4().hex[:8]}")
    assert gateway.wait_exit(60, f"the gateway to kill itself at {crash_at}") == -signal.SIGKILL
    gateway.start()
    wait_for(lambda: settled(gateway), 90, "every record to be final after the restart", 0.3)
    assert_final_exactly_once(gateway, chain, accepted)


@pytest.mark.parametrize("crash_at", ["revocation-saved", "revocation-sent"])
def test_a_gateway_killed_midway_through_a_revocation(
    chain: Chain, start_gateway: Callable[..., GatewayProcess], crash_at: str
) -> None:
    gateway = start_gateway(chain, batch_size=10, batch_interval_ms=200)
    accepted = _post(gateway, 10, f"{crash_at}-{uuid.uuid4().hex[:8]}")
    wait_for(lambda: settled(gateway), 60, "the batch to be final", 0.3)
    target = sorted(accepted)[5]
    gateway.stop()
    gateway.start(crash_at=crash_at)
    assert gateway.post(f"/v1/records/{target}/revoke", {"reason": "开具错误"}).status_code == 202
    assert gateway.wait_exit(60, f"the gateway to kill itself at {crash_at}") == -signal.SIGKILL
    gateway.start()

    def revoked() -> bool:
        status: str = gateway.get(f"/v1/records/{target}").json()["status"]
        return status == "revoked"

    wait_for(revoked, 60, "the revocation to be mined")
    record = gateway.get(f"/v1/records/{target}").json()
    root, leaf = record["anchor"]["root"], record["leaf"]
    ledger = chain.ledger
    events = EventReader(ledger.rpc, ledger.address).logs(
        chain.consortium.deployment.deployment_block,
        ledger.block_number(),
        [TOPICS["LeafRevoked"], root, leaf],
    )
    assert len(events) == 1, "the leaf was revoked once"
    assert events[0].block_number == record["revocation"]["block_number"]
    bundle = gateway.get(f"/v1/records/{target}/proof").content
    with pytest.raises(VerificationFailure, match=r"^\(8\) ") as failure:
        Verifier.from_chain(ledger, chain.consortium.deployment).verify_bytes(bundle)
    assert failure.value.code == "revoked"
    # The other records of the batch are untouched.
    assert_final_exactly_once(gateway, chain, accepted)
