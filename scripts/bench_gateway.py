"""Benchmark one agency gateway on anvil (``--block-time 1``): bulk ingest to anchored, and
single-record accept latency at a fixed rate. Prints the figures.

    .venv/bin/python scripts/bench_gateway.py [--seconds 60] [--schema invoice.issued/v1]

Starts anvil and a real ``taxledger gateway serve`` process (loopback only), founds a
consortium, drives the gateway with a bounded number of HTTP clients for a bounded time,
and stops everything it started.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from gateway.apikeys import Role, add_key
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.localnode import LocalNode, free_port, start_node, stop_process_group
from ledger_node.records import samples
from ledger_node.records.schemas import SCHEMAS

PASSWORD = "bench-password-0"
TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))


class RssSampler(threading.Thread):
    """Peak resident memory of a process, sampled every 0.2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.peak_kb = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                text = self.status.read_text()
            except FileNotFoundError:
                return
            for line in text.splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            self.halt.wait(0.2)


class Gateway:
    """A gateway process for the agency that attests ``schema``."""

    def __init__(
        self, workdir: Path, node: LocalNode, schema: str, batch_size: int, synchronous: str
    ) -> None:
        agency = next(iter(SCHEMAS[schema].attesters)).label
        consortium = found_consortium(Rpc(connect(node.url)))
        consortium.deployment.save(workdir / "deployment.json")
        (workdir / "password").write_text(PASSWORD)
        (workdir / "key.json").write_text(json.dumps(consortium.keys[agency].to_keystore(PASSWORD)))
        (workdir / "consortium.key").write_text(secrets.token_hex(32))
        self.port = free_port()
        settings = {
            "agency": agency,
            "keystore": "key.json",
            "password_file": "password",
            "chain": node.url,
            "deployment": "deployment.json",
            "database": "outbox.db",
            "api_keys": "api-keys.json",
            "consortium_key_file": "consortium.key",
            "batch_size": batch_size,
            "batch_interval_ms": 500,
            "confirmations": 2,
            "port": self.port,
            "log_level": "warning",
            "sqlite_synchronous": synchronous,
        }
        config = workdir / "gateway.toml"
        config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
        key = add_key(workdir / "api-keys.json", "bench", frozenset(Role))
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [TAXLEDGER, "gateway", "serve", "--config", str(config)],
            stdout=(workdir / "gateway.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gateway did not start; see {workdir / 'gateway.log'}")
            time.sleep(0.2)

    def counts(self) -> dict[str, int]:
        records: dict[str, int] = httpx.get(self.url + "/healthz", timeout=10).json()["records"]
        return records

    def stop(self) -> None:
        stop_process_group(self.process.pid)


def item_bytes(schema: str, records: list[bytes], prefix: str, start: int, count: int) -> bytes:
    """A bulk body of ``count`` items, ids ``prefix-start..``, records cycled from the pool."""
    head = b'{"schema":"' + schema.encode() + b'","id":"' + prefix.encode() + b"-"
    parts = [
        head + str(start + i).encode() + b'","record":' + records[(start + i) % len(records)] + b"}"
        for i in range(count)
    ]
    return b'{"records":[' + b",".join(parts) + b"]}"


def bulk_phase(
    gateway: Gateway, schema: str, records: list[bytes], seconds: float, per_request: int,
    clients: int,
) -> tuple[int, float, float]:  # fmt: skip
    """Post bulk bodies from ``clients`` threads for ``seconds``; then wait for anchoring.

    Returns (records accepted, seconds spent posting, seconds until all were anchored).
    """
    accepted = [0] * clients
    started = time.monotonic()
    stop_at = started + seconds

    def client(n: int) -> None:
        with httpx.Client(base_url=gateway.url, headers=gateway.headers, timeout=120) as http:
            sent = 0
            while time.monotonic() < stop_at:
                body = item_bytes(schema, records, f"bulk{n}", sent, per_request)
                response = http.post("/v1/records:bulk", content=body)
                response.raise_for_status()
                accepted[n] += orjson.loads(response.content)["accepted"]
                sent += per_request

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    posted = time.monotonic() - started
    total = sum(accepted)
    while True:
        counts = gateway.counts()
        if counts["anchored"] + counts["final"] >= total:
            break
        if time.monotonic() - started > seconds + 600:
            raise SystemExit(f"records not anchored 10 min after the load: {counts}")
        time.sleep(0.25)
    return total, posted, time.monotonic() - started


def single_phase(
    gateway: Gateway, schema: str, records: list[bytes], rate: float, seconds: float
) -> list[float]:
    """Single POSTs at ``rate`` per second (open loop, 8 client threads); latencies in s."""
    workers = 8
    latencies: list[float] = []
    lock = threading.Lock()
    begin = time.monotonic() + 0.5

    def client(n: int) -> None:
        with httpx.Client(base_url=gateway.url, headers=gateway.headers, timeout=30) as http:
            i = n
            while True:
                due = begin + i / rate
                if due > begin + seconds:
                    return
                time.sleep(max(0.0, due - time.monotonic()))
                body = (
                    b'{"schema":"' + schema.encode() + b'","id":"one-' + str(i).encode()
                    + b'","record":' + records[i % len(records)] + b"}"
                )  # fmt: skip
                sent = time.perf_counter()
                response = http.post("/v1/records", content=body)
                elapsed = time.perf_counter() - sent
                if response.status_code != 202:
                    raise SystemExit(f"single POST answered {response.status_code}")
                with lock:
                    latencies.append(elapsed)
                i += workers

    threads = [threading.Thread(target=client, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="invoice.issued/v1", choices=sorted(SCHEMAS))
    parser.add_argument("--seconds", type=float, default=60.0, help="bulk load duration")
    parser.add_argument("--per-request", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0, help="single POSTs per second")
    parser.add_argument("--single-seconds", type=float, default=20.0)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()

    records = [orjson.dumps(r) for r in samples.generate(args.schema, 20_000, seed=1)]
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        node = start_node("anvil", block_time=1)
        gateway = None
        try:
            gateway = Gateway(Path(tmp), node, args.schema, args.batch_size, args.synchronous)
            rss = RssSampler(gateway.process.pid)
            rss.start()
            total, posted, anchored = bulk_phase(
                gateway, args.schema, records, args.seconds, args.per_request, args.clients
            )
            latencies = single_phase(gateway, args.schema, records, args.rate, args.single_seconds)
            rss.halt.set()
            rss.join()
        finally:
            if gateway is not None:
                gateway.stop()
            node.stop()
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"schema                     {args.schema} (sqlite synchronous={args.synchronous})")
    print(f"bulk records accepted      {total} in {posted:.1f} s = {total / posted:,.0f} records/s")
    rate = total / anchored
    print(f"bulk records anchored      {total} by {anchored:.1f} s = {rate:,.0f} records/s")
    print(f"single accept at {args.rate:.0f}/s     {len(latencies)} requests: "
          f"p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms")  # fmt: skip
    print(f"gateway peak RSS           {rss.peak_kb / 1024:.0f} MB")


if __name__ == "__main__":
    main()
