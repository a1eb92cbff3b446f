"""A local testnet: a real node process and one gateway process per agency, on loopback.

``up`` writes everything under one directory — keystores and encryption keys, deployment,
gateway configs, API keys, the consortium directory (the gateways ask each other through the
exchange over loopback HTTP), logs, the node's state — and ``testnet.json``, which ``down``,
a later ``up`` and ``taxledger demo --testnet`` read. The node (anvil) keeps its chain in
``node-state.json``, saved every second and when it stops, so ``up`` on an existing directory
resumes the same chain: it starts again whatever of the testnet is not running, on the same
ports. Keys, passwords and the outbox are owner-only files (:mod:`ledger_node.private_files`).
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
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.demo.agencies import DemoError
from ledger_node.demo.run import GATEWAY_AGENCIES
from ledger_node.exchange.directory import Directory
from ledger_node.keyring import issue_keyrings
from ledger_node.keys import LocalKey, new_encryption_keyfile, new_keystore
from ledger_node.localnode import LocalNode, free_port, start_node, stop_process_group
from ledger_node.private_files import private_directory, write_private
from ledger_node.tagging import Keyring

FORMAT = "taxledger.testnet/v1"
#: The node's chain, kept across restarts of the node.
NODE_STATE = "node-state.json"
#: Seconds between saves of the node's state: a node killed outright loses at most this.
STATE_INTERVAL = 1


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _port(base: int | None, offset: int) -> int:
    return free_port() if base is None else base + offset


def _start_node(directory: Path, kind: str, port: int) -> LocalNode:
    if kind == "anvil":
        return start_node(
            kind,
            port=port,
            block_time=1,
            log_path=directory / "logs" / "node.log",
            state_path=directory / NODE_STATE,
            extra_args=("--state-interval", str(STATE_INTERVAL)),
        )
    return start_node(kind, port=port, log_path=directory / "logs" / "node.log")


def testnet_up(
    directory: Path,
    *,
    node: str = "anvil",
    base_port: int | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Start the node and the gateways, deploy, and write ``directory/testnet.json``; on a
    directory that has one, start again what is not running instead."""
    # The node, its log writer and the gateways run in other working directories, and the
    # gateway configs and testnet.json name files by these paths.
    directory = directory.resolve()
    state = directory / "testnet.json"
    if state.exists():
        return _resume(directory, json.loads(state.read_text(encoding="utf-8")), echo)
    private_directory(directory)
    logs = private_directory(directory / "logs")
    keys_dir = private_directory(directory / "keys")
    password = secrets.token_urlsafe(24)
    write_private(keys_dir / "password", password + "\n")

    local = _start_node(directory, node, _port(base_port, 0))
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
        # Each agency's X25519 key, registered at founding: what others seal answers to.
        sealing = {
            name: new_encryption_keyfile(keys_dir / f"{name}.encryption.pem", password)
            for name, _ in STANDARD_MEMBERS
        }
        founded = found_consortium(
            Rpc(connect(local.url)), STANDARD_MEMBERS, keys=keys, encryption_keys=sealing
        )
        deployment_path = directory / "deployment.json"
        founded.deployment.save(deployment_path)
        echo(f"ledger {founded.deployment.ledger} deployed; wrote {deployment_path}")
        # Each agency's subject-tag keys, sealed to the encryption key it registered.
        issue_keyrings(
            LedgerClient.from_deployment(connect(local.url), founded.deployment),
            Keyring.of(founded.tag_keys),
            keys_dir,
            founded.encryption_keys,
        )
        doc.update(deployment=str(deployment_path))
        ports = {
            name: _port(base_port, offset) for offset, name in enumerate(GATEWAY_AGENCIES, start=1)
        }
        # The gateways find each other, over loopback, through the consortium directory.
        Directory.loopback(founded.deployment.chain_id, founded.deployment.ledger, ports).save(
            directory / "directory.json"
        )
        for name in GATEWAY_AGENCIES:
            entry = _configure_gateway(directory, name, local.url, ports[name], keys_dir)
            entry["pid"] = _start_gateway(Path(entry["config"]), logs / f"{name}.log")
            doc["gateways"][name] = entry
            echo(f"{name} gateway at {entry['url']}")
        for name, entry in doc["gateways"].items():
            _wait_healthy(name, entry["url"], logs / f"{name}.log")
    except BaseException:
        _stop_all(doc)
        raise
    write_private(state, json.dumps(doc, indent=2) + "\n")
    return doc


def _resume(directory: Path, doc: dict[str, Any], echo: Callable[[str], None]) -> dict[str, Any]:
    """Start whatever of an existing testnet is not running: the node on its state, then
    the gateways on their configs and outboxes."""
    node = doc["node"]
    started = []
    if not _pid_alive(int(node["pid"])):
        if node["kind"] != "anvil" or not (directory / NODE_STATE).exists():
            raise DemoError(
                f"the testnet in {directory} has no saved node state ({node['kind']} node), so "
                f"its chain is gone; `taxledger testnet down --dir {directory}` and start a "
                "new one in another directory"
            )
        local = _start_node(directory, node["kind"], int(node["port"]))
        node["pid"] = local.pid
        started.append(f"{node['kind']} at {local.url} (pid {local.pid}) on its saved state")
    for name, entry in doc["gateways"].items():
        if not _pid_alive(int(entry["pid"])):
            entry["pid"] = _start_gateway(Path(entry["config"]), directory / "logs" / f"{name}.log")
            started.append(f"{name} gateway at {entry['url']} (pid {entry['pid']})")
    for name, entry in doc["gateways"].items():
        _wait_healthy(name, entry["url"], directory / "logs" / f"{name}.log")
    if not started:
        echo(f"the testnet in {directory} is running already")
    for line in started:
        echo(f"started {line}")
    write_private(directory / "testnet.json", json.dumps(doc, indent=2) + "\n")
    return doc


def _configure_gateway(
    directory: Path, name: str, rpc: str, port: int, keys_dir: Path
) -> dict[str, Any]:
    from gateway.apikeys import Role, add_key
    from gateway.settings import write_member_config

    folder = private_directory(directory / "gateways" / name)
    api_key = add_key(folder / "api-keys.json", "testnet", frozenset(Role))
    config = write_member_config(
        folder,
        name,
        keys=keys_dir,
        chain=rpc,
        deployment=directory / "deployment.json",
        port=port,
        directory_file=directory / "directory.json",
        batch_size=1000,
        batch_interval_ms=500,
        confirmations=1,
        host="127.0.0.1",
    )
    return {"url": f"http://127.0.0.1:{port}", "api_key": api_key, "config": str(config)}


def _start_gateway(config: Path, log_path: Path) -> int:
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger_node", "gateway", "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process.pid


def _wait_healthy(name: str, url: str, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).json() == {"status": "ok"}:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""
    raise DemoError(f"the {name} gateway did not come up at {url}:\n{tail}")


def _pids(doc: dict[str, Any]) -> list[int]:
    pids = [int(g["pid"]) for g in doc.get("gateways", {}).values() if "pid" in g]
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
    """Stop every process ``testnet up`` started in ``directory``; return their pids.

    The directory stays: ``up`` on it resumes the same chain and outboxes.
    """
    state = directory / "testnet.json"
    if not state.exists():
        raise DemoError(f"no testnet.json in {directory}: nothing to stop")
    doc: dict[str, Any] = json.loads(state.read_text(encoding="utf-8"))
    return _stop_all(doc)
