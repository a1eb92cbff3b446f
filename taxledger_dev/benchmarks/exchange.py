"""The exchange benchmark: verified disclosures per second through two gateway processes.

The tax bureau's gateway (provider) holds ratings and consents of many companies; the bank's
gateway (requester) asks it, through ``POST /v1/exchange/queries``, for one company's rating
with its consent, again and again, from ``concurrency`` clients at once. Each answer is
sealed to the bank's key, opened and verified by the bank's gateway; each disclosure is
recorded and anchored by the tax bureau's gateway, and the run waits until all are.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import orjson

from gateway.apikeys import Role, add_key
from gateway.settings import write_member_config
from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.exchange.directory import Directory
from ledger_node.keyring import provision_agencies
from ledger_node.localnode import LocalNode, free_port, stop_process_group
from ledger_node.records import samples
from ledger_node.records.clock import CHINA_TIME
from ledger_node.tagging import Keyring

PASSWORD = "exchange-benchmark-password"  # noqa: S105 - throwaway keys of a benchmark
TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))
AGENCIES = ("tax-bureau", "bank")


@dataclass
class GatewayProcess:
    name: str
    url: str
    key: str
    process: subprocess.Popen[bytes]
    database: Path

    def stop(self) -> None:
        stop_process_group(self.process.pid)


def start_gateways(
    workdir: Path, node: LocalNode
) -> tuple[FoundedConsortium, dict[str, GatewayProcess]]:
    """Found a consortium and start the tax bureau's and the bank's gateways."""
    consortium = found_consortium(Rpc(connect(node.url)))
    deployment = consortium.deployment
    deployment.save(workdir / "deployment.json")
    (workdir / "password").write_text(PASSWORD)
    # Each agency's encryption key file and keyring, as the consortium issues them.
    provision_agencies(
        LedgerClient.from_deployment(connect(node.url), deployment),
        Keyring.of(consortium.tag_keys),
        consortium.encryption_keys,
        workdir,
        PASSWORD,
    )
    ports = {name: free_port() for name in AGENCIES}
    Directory.loopback(deployment.chain_id, deployment.ledger, ports).save(
        workdir / "directory.json"
    )
    gateways = {}
    for name in AGENCIES:
        folder = workdir / name
        folder.mkdir()
        keystore = workdir / f"{name}.json"
        keystore.write_text(json.dumps(consortium.keys[name].to_keystore(PASSWORD)))
        config = write_member_config(
            folder,
            name,
            keys=workdir,
            chain=node.url,
            deployment=workdir / "deployment.json",
            port=ports[name],
            directory_file=workdir / "directory.json",
            batch_size=10_000,
            batch_interval_ms=500,
            confirmations=1,
            log_level="warning",
        )
        key = add_key(folder / "api-keys.json", "bench", frozenset(Role))
        log = (folder / "gateway.log").open("wb")
        process = subprocess.Popen(
            [TAXLEDGER, "gateway", "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        gateways[name] = GatewayProcess(
            name, f"http://127.0.0.1:{ports[name]}", key, process, folder / "outbox.sqlite"
        )
    for gateway in gateways.values():
        _wait_up(gateway)
    return consortium, gateways


def _wait_up(gateway: GatewayProcess) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{gateway.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if gateway.process.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(f"the {gateway.name} gateway did not start; see its gateway.log")


def _counts(gateway: GatewayProcess) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {gateway.key}"}
    records: dict[str, int] = httpx.get(
        f"{gateway.url}/healthz", headers=headers, timeout=30
    ).json()["records"]
    return records


def wait_anchored(gateway: GatewayProcess, timeout: float = 300) -> float:
    """Seconds until every record of the gateway's outbox is in a mined batch."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        counts = _counts(gateway)
        if counts["unbatched"] == counts["pending"] == 0:
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"{gateway.name}'s records were not all anchored within {timeout} s")


def seed(tax: GatewayProcess, companies: int) -> list[tuple[str, str]]:
    """Ratings and consents for the bank of ``companies`` companies at the tax bureau,
    anchored: ``(uscc, consent commitment)`` each."""
    rng = random.Random(2026)  # noqa: S311
    ratings = samples.generate("credit.tax-rating/v1", companies, seed=2026)
    granted = (datetime.datetime.now(CHINA_TIME) - datetime.timedelta(hours=1)).replace(
        microsecond=0
    )
    items = []
    for i, rating in enumerate(ratings):
        items.append({"schema": "credit.tax-rating/v1", "id": f"rt-{i}", "record": rating})
        consent = samples.consent(rng, rating["uscc"], "bank", granted)
        items.append({"schema": "consent.granted/v1", "id": f"cs-{i}", "record": consent})
    headers = {"Authorization": f"Bearer {tax.key}"}
    answer = httpx.post(
        f"{tax.url}/v1/records:bulk", json={"records": items}, headers=headers, timeout=300
    ).json()
    assert answer["accepted"] == len(items), answer
    wait_anchored(tax)
    commitments = {r["id"]: r["receipt"]["commitment"] for r in answer["results"]}
    return [(r["uscc"], commitments[f"cs-{i}"]) for i, r in enumerate(ratings)]


@dataclass
class Phase:
    concurrency: int
    seconds: float
    latencies: list[float]
    failures: list[str]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def _phase(
    bank: GatewayProcess, subjects: list[tuple[str, str]], concurrency: int, seconds: float
) -> Phase:
    latencies: list[float] = []
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {bank.key}", "Content-Type": "application/json"}
    url = f"{bank.url}/v1/exchange/queries"
    # aiohttp: a client whose own cost stays small beside the gateways it measures.
    async with aiohttp.ClientSession(
        headers=headers,
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=60),
    ) as session:
        stop_at = time.perf_counter() + seconds
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.perf_counter() < stop_at:
                uscc, consent = subjects[next(counter) % len(subjects)]
                body = orjson.dumps(
                    {
                        "provider": "tax-bureau",
                        "taxpayer": uscc,
                        "schemas": ["credit.tax-rating/v1"],
                        "purpose": "credit-assessment",
                        "consent": consent,
                    }
                )
                started = time.perf_counter()
                async with session.post(url, data=body) as response:
                    raw = await response.read()
                    elapsed = time.perf_counter() - started
                    status = response.status
                answer = orjson.loads(raw)
                if status != 200 or len(answer["facts"]) != 1 or answer["failed"]:
                    failures.append(raw[:300].decode(errors="replace"))
                else:
                    latencies.append(elapsed)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        spent = time.perf_counter() - began
    return Phase(concurrency, spent, latencies, failures)


def run_phase(
    bank: GatewayProcess, subjects: list[tuple[str, str]], concurrency: int, seconds: float
) -> Phase:
    return asyncio.run(_phase(bank, subjects, concurrency, seconds))


def disclosure_records(tax: GatewayProcess) -> int:
    """Disclosure records in the tax bureau's outbox (read with plain SQL)."""
    with sqlite3.connect(f"file:{tax.database}?mode=ro", uri=True) as conn:
        code = conn.execute("SELECT code FROM schemas WHERE name = 'disclosure.made/v1'").fetchone()
        if code is None:
            return 0
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM records WHERE seq >> 40 = ?", (code[0],)
        ).fetchone()
    return int(count)
