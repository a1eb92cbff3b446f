"""A local testnet: a real node process and one gateway process per agency, on loopback.

``up`` writes everything under one directory — keystores, deployment, gateway configs, API
keys, logs — and ``testnet.json``, which ``down`` and ``taxledger demo --testnet`` read.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ledger_node.chain.deploy import STANDARD_MEMBERS, found_consortium
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.demo.agencies import DemoError
from ledger_node.demo.run import GATEWAY_AGENCIES
from ledger_node.keys import LocalKey, new_keystore
from ledger_node.localnode import free_port, start_node, stop_process_group

FORMAT = "taxledger.testnet/v1"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _port(base: int | None, offset: int) -> int:
    return free_port() if base is None else base + offset


def testnet_up(
    directory: Path,
    *,
    node: str = "anvil",
    base_port: int | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Start the node and the gateways, deploy, and write ``directory/testnet.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    state = directory / "testnet.json"
    if state.exists():
        earlier = json.loads(state.read_text(encoding="utf-8"))
        if any(_pid_alive(pid) for pid in _pids(earlier)):
            raise DemoError(f"a testnet is already running from {directory}; stop it first")
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    keys_dir = directory / "keys"
    keys_dir.mkdir(exist_ok=True)
    password_file = keys_dir / "password"
    password_file.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    password = password_file.read_text(encoding="utf-8").strip()

    local = start_node(
        node,
        port=_port(base_port, 0),
        block_time=1 if node == "anvil" else None,
        log_path=logs / "node.log",
    )
    doc: dict[str, Any] = {
        "format": FORMAT,
        "rpc": local.url,
        "node": {"kind": node, "pid": local.pid, "port": local.port},
        "gateways": {},
    }
    try:
        echo(f"{node} running at {local.url} (pid {local.pid})")
        keys: dict[str, LocalKey] = {
            name: new_keystore(keys_dir / f"{name}.json", password) for name, _ in STANDARD_MEMBERS
        }
        founded = found_consortium(Rpc(connect(local.url)), STANDARD_MEMBERS, keys=keys)
        deployment_path = directory / "deployment.json"
        founded.deployment.save(deployment_path)
        echo(f"ledger {founded.deployment.ledger} deployed; wrote {deployment_path}")
        key_file = directory / "consortium.key"
        key_file.write_text(secrets.token_bytes(32).hex() + "\n", encoding="utf-8")
        key_file.chmod(0o600)
        doc.update(deployment=str(deployment_path), consortium_key_file=str(key_file))
        for offset, name in enumerate(GATEWAY_AGENCIES, start=1):
            doc["gateways"][name] = _start_gateway(
                directory, name, local.url, _port(base_port, offset), keys_dir, logs
            )
            echo(f"{name} gateway at {doc['gateways'][name]['url']}")
        for name, entry in doc["gateways"].items():
            _wait_healthy(name, entry["url"], logs / f"{name}.log")
    except BaseException:
        _stop_all(doc)
        raise
    state.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    state.chmod(0o600)
    return doc


def _start_gateway(
    directory: Path, name: str, rpc: str, port: int, keys_dir: Path, logs: Path
) -> dict[str, Any]:
    from gateway.apikeys import Role, add_key

    folder = directory / "gateways" / name
    folder.mkdir(parents=True, exist_ok=True)
    api_key = add_key(folder / "api-keys.json", "testnet", frozenset(Role))
    config = folder / "gateway.toml"
    config.write_text(
        "\n".join(
            [
                f'agency = "{name}"',
                f'keystore = "{keys_dir / f"{name}.json"}"',
                f'password_file = "{keys_dir / "password"}"',
                f'chain = "{rpc}"',
                f'deployment = "{directory / "deployment.json"}"',
                f'database = "{folder / "outbox.sqlite"}"',
                f'api_keys = "{folder / "api-keys.json"}"',
                f'consortium_key_file = "{directory / "consortium.key"}"',
                "batch_size = 1000",
                "batch_interval_ms = 500",
                "confirmations = 1",
                'host = "127.0.0.1"',
                f"port = {port}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    with (logs / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger_node", "gateway", "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return {
        "url": f"http://127.0.0.1:{port}",
        "api_key": api_key,
        "pid": process.pid,
        "config": str(config),
    }


def _wait_healthy(name: str, url: str, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
    raise DemoError(f"the {name} gateway did not come up at {url}:\n{tail}")


def _pids(doc: dict[str, Any]) -> list[int]:
    pids = [int(g["pid"]) for g in doc.get("gateways", {}).values()]
    if "node" in doc:
        pids.append(int(doc["node"]["pid"]))
    return pids


def _stop_all(doc: dict[str, Any]) -> list[int]:
    stopped = []
    for pid in _pids(doc):
        if _pid_alive(pid):
            stop_process_group(pid)
            stopped.append(pid)
    return stopped


def testnet_down(directory: Path) -> list[int]:
    """Stop every process ``testnet up`` started in ``directory``; return their pids."""
    state = directory / "testnet.json"
    if not state.exists():
        raise DemoError(f"no testnet.json in {directory}: nothing to stop")
    doc: dict[str, Any] = json.loads(state.read_text(encoding="utf-8"))
    return _stop_all(doc)
