"""Gateway end to end: a real ``taxledger gateway serve`` process fed bulk records by load
processes, counted until anchored; with the memory and CPU of process trees.

``scripts/bench_gateway.py`` (all phases, profiling) and ``taxledger bench`` (the bulk figure)
both measure through these functions.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from gateway import profiling
from gateway.apikeys import Role, add_key
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.commitment import commit_record_v2, commit_records
from ledger_node.keyring import encryption_key_path, keyring_path, provision_agencies
from ledger_node.localnode import LocalNode, free_port, stop_process_group
from ledger_node.records.schemas import SCHEMAS
from ledger_node.records.validation import validate
from ledger_node.tagging import Keyring, record_subject_tags
from taxledger_dev.benchmarks.harness import inputs_set_aside

PASSWORD = "bench-password-0"  # noqa: S105 - a throwaway keystore of a benchmark
TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))
_TICK = os.sysconf("SC_CLK_TCK")
_ACCEPTED = re.compile(rb'^\{"accepted":(\d+),')


# -- processes: memory and CPU ---------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def tree(pid: int, exclude: frozenset[int] = frozenset()) -> list[int]:
    """``pid`` and its descendants, but not those of ``exclude``."""
    pids = [pid]
    for child in _children(pid):
        if child not in exclude:
            pids.extend(tree(child, exclude))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes (children they reaped included)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / _TICK


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


class RssSampler(threading.Thread):
    """Peak resident memory of a process and its descendants, summed, every 0.1 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.halt = threading.Event()
        self.pids = tree(pid)

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            if n % 20 == 0:
                self.pids = tree(self.pid)  # a restarted worker is counted too
            n += 1
            self.peak_kb = max(self.peak_kb, rss_kb(self.pids))
            self.halt.wait(0.1)


