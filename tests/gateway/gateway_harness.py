"""Helpers of the gateway tests: a founded chain on disk and real gateway processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.apikeys import Role, add_key
from gateway.faults import ENV as CRASH_ENV
from gateway.settings import write_member_config
from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.events import TOPICS, EventReader
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.keyring import provision_agencies
from ledger_node.localnode import LocalNode, free_port, stop_process_group
from ledger_node.merkle import MerkleTree
from ledger_node.records import samples
from ledger_node.tagging import Keyring
from ledger_node.verify.verifier import Verifier

PASSWORD = "gateway-test-password"
#: The scrypt cost of the agencies' throwaway keystores: every gateway process opens one, and
#: at the standard cost that is a second or more of each start.
SCRYPT_N = 1 << 10
TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


@dataclass
class Chain:
    """A node with a founded consortium, and the agencies' keystores on disk."""

    node: LocalNode
    consortium: FoundedConsortium
    directory: Path

    @property
    def ledger(self) -> LedgerClient:
        return LedgerClient.from_deployment(connect(self.node.url), self.consortium.deployment)


def found_chain(node: LocalNode, directory: Path) -> Chain:
    """Found a consortium on ``node`` and write its deployment file and keystores."""
    directory.mkdir(parents=True, exist_ok=True)
    consortium = found_consortium(Rpc(connect(node.url)))
    consortium.deployment.save(directory / "deployment.json")
    (directory / "password").write_text(PASSWORD + "\n")
    for name, key in consortium.keys.items():
        (directory / f"{name}.json").write_text(
            json.dumps(key.to_keystore(PASSWORD, scrypt_n=SCRYPT_N))
        )
    # Each agency's encryption key file and the keyring issued to it, as a consortium does.
    provision_agencies(
        LedgerClient.from_deployment(connect(node.url), consortium.deployment),
        Keyring.of(consortium.tag_keys),
        consortium.encryption_keys,
        directory,
        PASSWORD,
    )
    return Chain(node, consortium, directory)


