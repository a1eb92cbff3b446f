"""The JSON-RPC seam between the client and a node.

Everything the client sends goes through :class:`Rpc`: one place that turns node answers into
results or typed errors, whether the provider is the in-process eth-tester chain or a real node
over HTTP (anvil, Hardhat, Besu). Nothing here is specific to one node.
"""

from __future__ import annotations

import ast
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import requests
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils.exceptions import ValidationError as EthUtilsValidationError
from web3 import Web3
from web3.datastructures import NamedElementOnion
from web3.providers import HTTPProvider
from web3.providers.eth_tester import EthereumTesterProvider

from ledger_node.chain.errors import ChainError, NodeUnavailable, RpcError, decode_revert

EMBEDDED = "embedded"


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


class Rpc:
    """Sends JSON-RPC requests and maps every error to a typed one."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.provider = w3.provider
        self.embedded = isinstance(self.provider, EthereumTesterProvider)
        # The in-process chain is not thread-safe; a real node is.
        self._lock = _provider_lock(self.provider) if self.embedded else None
        # A node is asked through the provider's public ``make_request`` (and
        # ``make_batch_request``), which answer plain JSON-RPC. eth-tester's provider cannot
        # be asked that way: its ``make_request`` answers in eth-tester's own shapes
        # (snake_case receipts, Python values), and only its middleware, which web3 applies
        # in ``request_func``, translates them to JSON-RPC. So the embedded chain goes
        # through ``request_func`` with no middleware of web3's own around it.
        self._make_request: Callable[[Any, Any], Any] = (
            self.provider.request_func(w3, NamedElementOnion([]))
            if self.embedded
            else self.provider.make_request
        )

    def request(self, method: str, params: Sequence[Any]) -> Any:
        """Send one request; return its result or raise a typed error."""
        return self._result(method, self._send(method, list(params)))

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Send many requests in one round trip; each item is a result or a ChainError."""
        if not calls:
            return []
        if self.embedded or not isinstance(self.provider, HTTPProvider):
            out: list[Any] = []
            for method, params in calls:
                try:
                    out.append(self.request(method, params))
                except ChainError as exc:
                    out.append(exc)
            return out
        try:
            responses = self.provider.make_batch_request(
                [(method, list(params)) for method, params in calls]  # type: ignore[misc]
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise self._unreachable(exc) from None
        if not isinstance(responses, list):
            error: dict[str, Any] = dict(responses.get("error") or {})
            raise RpcError("batch", int(error.get("code", 0)), str(error.get("message", "")))
        results: list[Any] = []
        for (method, _), response in zip(calls, responses, strict=True):
            try:
                results.append(self._result(method, response))
            except ChainError as exc:
                results.append(exc)
        return results

    def _send(self, method: str, params: list[Any]) -> Any:
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
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: requests.RequestException) -> NodeUnavailable:
        """A call that got no answer, in one line: which node, what happened, what to check."""
        url = getattr(self.provider, "endpoint_uri", None) or "the node"
        if isinstance(exc, requests.Timeout):
            provider = self.provider
            kwargs = (
                dict(provider.get_request_kwargs()) if isinstance(provider, HTTPProvider) else {}
            )
            timeout = kwargs.get("timeout")
            within = f" within {timeout:g} s" if isinstance(timeout, int | float) else ""
            return NodeUnavailable(
                f"node unreachable: {url} did not answer{within}; check that it runs and is "
                "not overloaded"
            )
        what = "refused the connection" if "refused" in str(exc).lower() else "cannot be reached"
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