class CpuMeter:
    """CPU seconds of named process trees between two readings."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.start = self._read()
        self.wall = time.monotonic()

    def _read(self) -> dict[str, float]:
        # A root's tree stops at the other roots (the gateway is a child of this script).
        others = frozenset(self.roots.values())
        return {name: cpu_seconds(tree(pid, others - {pid})) for name, pid in self.roots.items()}

    def spent(self) -> tuple[float, dict[str, float]]:
        end = self._read()
        return time.monotonic() - self.wall, {n: end[n] - self.start[n] for n in end}


# -- the gateway ------------------------------------------------------------------------------


class Gateway:
    """A gateway process for the agency that attests ``schema``."""

    def __init__(
        self, workdir: Path, node: LocalNode, schema: str, batch_size: int, synchronous: str,
        workers: int | None,
    ) -> None:  # fmt: skip
        agency = next(iter(SCHEMAS[schema].attesters)).label
        consortium = found_consortium(Rpc(connect(node.url)))
        consortium.deployment.save(workdir / "deployment.json")
        (workdir / "password").write_text(PASSWORD)
        (workdir / "key.json").write_text(json.dumps(consortium.keys[agency].to_keystore(PASSWORD)))
        provision_agencies(
            LedgerClient.from_deployment(connect(node.url), consortium.deployment),
            Keyring.of(consortium.tag_keys),
            {agency: consortium.encryption_keys[agency]},
            workdir,
            PASSWORD,
        )
        self.port = free_port()
        settings = {
            "agency": agency,
            "keystore": "key.json",
            "password_file": "password",
            "chain": node.url,
            "deployment": "deployment.json",
            "database": "outbox.db",
            "api_keys": "api-keys.json",
            "keyring": str(keyring_path(workdir, agency)),
            "encryption_key_file": str(encryption_key_path(workdir, agency)),
            "batch_size": batch_size,
            "batch_interval_ms": 500,
            "confirmations": 2,
            "port": self.port,
            "log_level": "warning",
            "sqlite_synchronous": synchronous,
        }
        if workers is not None:
            settings["workers"] = workers
        config = workdir / "gateway.toml"
        config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
        self.key = add_key(workdir / "api-keys.json", "bench", frozenset(Role))
        self.log = workdir / "gateway.log"
        env = dict(os.environ)
        if PROFILE is not None:
            env[profiling.ENV] = str(PROFILE)
        self.process = subprocess.Popen(
            [TAXLEDGER, "gateway", "serve", "--config", str(config)],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                self.counts()
                break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write(self.log.read_text())
                raise SystemExit("gateway did not start (its log is above)")
            time.sleep(0.2)

    def counts(self) -> dict[str, int]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", "/healthz", headers={"Authorization": f"Bearer {self.key}"})
            response = conn.getresponse()
            records: dict[str, int] = orjson.loads(response.read())["records"]
        finally:
            conn.close()
        return records

    def stop(self) -> None:
        stop_process_group(self.process.pid)


# -- bulk phase -------------------------------------------------------------------------------


def _bulk_client(
    port: int, key: str, schema: str, records: list[bytes], prefix: str, per_request: int,
    stop_at: float, out: multiprocessing.SimpleQueue,  # type: ignore[type-arg]
) -> None:  # fmt: skip
    """One keep-alive connection posting bulk bodies until ``stop_at`` (a load process)."""
    head = b'{"schema":"' + schema.encode() + b'","id":"' + prefix.encode() + b"-"
    mid = b'","record":'
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    accepted = requests = 0
    sent = 0
    pool = len(records)
    while time.time() < stop_at:
        body = b"".join(
            (
                b'{"records":[',
                b",".join(
                    head + str(i).encode() + mid + records[i % pool] + b"}"
                    for i in range(sent, sent + per_request)
                ),
                b"]}",
            )
        )
        sent += per_request
        conn.request("POST", "/v1/records:bulk", body, headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            out.put(("error", f"bulk POST answered {response.status}: {answer[:300]!r}"))
            return
        match = _ACCEPTED.match(answer)
        accepted += int(match.group(1)) if match else orjson.loads(answer)["accepted"]
        requests += 1
    out.put(("done", accepted, requests))


def _load_process(
    port: int, key: str, schema: str, records: list[bytes], name: str, clients: int,
    per_request: int, seconds: float, go: Any, out: multiprocessing.SimpleQueue,  # type: ignore[type-arg]
) -> None:  # fmt: skip
    out.put(("ready",))
    go.wait()
    stop_at = time.time() + seconds
    threads = [
        threading.Thread(
            target=_bulk_client,
            args=(port, key, schema, records, f"{name}c{n}", per_request, stop_at, out),
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def bulk_phase(
    gateway: Gateway, schema: str, records: list[bytes], seconds: float, per_request: int,
    clients: int, meter_roots: dict[str, int], on_start: Callable[[float], None] | None = None,
    name: str = "bulk",
) -> dict[str, object]:  # fmt: skip
    """Post bulk bodies for ``seconds``; then wait for everything to be anchored.

    ``on_start`` is called with the load's start time (``time.time()``), so other load can
    run alongside. ``cpu`` is the CPU spent over the posting window; ``cpu_to_anchored`` runs
    on until every record in the outbox (``anchored_records`` of them since the start,
    whoever posted them) is anchored, so it also holds the trees, signatures and receipts of
    the window's last batches. ``name`` starts the records' ids (one per phase of a run)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.SimpleQueue()
    go = ctx.Event()
    processes = min(clients, 2)
    loaders = [
        ctx.Process(
            target=_load_process,
            args=(
                gateway.port,
                gateway.key,
                schema,
                records,
                f"{name}{p}",
                clients // processes + (p < clients % processes),
                per_request,
                seconds,
                go,
                out,
            ),
        )
        for p in range(processes)
    ]
    for loader in loaders:
        loader.start()
    for _ in loaders:
        assert out.get() == ("ready",)
    before = gateway.counts()
    meter = CpuMeter({**meter_roots, "load generator": os.getpid()})
    running = profile(gateway, name)
    start_at = time.time()
    stop_at = start_at + seconds
    go.set()
    if on_start is not None:
        on_start(start_at)
    timeline: list[tuple[float, int]] = []
    while time.time() < stop_at:
        time.sleep(min(5.0, max(0.0, stop_at - time.time())))
        counts = gateway.counts()
        timeline.append((time.time() - start_at, counts["anchored"] + counts["final"]))
    window = time.time() - start_at
    anchored_in_window = timeline[-1][1]
    results = [out.get() for _ in range(clients)]
    for loader in loaders:
        loader.join()
    cpu = meter.spent()  # the loaders' CPU is their parent's once they are reaped
    stop_profile(running)
    errors = [r[1] for r in results if r[0] == "error"]
    if errors:
        raise SystemExit(errors[0])
    accepted = sum(r[1] for r in results)
    requests = sum(r[2] for r in results)
    posted = time.time() - start_at  # the last requests end after the window
    while True:
        counts = gateway.counts()
        if counts["anchored"] + counts["final"] >= accepted and not _waiting(counts):
            break
        if time.time() - start_at > seconds + 600:
            raise SystemExit(f"records not anchored 10 min after the load: {counts}")
        time.sleep(0.25)
    cpu_to_anchored = meter.spent()
    anchored = counts["anchored"] + counts["final"] - before["anchored"] - before["final"]
    return {
        "accepted": accepted,
        "requests": requests,
        "posted": posted,
        "window": window,
        "anchored_in_window": anchored_in_window,
        "drained": time.time() - start_at,
        "timeline": timeline,
        "cpu": cpu,
        "cpu_to_anchored": cpu_to_anchored,
        "anchored_records": anchored,
    }


def _waiting(counts: dict[str, int]) -> int:
    """Records of the outbox not yet anchored."""
    return counts["unbatched"] + counts["pending"]