@dataclass
class GatewayProcess:
    """A running ``taxledger gateway serve`` in its own process group."""

    config: Path
    port: int
    log: Path
    keys: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=60.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0, crash_at: str | None = None) -> None:
        """Start ``gateway serve``; with ``crash_at``, the process SIGKILLs itself the first
        time it reaches that step (gateway.faults)."""
        env = dict(os.environ)
        env.pop(CRASH_ENV, None)
        if crash_at is not None:
            env[CRASH_ENV] = crash_at
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [TAXLEDGER, "gateway", "serve", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        try:
            wait_for(self._ready, timeout, f"the gateway on port {self.port} (log: {self.log})")
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"gateway exited with {self.process.returncode}: {self.log.read_text()}")
        try:
            return self.client.get("/healthz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def wait_exit(self, timeout: float, what: str) -> int:
        """Wait for the process to end by itself; its exit code."""
        assert self.process is not None
        process = self.process
        wait_for(lambda: process.poll() is not None, timeout, what, 0.1)
        return process.returncode

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown code runs."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_process_group(self.process.pid)
            self.process.wait(10)

    def headers(self, role: str = "all") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def get(self, path: str, role: str = "all") -> httpx.Response:
        return self.client.get(path, headers=self.headers(role))

    def post(self, path: str, body: Any = None, role: str = "all", **kw: Any) -> httpx.Response:
        """POST ``body`` as JSON, or raw ``content=`` bytes declared as JSON."""
        headers = self.headers(role)
        if body is not None:
            kw["json"] = body
        else:
            headers["Content-Type"] = "application/json"
        return self.client.post(path, headers=headers, **kw)

    def health(self) -> dict[str, Any]:
        """The detailed /healthz answer (asked with a read key)."""
        result: dict[str, Any] = self.client.get("/healthz", headers=self.headers("read")).json()
        return result

    def counts(self) -> dict[str, int]:
        """The outbox's records by status."""
        records: dict[str, int] = self.health()["records"]
        return records

    @property
    def database(self) -> Path:
        return self.config.parent / "outbox.db"


LOAD_SCHEMA = "invoice.issued/v1"
RECORDS = samples.generate(LOAD_SCHEMA, 600, seed=42)


class Loader(threading.Thread):
    """Posts bulk requests until stopped; remembers which ids were answered 202/200."""

    def __init__(self, gateway: GatewayProcess, prefix: str, per_request: int = 200) -> None:
        super().__init__(daemon=True)
        self.url = gateway.url
        self.headers = gateway.headers("submit")
        self.prefix = prefix
        self.per_request = per_request
        self.accepted: set[str] = set()
        self.requests = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as client:
            while not self.halt.is_set():
                first = self.requests * self.per_request
                items = [
                    {
                        "schema": LOAD_SCHEMA,
                        "id": f"{self.prefix}-{first + i}",
                        "record": RECORDS[(first + i) % len(RECORDS)],
                    }
                    for i in range(self.per_request)
                ]
                try:
                    response = client.post("/v1/records:bulk", json={"records": items})
                except httpx.TransportError:
                    return  # the gateway died under us
                assert response.status_code == 200, response.text
                for result in response.json()["results"]:
                    assert result["status"] in (200, 202), result
                    self.accepted.add(result["id"])
                self.requests += 1


def settled(gateway: GatewayProcess) -> bool:
    """Every record in the outbox is in a final batch."""
    counts = gateway.counts()
    return counts["unbatched"] == counts["pending"] == counts["anchored"] == 0


def write_config(directory: Path, chain: Chain, agency: str, port: int, **overrides: Any) -> Path:
    """A gateway config for ``agency`` in ``directory`` (TOML), with the keyring issued to it."""
    directory.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = {
        "database": str(directory / "outbox.db"),
        "batch_size": 500,
        "batch_interval_ms": 300,
        "confirmations": 2,
        "max_body_bytes": 4 * 1024 * 1024,
        "log_level": "warning",
    }
    return write_member_config(
        directory,
        agency,
        keys=chain.directory,
        chain=chain.node.url,
        deployment=chain.directory / "deployment.json",
        port=port,
        **(settings | overrides),
    )


def launch(
    chain: Chain, directory: Path, agency: str, crash_at: str | None = None, **overrides: Any
) -> GatewayProcess:
    """Write a config and API keys (all roles, submit only, read only) and start a gateway
    (that kills itself at ``crash_at``, if given)."""
    port = free_port()
    config = write_config(directory, chain, agency, port, **overrides)
    keys_file = directory / "api-keys.json"
    keys = {
        "all": add_key(keys_file, "all", frozenset(Role)),
        "submit": add_key(keys_file, "submitter", frozenset({Role.SUBMIT})),
        "read": add_key(keys_file, "reader", frozenset({Role.READ})),
    }
    gateway = GatewayProcess(config, port, directory / "gateway.log", keys)
    gateway.start(crash_at=crash_at)
    return gateway


def assert_final_exactly_once(
    gateway: GatewayProcess, chain: Chain, accepted: set[str], agency: str = "tax-bureau"
) -> None:
    """Every accepted id is in exactly one live batch of the outbox, and every live batch is
    final; its stored leaves are its records' leaves and make its root; the ledger holds each
    live root once, for this agency, with its count; and a bundle of every batch, fetched
    from the gateway, passes the real verifier against the node.

    The outbox is read with plain SQL, not through the gateway's code.
    """
    with sqlite3.connect(f"file:{gateway.database}?mode=ro", uri=True) as conn:
        records = conn.execute("SELECT id, seq, substr(digests, 97, 32) FROM records").fetchall()
        batches = conn.execute(
            "SELECT b.root, b.first_seq, b.count, b.status, l.leaves FROM batches b"
            " JOIN batch_leaves l ON l.batch = b.batch WHERE b.status != 'superseded'"
        ).fetchall()
    assert accepted <= {row[0] for row in records}
    # A record's number is (schema code << 40) + its place among its schema's records.
    leaf_of = {seq: leaf for _, seq, leaf in records}
    id_of = {seq: record_id for record_id, seq, _ in records}
    newest: dict[int, int] = {}
    for _, seq, _ in records:
        newest[seq >> 40] = max(newest.get(seq >> 40, 0), seq)
    live: dict[bytes, int] = {}
    first_ids: list[str] = []
    for code, last in newest.items():
        ranges = sorted((b for b in batches if b[1] >> 40 == code), key=lambda b: b[1])
        expected_first = (code << 40) + 1
        for root, first, count, status, leaves in ranges:
            assert first == expected_first, f"schema {code}: a gap or overlap at record {first}"
            assert status == "final", f"batch 0x{root.hex()} is {status}"
            nodes = [leaves[i : i + 32] for i in range(0, len(leaves), 32)]
            assert nodes == [leaf_of[first + i] for i in range(count)]
            assert MerkleTree(nodes).root == root
            live[root] = count
            first_ids.append(id_of[first])
            expected_first = first + count
        assert expected_first == last + 1, f"schema {code}: records from {expected_first} unbatched"
    ledger = chain.ledger
    deployment = chain.consortium.deployment
    agency_id = deployment.agency(agency).agency_id
    events = EventReader(ledger.rpc, ledger.address).logs(
        deployment.deployment_block, ledger.block_number(), [TOPICS["BatchAnchored"]]
    )
    mine = [e for e in events if e.args["agencyId"] == agency_id and e.args["root"] in live]
    assert sorted(e.args["root"] for e in mine) == sorted(live), "a root missing or anchored twice"
    assert {e.args["root"]: e.args["count"] for e in mine} == live
    verifier = Verifier.from_chain(ledger, deployment)
    for record_id in first_ids:
        response = gateway.get(f"/v1/records/{record_id}/proof")
        assert response.status_code == 200, response.text
        verifier.verify_bytes(response.content)
