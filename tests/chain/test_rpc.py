"""Every JSON-RPC call to a node has a deadline that holds: a frozen node (SIGSTOP) makes a
call fail as NodeUnavailable after its timeout, not after web3's hidden retries; a node that
is gone fails at once; one that thaws answers again."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from ledger_node.chain.errors import NodeUnavailable
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.localnode import LocalNode, free_port, start_node

TIMEOUT = 1.0
#: Slack for a loaded machine: web3's default retries would take five times the timeout.
SLACK = 1.5


@pytest.fixture
def frozen() -> Iterator[LocalNode]:
    node = start_node("anvil")
    os.kill(node.pid, signal.SIGSTOP)
    try:
        yield node
    finally:
        os.kill(node.pid, signal.SIGCONT)
        node.stop()


def _fails_within(call: Callable[[], object], deadline: float) -> float:
    started = time.monotonic()
    with pytest.raises(NodeUnavailable, match=r"^node unreachable: "):
        call()
    elapsed = time.monotonic() - started
    assert elapsed < deadline, f"the call took {elapsed:.1f} s"
    return elapsed


def test_a_call_to_a_frozen_node_ends_at_its_deadline(frozen: LocalNode) -> None:
    rpc = Rpc(connect(frozen.url, timeout=TIMEOUT))
    assert _fails_within(lambda: rpc.request("eth_blockNumber", []), TIMEOUT + SLACK) >= TIMEOUT
    calls = [("eth_blockNumber", []), ("eth_chainId", [])]
    _fails_within(lambda: rpc.batch(calls), TIMEOUT + SLACK)
    os.kill(frozen.pid, signal.SIGCONT)
    assert int(rpc.request("eth_blockNumber", []), 16) >= 0


def test_a_call_to_a_node_that_is_gone_fails_at_once() -> None:
    rpc = Rpc(connect(f"http://127.0.0.1:{free_port()}", timeout=30.0))
    _fails_within(lambda: rpc.request("eth_blockNumber", []), SLACK)
