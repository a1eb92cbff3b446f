"""Local JSON-RPC node processes (anvil or ``hardhat node``) for testnets, tests and benchmarks.

A node is started in its own process group on a loopback port and stopped with that whole
group, so no child survives it. Both nodes print their development accounts' private keys
(and anvil its mnemonic) when they start; a node's log goes through :class:`KeyRedactor`,
in a small process of the node's group, so no log taxledger writes holds a private key.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from ledger_node.checkout import project_root
from ledger_node.errors import ConfigurationError

NODE_KINDS = ("anvil", "hardhat")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def anvil_binary(root: Path | None = None) -> Path:
    """The anvil executable shipped by the npm package ``@foundry-rs/anvil-linux-amd64``."""
    path = (root or project_root()) / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    if not path.is_file():
        raise ConfigurationError(f"anvil not found at {path}; run `npm ci` in the checkout")
    return path


@dataclass
class LocalNode:
    """A running node process."""

    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the node and every process it started."""
        stop_process_group(self.process.pid, timeout)
        self.process.wait(timeout)


def stop_process_group(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM a process group, then SIGKILL it if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def start_node(
    kind: str = "anvil",
    *,
    port: int | None = None,
    block_time: float | None = None,
    log_path: Path | None = None,
    state_path: Path | None = None,
    gas_limit: int | None = None,
    extra_args: tuple[str, ...] = (),
    startup_timeout: float = 60.0,
) -> LocalNode:
    """Start a node on 127.0.0.1 and wait until it answers JSON-RPC.

    ``block_time`` None means a block per transaction (automine). ``state_path`` (anvil only)
    keeps the chain across restarts.
    """
    if kind not in NODE_KINDS:
        raise ConfigurationError(f"unknown node kind {kind!r}; expected one of {NODE_KINDS}")
    port = port or free_port()
    root = project_root()
    if kind == "anvil":
        cmd = [str(anvil_binary(root)), "--host", "127.0.0.1", "--port", str(port)]
        if block_time is not None:
            cmd += ["--block-time", str(block_time)]
        if gas_limit is not None:
            cmd += ["--gas-limit", str(gas_limit)]
        if state_path is not None:
            cmd += ["--state", str(state_path)]
        cmd += ["--accounts", "2", "--balance", "1000000000", *extra_args]
    else:
        npx = root / "node_modules" / ".bin" / "hardhat"
        if not npx.is_file():
            raise ConfigurationError("hardhat is not installed; run `npm ci` in the checkout")
        cmd = [str(npx), "node", "--hostname", "127.0.0.1", "--port", str(port)]
    env = dict(os.environ)
    env["PATH"] = f"{root / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    if log_path is not None:
        # The node runs under a process that withholds keys from its log, in one process
        # group led by it: stopping the group stops the node, and the log is written to the
        # end (anvil saves its state as it exits).
        cmd = [sys.executable, "-m", "ledger_node.localnode", str(log_path), "--", *cmd]
    process = subprocess.Popen(
        cmd,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    node = LocalNode(kind, port, process, log_path)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if not node.alive():
            raise ConfigurationError(f"{kind} exited at start (code {process.returncode})")
        try:
            body: dict[str, Any] = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_chainId",
                "params": [],
            }
            if requests.post(node.url, json=body, timeout=1).ok:
                return node
        except requests.RequestException:
            pass
        time.sleep(0.1)
    node.stop()
    raise ConfigurationError(f"{kind} did not answer on port {port} within {startup_timeout} s")


class KeyRedactor:
    """Withholds the private keys and mnemonic a development node prints, line by line.

    anvil lists its keys as ``(n) 0x<64 hex digits>`` under a ``Private Keys`` heading and
    prints ``Mnemonic: <words>``; Hardhat prints ``Private Key: 0x<64 hex digits>``. Hashes
    of blocks and transactions, which the log also shows, are left as they are.
    """

    _KEY = re.compile(r"0x[0-9a-fA-F]{64}")
    _LISTED_KEY = re.compile(r"^\(\d+\)\s+0x[0-9a-fA-F]{64}\s*$")
    _SECTION = re.compile(r"^\s*\S")

    def __init__(self) -> None:
        self._in_keys = False

    def redact(self, line: str) -> str:
        """``line`` with any private key or mnemonic in it withheld."""
        stripped = line.strip()
        if stripped.lower().startswith("private keys"):
            self._in_keys = True
            return line
        if self._in_keys and self._LISTED_KEY.match(stripped):
            return self._KEY.sub("0x<withheld>", line)
        if self._in_keys and stripped and not stripped.startswith("=") and stripped[0] != "(":
            self._in_keys = False
        if "private key" in line.lower():
            return self._KEY.sub("0x<withheld>", line)
        if stripped.lower().startswith("mnemonic:"):
            return line[: line.lower().index("mnemonic:") + len("mnemonic:")] + " <withheld>\n"
        return line


def _run_logged(log_path: Path, command: list[str]) -> int:
    """Run ``command`` with its output appended to ``log_path``, keys withheld; its exit code.

    Signals to the process group reach the command itself; this process outlives them and
    ends when the command's output does.
    """
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # Ignored here only once the command runs (an ignored signal would be inherited).
    for received in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(received, signal.SIG_IGN)
    assert child.stdout is not None
    redactor = KeyRedactor()
    with log_path.open("a", encoding="utf-8", errors="replace") as out:
        for raw in child.stdout:
            out.write(redactor.redact(raw.decode("utf-8", errors="replace")))
            out.flush()
    return child.wait()


if __name__ == "__main__":
    sys.exit(_run_logged(Path(sys.argv[1]), sys.argv[3:]))
