"""The JSON-RPC seam between the client and a node.

Everything the client sends goes through :class:`Rpc`: one place that turns node answers into
results or typed errors, whether the provider is the in-process eth-tester chain or a real node
over HTTP (anvil, Hardhat, Besu). Nothing here is specific to one node.

A node over HTTP is asked through :class:`NodeHttp`, plain JSON-RPC on a kept-alive
connection per thread, not through web3's provider: that one costs about 1 ms of CPU a call
(requests' session, proxy and netrc look-ups, web3's encoders), this one about 0.1 ms, and a
gateway asks its node many times a second.
"""

from __future__ import annotations

import ast
import base64
import http.client
import select
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils.exceptions import ValidationError as EthUtilsValidationError
from web3 import Web3
from web3.datastructures import NamedElementOnion
from web3.providers import HTTPProvider
from web3.providers.eth_tester import EthereumTesterProvider

from ledger_node.chain.errors import ChainError, NodeUnavailable, RpcError, decode_revert
from ledger_node.waiting import would_wait

EMBEDDED = "embedded"
#: Seconds a call to a node may take when its provider names no timeout (web3's default).
DEFAULT_TIMEOUT = 30.0
#: The most calls sent in one JSON-RPC batch: Besu's default ``rpc-http-max-batch-size``,
#: over which a node refuses the whole batch. :meth:`Rpc.batch` splits longer ones.
MAX_BATCH = 1024


def connect(url: str = EMBEDDED, *, timeout: float = 30.0) -> Web3:
    """A Web3 over the embedded chain (``"embedded"``) or a JSON-RPC node at ``url``.

    Every call to a node has a deadline of ``timeout`` seconds, and holds it: web3 would
    otherwise retry a timed-out call up to five times (``exception_retry_configuration``),
    so a call to a hung node could wait minutes. Callers that want retries make them, and
    say so.
    """
    if url == EMBEDDED:
        from eth_tester import EthereumTester, PyEVMBackend

        return Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend())))
    if not url.startswith(("http://", "https://")):
        raise ChainError(f"chain {url!r} is neither 'embedded' nor an http(s) JSON-RPC URL")
    return Web3(
        HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
    )


_PROVIDER_LOCKS: weakref.WeakKeyDictionary[object, threading.Lock] = weakref.WeakKeyDictionary()
_PROVIDER_LOCKS_GUARD = threading.Lock()


def _provider_lock(provider: object) -> threading.Lock:
    """One lock per in-process chain, shared by every client of it (e.g. several gateways)."""
    with _PROVIDER_LOCKS_GUARD:
        lock = _PROVIDER_LOCKS.get(provider)
        if lock is None:
            lock = _PROVIDER_LOCKS[provider] = threading.Lock()
        return lock


def as_int(value: Any) -> int:
    """A JSON-RPC quantity as an int (nodes send hex; the embedded chain sends ints)."""
    return int(value, 16) if isinstance(value, str) else int(value)


def as_bytes(value: Any) -> bytes:
    """JSON-RPC data as bytes (nodes send hex; the embedded chain may send bytes)."""
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def _revert_data(message: str, data: Any) -> bytes | None:
    """The revert payload in a node's error, in any of the shapes nodes use."""
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if "revert" in message.lower() and data is None:
        return b""
    return None


class NodeUnreachable(Exception):
    """A request to a node over HTTP that got no answer: ``timed_out`` if the node did not
    answer within the deadline, else the connection failed (``refused`` if it was refused)."""

    def __init__(self, timed_out: bool, refused: bool) -> None:
        super().__init__("timed out" if timed_out else "refused" if refused else "unreachable")
        self.timed_out = timed_out
        self.refused = refused


