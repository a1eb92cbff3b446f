"""Fixtures shared by every test package: real node processes and founded consortia."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from web3 import Web3

from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.localnode import LocalNode, start_node


@pytest.fixture(scope="session")
def anvil() -> Iterator[LocalNode]:
    """One anvil process (automine) for the session, on a free loopback port."""
    node = start_node("anvil")
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(params=["embedded", "anvil"])
def w3(request: pytest.FixtureRequest) -> Web3:
    """A Web3 on the embedded chain and, in a second run, on a real anvil process."""
    if request.param == "embedded":
        return connect()
    node: LocalNode = request.getfixturevalue("anvil")
    return connect(node.url)


@pytest.fixture
def found(w3: Web3) -> Callable[..., FoundedConsortium]:
    """Factory: found a fresh consortium (tax bureau, bank, market regulator, auditor)."""

    def make(**kwargs: object) -> FoundedConsortium:
        return found_consortium(Rpc(w3), **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def consortium(found: Callable[..., FoundedConsortium]) -> FoundedConsortium:
    return found()


@pytest.fixture
def ledger(w3: Web3, consortium: FoundedConsortium) -> LedgerClient:
    return LedgerClient.from_deployment(w3, consortium.deployment)
