"""Every JSON-RPC call to a node has a deadline that holds: a frozen node (SIGSTOP) makes a
call fail as NodeUnavailable after its timeout, not after web3's hidden retries; a node that
is gone fails at once; one that thaws answers again. The kept-alive connections survive a
node that closes them or restarts, and serve many threads at once."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from ledger_node.chain.errors import NodeUnavailable, RpcError
from ledger_node.chain.rpc import MAX_BATCH, NodeHttp, Rpc, connect
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


class ScriptedNode(threading.Thread):
    """A loopback HTTP server that answers ``eth_blockNumber`` with the number of requests it
    has read, except that it closes a connection, unanswered, on its second request (as a
    node closing an idle connection just as the client reuses it); or, with ``status``,
    answers every request with that status and a body that is not JSON-RPC; or, with
    ``max_batch``, answers every batch as Besu does, refusing one of more than ``max_batch``
    calls as a whole, and records the size of each batch it was sent."""

    def __init__(self, status: int | None = None, max_batch: int | None = None) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.status = status
        self.max_batch = max_batch
        self.batches: list[int] = []
        self.requests = 0
        self.connections = 0

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            for number in range(1, 100):
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                request, buffer = orjson.loads(buffer[:length]), buffer[length:]
                self.requests += 1
                if self.max_batch is not None:
                    body, status = self._batch_answer(request), 200
                elif number == 2:
                    return
                elif self.status is not None:
                    body, status = b"bad gateway", self.status
                else:
                    answer = {"jsonrpc": "2.0", "id": request["id"], "result": hex(self.requests)}
                    body, status = orjson.dumps(answer), 200
                conn.sendall(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
                )

    def _batch_answer(self, calls: list[dict[str, object]]) -> bytes:
        self.batches.append(len(calls))
        if self.max_batch is not None and len(calls) > self.max_batch:
            # Besu's answer to a batch over rpc-http-max-batch-size.
            error = {"code": -32005, "message": "Number of requests exceeds max batch size"}
            return orjson.dumps({"jsonrpc": "2.0", "id": None, "error": error})
        answers = [{"jsonrpc": "2.0", "id": c["id"], "result": c["params"][0]} for c in calls]
        return orjson.dumps(answers[::-1])

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def scripted() -> Iterator[ScriptedNode]:
    node = ScriptedNode()
    node.start()
    yield node
    node.close()


def test_a_request_on_a_connection_the_node_closed_is_sent_again_on_a_fresh_one(
    scripted: ScriptedNode,
) -> None:
    rpc = Rpc(connect(scripted.url, timeout=5.0))
    assert rpc.request("eth_blockNumber", []) == "0x1"
    # The second request goes out on the kept-alive connection, which the node closes
    # unanswered; it is sent once more, on a new connection, and answered.
    assert rpc.request("eth_blockNumber", []) == "0x3"
    assert (scripted.requests, scripted.connections) == (3, 2)


def test_a_fresh_connection_that_closes_unanswered_is_unreachable_not_retried() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def close_each() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=close_each, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with pytest.raises(NodeUnavailable, match=f"^node unreachable: {url} cannot be reached"):
            Rpc(connect(url, timeout=5.0)).request("eth_blockNumber", [])
    finally:
        listener.close()


def test_an_answer_that_is_not_json_rpc_is_an_rpc_error() -> None:
    node = ScriptedNode(status=502)
    node.start()
    try:
        with pytest.raises(RpcError, match="HTTP 502 with a body that is not JSON-RPC"):
            Rpc(connect(node.url, timeout=5.0)).request("eth_blockNumber", [])
    finally:
        node.close()


def test_a_node_restarted_on_its_port_is_asked_again_on_a_new_connection() -> None:
    port = free_port()
    node = start_node("anvil", port=port)
    rpc = Rpc(connect(node.url, timeout=5.0))
    try:
        assert rpc.request("eth_chainId", []) == "0x7a69"
        node.stop()
        node = start_node("anvil", port=port)
        assert rpc.request("eth_chainId", []) == "0x7a69"
    finally:
        node.stop()


def test_a_large_batch_goes_in_batches_a_besu_node_accepts() -> None:
    node = ScriptedNode(max_batch=MAX_BATCH)
    node.start()
    try:
        rpc = Rpc(connect(node.url, timeout=5.0))
        calls = [("eth_getBlockByNumber", [hex(n), False]) for n in range(2 * MAX_BATCH + 452)]
        assert rpc.batch(calls) == [params[0] for _, params in calls]
        assert node.batches == [MAX_BATCH, MAX_BATCH, 452]
        # Sent as one batch, one call more than that is refused as a whole, as Besu does.
        answer = NodeHttp(node.url, 5.0).batch(calls[: MAX_BATCH + 1])
        assert answer["error"]["code"] == -32005
    finally:
        node.close()


def test_many_threads_share_one_client() -> None:
    node = start_node("anvil")
    try:
        rpc = Rpc(connect(node.url, timeout=10.0))
        calls = [
            ("eth_chainId", []),
            ("eth_blockNumber", []),
            ("eth_getBalance", ["0x" + "00" * 20, "latest"]),
        ]

        def ask(i: int) -> tuple[object, ...]:
            if i % 2:
                return tuple(rpc.batch(calls))
            return (rpc.request("eth_chainId", []),)

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(ask, range(400)))
    finally:
        node.stop()
    for i, answer in enumerate(answers):
        assert answer == (("0x7a69", "0x0", "0x0") if i % 2 else ("0x7a69",))