class NodeHttp:
    """JSON-RPC to a node over HTTP/1.1: one kept-alive connection per thread, every socket
    operation within ``timeout`` seconds, no retries but one: a request on a reused
    connection that the node had closed meanwhile is sent again on a fresh one (the node
    never read it; a transaction sent twice is "already known", which senders accept)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChainError(f"{url!r} is not an http(s) JSON-RPC URL")
        self.url = url
        self.timeout = timeout
        self._connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if parts.username is not None:
            user_password = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            token = base64.b64encode(user_password.encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self._local = threading.local()

    def request(self, method: str, params: list[Any]) -> Any:
        """One call's JSON-RPC response object."""
        return self.post({"jsonrpc": "2.0", "method": method, "params": params, "id": 0})

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> Any:
        """The responses to ``calls`` in their order (a list), or the node's one error
        object when it refused the batch as a whole."""
        ids = range(len(calls))
        payload = [
            {"jsonrpc": "2.0", "method": method, "params": params, "id": i}
            for i, (method, params) in zip(ids, calls, strict=True)
        ]
        responses = self.post(payload)
        if not isinstance(responses, list):
            return responses
        by_id = {r.get("id"): r for r in responses if isinstance(r, dict)}
        return [
            by_id.get(i, {"error": {"code": -32603, "message": "no response in the batch"}})
            for i in ids
        ]

    def post(self, payload: object) -> Any:
        body = orjson.dumps(payload, default=_json_default)
        connection, reused = self._connection()
        try:
            return self._exchange(connection, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self._drop(connection)
            if not reused:
                raise NodeUnreachable(False, False) from None
        except TimeoutError:
            self._drop(connection)
            raise NodeUnreachable(True, False) from None
        except (OSError, http.client.HTTPException) as exc:
            self._drop(connection)
            raise NodeUnreachable(False, isinstance(exc, ConnectionRefusedError)) from None
        connection, _ = self._connection()
        try:
            return self._exchange(connection, body)
        except (OSError, http.client.HTTPException) as exc:
            self._drop(connection)
            raise NodeUnreachable(
                isinstance(exc, TimeoutError), isinstance(exc, ConnectionRefusedError)
            ) from None

    def _exchange(self, connection: http.client.HTTPConnection, body: bytes) -> Any:
        connection.request("POST", self._path, body, self._headers)
        response = connection.getresponse()
        data = response.read()
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return {
                "error": {
                    "code": -32700,
                    "message": f"HTTP {response.status} with a body that is not JSON-RPC",
                }
            }

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it served a request before. One the node
        closed while it was idle is replaced first."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            sock = connection.sock
            if sock is None:
                return connection, False
            # An idle kept-alive socket that is readable was closed by the node (or sent
            # something unasked): start afresh.
            if not select.select([sock], [], [], 0)[0]:
                return connection, True
            self._drop(connection)
        connection = self._connection_class(self._host, self._port, timeout=self.timeout)
        self._local.connection = connection
        return connection, False

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None


def _json_default(value: object) -> str:
    """Bytes in a call's parameters are JSON-RPC data: 0x and hex (as web3 encodes them)."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    raise TypeError(f"{type(value).__name__} is not a JSON-RPC parameter")


class Rpc:
    """Sends JSON-RPC requests and maps every error to a typed one."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.provider = w3.provider
        self.embedded = isinstance(self.provider, EthereumTesterProvider)
        # The in-process chain is not thread-safe; a real node is.
        self._lock = _provider_lock(self.provider) if self.embedded else None
        self._http: NodeHttp | None = None
        self._make_request: Callable[[Any, Any], Any]
        if isinstance(self.provider, HTTPProvider):
            timeout = dict(self.provider.get_request_kwargs()).get("timeout", DEFAULT_TIMEOUT)
            self._http = NodeHttp(str(self.provider.endpoint_uri), float(timeout))
            self._make_request = self._http.request
        elif self.embedded:
            # eth-tester's provider answers ``make_request`` in its own shapes (snake_case
            # receipts, Python values); only its middleware, which web3 applies in
            # ``request_func``, translates them to JSON-RPC. So the embedded chain goes
            # through ``request_func`` with no middleware of web3's own around it.
            self._make_request = self.provider.request_func(w3, NamedElementOnion([]))
        else:
            self._make_request = self.provider.make_request

    def request(self, method: str, params: Sequence[Any]) -> Any:
        """Send one request; return its result or raise a typed error."""
        return self._result(method, self._send(method, list(params)))

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Send many requests, in one round trip per :data:`MAX_BATCH` of them; each item is a
        result or a ChainError."""
        if not calls:
            return []
        would_wait(calls[0][0])
        if self._http is None:
            out: list[Any] = []
            for method, params in calls:
                try:
                    out.append(self.request(method, params))
                except ChainError as exc:
                    out.append(exc)
            return out
        responses: list[Any] = []
        for start in range(0, len(calls), MAX_BATCH):
            part = [(method, list(params)) for method, params in calls[start : start + MAX_BATCH]]
            try:
                answered = self._http.batch(part)
            except NodeUnreachable as exc:
                raise self._unreachable(exc) from None
            if not isinstance(answered, list):
                error: dict[str, Any] = dict(answered.get("error") or {})
                raise RpcError("batch", int(error.get("code", 0)), str(error.get("message", "")))
            responses += answered
        results: list[Any] = []
        for (method, _), response in zip(calls, responses, strict=True):
            try:
                results.append(self._result(method, response))
            except ChainError as exc:
                results.append(exc)
        return results

    def _send(self, method: str, params: list[Any]) -> Any:
        would_wait(method)
        try:
            if self._lock is not None:
                with self._lock:
                    return self._make_request(method, params)
            return self._make_request(method, params)
        except TesterTransactionFailed as exc:
            raise decode_revert(_tester_revert_bytes(exc)) from None
        except (TesterValidationError, EthUtilsValidationError) as exc:
            # The embedded chain rejects a transaction by raising; a node answers an error.
            raise RpcError(method, -32000, str(exc)) from None
        except NodeUnreachable as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: NodeUnreachable) -> NodeUnavailable:
        """A call that got no answer, in one line: which node, what happened, what to check."""
        assert self._http is not None
        url = self._http.url
        if exc.timed_out:
            return NodeUnavailable(
                f"node unreachable: {url} did not answer within {self._http.timeout:g} s; check "
                "that it runs and is not overloaded"
            )
        what = "refused the connection" if exc.refused else "cannot be reached"
        return NodeUnavailable(f"node unreachable: {url} {what}; check the URL and that it runs")

    @staticmethod
    def _result(method: str, response: Any) -> Any:
        error = response.get("error")
        if error is None:
            return response.get("result")
        if isinstance(error, str):
            raise RpcError(method, 0, error)
        message = str(error.get("message", ""))
        data = error.get("data")
        revert = _revert_data(message, data)
        if revert is not None:
            raise decode_revert(revert)
        raise RpcError(method, int(error.get("code", 0)), message, data)


def _tester_revert_bytes(exc: TesterTransactionFailed) -> bytes:
    """eth-tester reports a revert as ``execution reverted: b'...'``; recover the bytes."""
    arg = exc.args[0] if exc.args else b""
    if isinstance(arg, bytes):
        return arg
    text = str(arg)
    prefix = "execution reverted: "
    if text.startswith(prefix):
        literal = text[len(prefix) :]
        if literal.startswith(("b'", 'b"')):
            value = ast.literal_eval(literal)
            if isinstance(value, bytes):
                return value
        if literal.startswith("0x"):
            return bytes.fromhex(literal[2:])
    return b""