def gateway_cpu(spent: tuple[float, dict[str, float]]) -> float:
    """CPU seconds of the gateway and its workers in a :meth:`CpuMeter.spent` reading (split
    or not)."""
    return sum(seconds for name, seconds in spent[1].items() if name.startswith("gateway"))


# -- bare pipeline ----------------------------------------------------------------------------


def pipeline_us(
    schema: str, records: list[bytes], keyring: Keyring | None = None, passes: int = 3
) -> float:
    """CPU µs per record of the bare pipeline in this process over ``records`` freshly parsed
    from JSON; the best of ``passes``. Without ``keyring``: validate, canonicalise, commit and
    leaf (``commit_records``, 256 at a time, as ``scripts/bench_records.py``'s batch figure);
    with it, what a gateway commits (proof v2): validate, the subject tags per domain, the
    field tree and its commitment and leaf (``commit_record_v2``, as
    ``scripts/bench_disclosure.py``'s v2 figure)."""
    parsed = [orjson.loads(record) for record in records]
    best = float("inf")
    for _ in range(passes):
        with inputs_set_aside():
            cpu = time.process_time()
            if keyring is None:
                for start in range(0, len(parsed), 256):
                    commit_records([validate(schema, r) for r in parsed[start : start + 256]])
            else:
                for record in parsed:
                    validated = validate(schema, record)
                    commit_record_v2(validated, record_subject_tags(keyring, validated))
            best = min(best, time.process_time() - cpu)
    return best / len(parsed) * 1e6


# -- concurrent bulk bodies ---------------------------------------------------------------------


def burst_phase(
    gateway: Gateway, schema: str, records: list[bytes], posts: int, per_request: int,
    rounds: int,
) -> dict[str, object]:  # fmt: skip
    """``rounds`` times, ``posts`` bulk bodies of ``per_request`` records sent at the same
    moment on their own connections; the peak RSS of the gateway with its workers meanwhile.
    Every answer must be 200 and accept every item."""
    head = b'{"schema":"' + schema.encode() + b'","id":"burst-'
    mid = b'","record":'
    pool = len(records)

    def body(r: int, p: int) -> bytes:
        items = (
            head + f"{r}-{p}-{i}".encode() + mid + records[(p * per_request + i) % pool] + b"}"
            for i in range(per_request)
        )
        return b"".join((b'{"records":[', b",".join(items), b"]}"))

    headers = {"Authorization": f"Bearer {gateway.key}", "Content-Type": "application/json"}
    failures: list[str] = []
    barrier = threading.Barrier(posts)

    def post(payload: bytes) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=600)
        try:
            conn.connect()
            barrier.wait()
            conn.request("POST", "/v1/records:bulk", payload, headers)
            response = conn.getresponse()
            answer = response.read()
        finally:
            conn.close()
        match = _ACCEPTED.match(answer)
        if response.status != 200 or match is None or int(match.group(1)) != per_request:
            failures.append(f"bulk POST answered {response.status}: {answer[:300]!r}")

    rss = RssSampler(gateway.process.pid)
    rss.start()
    started = time.monotonic()
    try:
        for r in range(rounds):
            threads = [threading.Thread(target=post, args=(body(r, p),)) for p in range(posts)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        rss.halt.set()
        rss.join()
    if failures:
        raise SystemExit(failures[0])
    return {"seconds": time.monotonic() - started, "peak_rss_kb": rss.peak_kb}


# -- profiling ------------------------------------------------------------------------------

#: Where the gateway and its workers write their profiles (``--profile DIR``), or None.
PROFILE: Path | None = None


class Profile:
    """A phase's profiles: the gateway process and its workers, from :func:`profile` to
    :meth:`stop`, as ``pstats`` files in ``PROFILE/<phase>/`` with their threads' CPU seconds
    at the phase's end (see :mod:`gateway.profiling`)."""

    def __init__(self, gateway: Gateway, phase: str) -> None:
        self.gateway = gateway
        self.phase = phase
        self._collect(None)  # what they recorded before the phase is not the phase's

    def stop(self) -> None:
        self._collect(self.phase)

    def _collect(self, phase: str | None) -> None:
        assert PROFILE is not None
        pids = tree(self.gateway.process.pid)
        for pid in pids:
            os.kill(pid, signal.SIGUSR1)
        expected = {str(pid) for pid in pids}
        deadline = time.monotonic() + 30
        while True:  # each process writes its file when it next runs Python
            written = [*PROFILE.glob("*.prof"), *PROFILE.glob("*.threads")]
            if {f.name.split("-")[1] for f in written} >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for file in written:
            if phase is None:
                file.unlink()
            else:
                (PROFILE / phase).mkdir(exist_ok=True)
                file.rename(PROFILE / phase / file.name)


def profile(gateway: Gateway, phase: str) -> Profile | None:
    """Start profiling a phase (``--profile DIR``), or None."""
    return None if PROFILE is None else Profile(gateway, phase)


def stop_profile(running: Profile | None) -> None:
    if running is not None:
        running.stop()
