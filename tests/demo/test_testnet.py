"""The local testnet keeps its chain: its node restarted in the middle of a load resumes from
its saved state with `testnet up`, every accepted record ends final and `taxledger verify`
passes every bundle; its secrets are owner-only and no log holds a private key."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from ledger_node.keyring import open_keyring
from ledger_node.keys import load_encryption_keyfile
from ledger_node.records import samples

INVOICE = "invoice.issued/v1"
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def taxledger(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_node", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


class Loader(threading.Thread):
    """Posts bulk requests of invoices, up to ``target`` requests (raised by the test for each
    phase, so the volume does not grow with the machine's load); remembers the ids answered
    202."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        self.pool = samples.generate(INVOICE, 200, seed=8)
        self.accepted: list[str] = []
        self.requests = 0
        self.target = 0
        self.halt = threading.Event()
        self.failure: str | None = None

    def more(self, requests: int, timeout: float, what: str) -> None:
        """Post ``requests`` more bulk requests and wait until they are answered."""
        self.target = self.requests + requests
        wait_for(lambda: self.requests >= self.target or self.failure, timeout, what)
        assert self.failure is None, self.failure

    def run(self) -> None:
        while not self.halt.is_set():
            if self.requests >= self.target:
                time.sleep(0.05)
                continue
            n = self.requests
            items = [
                {"schema": INVOICE, "id": f"net-{n}-{i}", "record": self.pool[(n * 50 + i) % 200]}
                for i in range(50)
            ]
            response = self.client.post("/v1/records:bulk", json={"records": items})
            if response.status_code != 200 or response.json()["accepted"] != 50:
                self.failure = response.text[:500]
                return
            self.accepted.extend(item["id"] for item in items)  # type: ignore[misc]
            self.requests += 1
            time.sleep(0.05)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _private_keys(net: Path) -> list[str]:
    """The agencies' keys (from their keystores), their subject-tag domain keys (from their
    keyrings) and anvil's development keys, as hex."""
    password = (net / "keys" / "password").read_text().strip()
    keys = [
        Account.decrypt(json.loads(path.read_text()), password).hex()
        for path in (net / "keys").glob("*.json")
        if not path.name.endswith(".keyring.json")
    ]
    for path in (net / "keys").glob("*.keyring.json"):
        name = path.name.removesuffix(".keyring.json")
        opened = open_keyring(
            path, load_encryption_keyfile(net / "keys" / f"{name}.encryption.pem", password)
        )
        keys += [key.hex() for versions in opened.keys.values() for key in versions.values()]
    Account.enable_unaudited_hdwallet_features()
    keys += [
        Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key.hex()
        for i in range(2)
    ]
    return [key.removeprefix("0x") for key in keys]


@pytest.mark.slow
def test_the_node_restarted_mid_load_resumes_its_chain(tmp_path: Path) -> None:
    net = tmp_path / "net"
    up = taxledger("testnet", "up", "--dir", str(net))
    assert up.returncode == 0, up.stdout + up.stderr
    doc = json.loads((net / "testnet.json").read_text())
    try:
        tax = doc["gateways"]["tax-bureau"]
        loader = Loader(tax["url"], tax["api_key"])
        loader.start()
        loader.more(5, 60, "records before the node stops")
        # Posting goes on while the node stops: records arrive as it goes down.
        loader.target += 5
        os.killpg(doc["node"]["pid"], signal.SIGTERM)  # the node's group: anvil saves its state
        wait_for(lambda: _gone(doc["node"]["pid"]), 30, "the node to stop")
        loader.more(5, 60, "records accepted while it is down")

        again = taxledger("testnet", "up", "--dir", str(net))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "on its saved state" in again.stdout
        assert "gateway at" not in again.stdout  # the gateways ran on, degraded meanwhile
        resumed = json.loads((net / "testnet.json").read_text())
        assert resumed["node"]["port"] == doc["node"]["port"]
        assert resumed["node"]["pid"] != doc["node"]["pid"]
        doc = resumed
        loader.more(5, 60, "records after the restart")
        loader.halt.set()
        loader.join(60)
        assert loader.failure is None, loader.failure

        def final() -> bool:
            counts = loader.client.get("/healthz").json()["records"]
            return bool(counts["final"] == len(loader.accepted) and not counts["unbatched"])

        wait_for(final, 120, "every accepted record to be final")
        bundles = tmp_path / "bundles"
        bundles.mkdir()
        for record_id in loader.accepted:
            proof = loader.client.get(f"/v1/records/{record_id}/proof")
            assert proof.status_code == 200, proof.text
            (bundles / f"{record_id}.json").write_bytes(proof.content)
        verified = taxledger(
            "verify", str(bundles), "--rpc", doc["rpc"], "--deployment", doc["deployment"]
        )
        assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr
        assert verified.stdout.count("OK: ") == len(loader.accepted)

        assert _mode(net / "keys") == 0o700
        for secret in (
            "keys/password",
            "keys/tax-bureau.keyring.json",
            "keys/tax-bureau.encryption.pem",
            "testnet.json",
            "keys/tax-bureau.json",
            "gateways/tax-bureau/outbox.sqlite",
            "gateways/bank/api-keys.json",
        ):
            assert _mode(net / secret) == 0o600, secret  # fmt: skip
        logs = {path.name: path.read_text() for path in (net / "logs").iterdir()}
        assert "Listening on" in logs["node.log"]
        assert "test test test" not in logs["node.log"]
        for key in _private_keys(net):
            for name, text in logs.items():
                assert key not in text.lower(), f"a private key in {name}"
    finally:
        down = taxledger("testnet", "down", "--dir", str(net))
    assert down.returncode == 0, down.stderr


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
