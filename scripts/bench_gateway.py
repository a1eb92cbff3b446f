"""Benchmark one agency gateway on anvil (``--block-time 1``): bulk ingest to anchored, and
single-record accept latency at a fixed rate. Prints the figures.

    .venv/bin/python scripts/bench_gateway.py [--seconds 60] [--schema invoice.issued/v1]

Starts anvil and a real ``taxledger gateway serve`` process (loopback only), founds a
consortium, drives the gateway for a bounded time, and stops everything it started.

Phases, in one process run:

* pipeline: the bare pipeline over the same records in this process, CPU µs per record: what
  the gateway does to a record (proof v2: validate, the subject tags per domain, the field
  tree, commitment and leaf), the yardstick of the ratio below; and, beside it, the v1
  pipeline (validate, canonicalise, commit, leaf) with the ratio against it too.
* bulk: load-generator processes (``--clients`` keep-alive connections in all) post bulk
  bodies of ``--per-request`` records back to back for ``--seconds``. Bodies are built from a
  pre-serialised record pool by byte concatenation and answers are checked from their head,
  so the generator costs little next to the gateway. Figures over the window: records
  accepted per second, and records *anchored* (their batch mined) by the end of the window
  per second; then how long the backlog took to drain. ``CPU per anchored record`` is the
  CPU of the gateway and its workers from the start of the load until every record is
  anchored, per record, beside the pipeline's figure and their ratio.
* mixed: the same bulk load again for ``--single-seconds`` + 10 s, with single records
  alongside from 5 s into it (as below): the latency of single accepts under a bulk load.
* single: one record per POST on an open-loop schedule of ``--rate`` per second for
  ``--single-seconds`` (each request is due at a fixed time whatever earlier answers did;
  its latency counts from that time, so a stalled gateway cannot hide behind a client that
  waits). Answers must be 202. The client process raises its own CPU priority where the
  system allows (``CLIENT_NICENESS``), and the figures say by how much its sends were late.
  With ``--breakdown``, the gateway stamps each single on its way (``gateway.profiling``'s
  timings) and the script prints where the singles' time went, stage by stage, and how often
  the gateway's event loop woke late.
* burst: ``--burst-rounds`` times, ``--burst`` bulk posts of ``--burst-records`` records
  sent at the same moment; the gateway's peak memory meanwhile.

Also printed: peak resident memory of the gateway with its worker processes over the first
phases (summed, sampled every 0.1 s), CPU seconds used by the gateway, anvil and the load
generator, the machine's CPU count and load average, so figures from different runs can be
compared.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from gateway import profiling
from ledger_node.localnode import start_node
from ledger_node.records import samples
from ledger_node.records.schemas import SCHEMAS
from ledger_node.tagging import Keyring
from ledger_node.tagkeys import DEFAULT_TAG_DOMAINS
from taxledger_dev.benchmarks import gateway as gateway_bench
from taxledger_dev.benchmarks.gateway import (
    CpuMeter,
    Gateway,
    RssSampler,
    bulk_phase,
    burst_phase,
    cpu_seconds,
    gateway_cpu,
    profile,
    stop_profile,
    tree,
)

#: Longest a single-phase client keeps an idle connection (uvicorn closes them after 5 s).
KEEP_ALIVE = 4.0
#: The single-record client's CPU priority (``nice``), when the system lets it raise its own:
#: it is the instrument, not the load. At the default priority, on two cores shared with the
#: gateway, its workers, the bulk load and whatever else runs, it sent requests up to 100 ms
#: after they were due and read answers as late, which counted as the gateway's latency.
CLIENT_NICENESS = -10


class SplitMeter(CpuMeter):
    """:class:`CpuMeter` with the gateway process and its preparation workers apart."""

    def _read(self) -> dict[str, float]:
        others = frozenset(self.roots.values())
        out = {}
        for name, pid in self.roots.items():
            pids = tree(pid, others - {pid})
            if name == "gateway":
                out[name] = cpu_seconds(pids[:1])
                out["gateway workers"] = cpu_seconds(pids[1:])
            else:
                out[name] = cpu_seconds(pids)
        return out


# -- single phase -----------------------------------------------------------------------------


async def _singles(
    port: int, key: str, schema: str, records: list[bytes], rate: float, seconds: float,
    prefix: str, begin: float,
) -> list[tuple[float, float, float]]:  # fmt: skip
    """Open loop: request ``i`` (id ``prefix-i``) is due at ``begin + i / rate`` (``begin`` a
    ``time.time()``), on any idle keep-alive connection (a new one if none is idle). Each
    request's ``(due, sent, answered)`` as ``time.perf_counter()`` stamps."""
    count = int(rate * seconds)
    bodies = []
    for i in range(count):
        body = (
            b'{"schema":"' + schema.encode() + b'","id":"' + prefix.encode() + b"-"
            + str(i).encode()
            + b'","record":' + records[i % len(records)] + b"}"
        )  # fmt: skip
        bodies.append(
            b"POST /v1/records HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + key.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
    stamps: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * count
    failures: list[str] = []

    async def one(i: int, due: float) -> None:
        # The gateway (uvicorn) closes a connection idle for 5 s: take only fresher ones.
        while idle and time.perf_counter() - idle[-1][2] > KEEP_ALIVE:
            idle.pop()[1].close()
        if idle:
            reader, writer, _ = idle.pop()
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sent = time.perf_counter()
        writer.write(bodies[i])
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        answer = await reader.readexactly(length)
        done = time.perf_counter()
        if not status_line:
            failures.append("the gateway closed a connection without answering")
        elif status_line.split()[1] != b"202":
            failures.append(f"single POST answered {status_line!r}: {answer[:300]!r}")
        stamps[i] = (due, sent, done)
        idle.append((reader, writer, done))

    loop_start = time.perf_counter() + max(0.0, begin - time.time())
    tasks = []
    for i in range(count):
        due = loop_start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    for _, writer, _ in idle:
        writer.close()
    if failures:
        raise SystemExit(failures[0])
    return stamps


def _single_process(
    port: int, key: str, schema: str, records: list[bytes], rate: float, seconds: float,
    prefix: str, go: multiprocessing.SimpleQueue, out: multiprocessing.SimpleQueue,  # type: ignore[type-arg]
) -> None:  # fmt: skip
    try:
        os.nice(CLIENT_NICENESS)
        niceness = CLIENT_NICENESS
    except PermissionError:
        niceness = os.nice(0)
    out.put(("ready", niceness))
    begin = go.get()
    try:
        out.put(
            (
                "done",
                asyncio.run(_singles(port, key, schema, records, rate, seconds, prefix, begin)),
            )
        )
    except BaseException as exc:
        out.put(("error", str(exc)))


class Singles:
    """The open-loop single-record load in a process of its own, started at a given time."""

    def __init__(
        self, gateway: Gateway, schema: str, records: list[bytes], rate: float, seconds: float,
        prefix: str,
    ) -> None:  # fmt: skip
        ctx = multiprocessing.get_context("spawn")
        self.go = ctx.SimpleQueue()
        self.out = ctx.SimpleQueue()
        self.process = ctx.Process(
            target=_single_process,
            args=(gateway.port, gateway.key, schema, records, rate, seconds, prefix, self.go,
                  self.out),
        )  # fmt: skip
        self.process.start()
        ready, self.niceness = self.out.get()
        assert ready == "ready"

    def start(self, at: float) -> None:
        """Send the first request at ``at`` (``time.time()``)."""
        self.go.put(at)

    def stamps(self) -> list[tuple[float, float, float]]:
        """Wait for the load to end: each request's ``(due, sent, answered)``."""
        result = self.out.get()
        self.process.join()
        if result[0] == "error":
            raise SystemExit(result[1])
        return result[1]  # type: ignore[no-any-return]


def single_phase(
    gateway: Gateway, schema: str, records: list[bytes], rate: float, seconds: float,
    meter_roots: dict[str, int],
) -> tuple[list[tuple[float, float, float]], tuple[float, dict[str, float]], int]:  # fmt: skip
    """Single records alone: their stamps, the CPU they cost, the client's niceness."""
    singles = Singles(gateway, schema, records, rate, seconds, "alone")
    meter = SplitMeter({**meter_roots, "load generator": os.getpid()})
    running = profile(gateway, "single")
    singles.start(time.time())
    stamps = singles.stamps()
    spent = meter.spent()
    stop_profile(running)
    return stamps, spent, singles.niceness


# -- where a single's time went ---------------------------------------------------------------

#: ``(stage, from, to)``: the stamps of the client (``due``, ``sent``, ``answered``) and of the
#: gateway (``gateway.profiling.SINGLE_STAMPS``) between which each stage of a single lies.
STAGES = (
    ("sent late by the client", "due", "sent"),
    ("to the gateway's handler", "sent", "handler"),
    ("checked, committed to", "handler", "queued"),
    ("waiting for the committer", "queued", "taken"),
    ("waiting for the write lock", "taken", "began"),
    ("inserted and on disk", "began", "committed"),
    ("back on the event loop", "committed", "resumed"),
    ("answered, read by the client", "resumed", "answered"),
)


def breakdown(
    label: str, prefix: str, client: list[tuple[float, float, float]], timings: list[str]
) -> list[str]:
    """Lines of where the singles ``prefix-i`` spent their time, from the client's stamps and
    the gateway's ``TAXLEDGER_GATEWAY_TIMINGS`` lines, and the event loop's late wake-ups while
    they ran."""
    gateway: dict[str, list[float]] = {}
    late: list[tuple[float, float, float]] = []
    for line in timings:
        kind, *fields = line.split()
        if kind == "single" and fields[0].startswith(prefix + "-"):
            gateway[fields[0]] = [float(x) for x in fields[1:]]
        elif kind == "late":
            woken, by, _, process = (float(x) for x in fields)
            late.append((woken, by, process))
    requests = []
    for i, (due, sent, answered) in enumerate(client):
        stamps = gateway.get(f"{prefix}-{i}")
        if stamps is not None:
            at = dict(zip(profiling.SINGLE_STAMPS, stamps, strict=True))
            requests.append({**at, "due": due, "sent": sent, "answered": answered})
    if not requests:
        return [f"{label}: the gateway noted none of these requests"]
    requests.sort(key=lambda r: r["answered"] - r["due"])
    slowest = requests[-max(1, len(requests) // 100) :]
    out = [f"{label}: {len(requests)} requests, ms (p50, p99, mean of the slowest 1%)"]
    for stage, start, end in STAGES:
        spans = sorted(r[end] - r[start] for r in requests)
        worst = statistics.fmean(r[end] - r[start] for r in slowest)
        out.append(
            f"  {stage:<30}{spans[len(spans) // 2] * 1000:8.1f}"
            f"{spans[len(spans) * 99 // 100] * 1000:8.1f}{worst * 1000:8.1f}"
        )
    first, last = requests[0]["due"], max(r["answered"] for r in requests)
    window = [(by, process) for woken, by, process in late if first <= woken <= last]
    longer = [(by, process) for by, process in window if by > 0.010]
    out.append(
        f"  event loop woke late (> {profiling.LATE * 1000:.0f} ms) {len(window)} times, "
        f"{sum(by for by, _ in window):.2f} s in all; by over 10 ms {len(longer)} times "
        f"(max {max((by for by, _ in window), default=0) * 1000:.1f} ms), the process using "
        f"{sum(p for _, p in longer) / max(sum(by for by, _ in longer), 1e-9):.0%} of a core "
        "meanwhile"
    )
    return out


# -- main -------------------------------------------------------------------------------------


def _cpu_line(spent: tuple[float, dict[str, float]]) -> str:
    wall, cpu = spent
    parts = ", ".join(f"{name} {seconds:.1f} s ({seconds / wall:.2f} cores)"
                      for name, seconds in cpu.items())  # fmt: skip
    return f"over {wall:.1f} s: {parts}"


def _latency_line(label: str, stamps: list[tuple[float, float, float]]) -> str:
    due = [answered - at for at, _, answered in stamps]
    sent = [answered - at for _, at, answered in stamps]
    quantiles = statistics.quantiles(due, n=100)
    sent_q = statistics.quantiles(sent, n=100)
    late_q = statistics.quantiles([d - s for d, s in zip(due, sent, strict=True)], n=100)
    return (
        f"{label:<27}{len(due)} requests, open loop: p50 {quantiles[49] * 1000:.1f} ms, "
        f"p99 {quantiles[98] * 1000:.1f} ms, max {max(due) * 1000:.1f} ms (from send: "
        f"p50 {sent_q[49] * 1000:.1f} ms, p99 {sent_q[98] * 1000:.1f} ms; sent late by the "
        f"client: p99 {late_q[98] * 1000:.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="invoice.issued/v1", choices=sorted(SCHEMAS))
    parser.add_argument("--seconds", type=float, default=60.0, help="bulk load duration")
    parser.add_argument("--per-request", type=int, default=2500)
    parser.add_argument("--clients", type=int, default=4, help="bulk connections")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0, help="single POSTs per second")
    parser.add_argument("--single-seconds", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=8, help="concurrent bulk posts (0: none)")
    parser.add_argument("--burst-records", type=int, default=10_000)
    parser.add_argument("--burst-rounds", type=int, default=3)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--workers", type=int, default=None, help="gateway preparation workers")
    parser.add_argument("--skip-bulk", action="store_true")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="cProfile files of the gateway per phase"
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="where the single records' time went"
    )
    args = parser.parse_args()
    gateway_bench.PROFILE = args.profile  # set once, before any phase
    gateway_bench.CpuMeter = SplitMeter  # type: ignore[misc]  # the bulk phase's meter too

    records = [orjson.dumps(r) for r in samples.generate(args.schema, 20_000, seed=1)]
    load_before = os.getloadavg()
    # The bare pipeline in this process run, so the ratio compares figures of one machine
    # state (absolute rates swing by half between runs here).
    pipeline_v1 = gateway_bench.pipeline_us(args.schema, records)
    keyring = Keyring.of({domain.name: os.urandom(32) for domain in DEFAULT_TAG_DOMAINS})
    pipeline = gateway_bench.pipeline_us(args.schema, records, keyring)
    timings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        timings_file = Path(tmp) / "timings.txt"
        if args.breakdown:
            os.environ[profiling.TIMINGS_ENV] = str(timings_file)  # the gateway's environment
        node = start_node("anvil", block_time=1)
        gateway = None
        try:
            gateway = Gateway(
                Path(tmp), node, args.schema, args.batch_size, args.synchronous, args.workers
            )
            roots = {"gateway": gateway.process.pid, "anvil": node.pid}
            rss = RssSampler(gateway.process.pid)
            rss.start()
            bulk: dict[str, Any] | None = None
            during: list[tuple[float, float, float]] | None = None
            if not args.skip_bulk:
                bulk = bulk_phase(
                    gateway, args.schema, records, args.seconds, args.per_request, args.clients,
                    roots,
                )  # fmt: skip
                # Then singles while a bulk load runs: from 5 s into it to 5 s before its end.
                alongside = Singles(
                    gateway, args.schema, records, args.rate, args.single_seconds, "during"
                )
                bulk_phase(
                    gateway, args.schema, records, args.single_seconds + 10, args.per_request,
                    args.clients, roots, on_start=lambda at: alongside.start(at + 5), name="mixed",
                )  # fmt: skip
                during = alongside.stamps()
            alone, single_cpu, niceness = single_phase(
                gateway, args.schema, records, args.rate, args.single_seconds, roots
            )
            rss.halt.set()
            rss.join()
            workers = len(tree(gateway.process.pid)) - 1
            burst: dict[str, Any] | None = None
            if args.burst:
                burst = burst_phase(
                    gateway, args.schema, records, args.burst, args.burst_records,
                    args.burst_rounds,
                )  # fmt: skip
        finally:
            if gateway is not None:
                gateway.stop()
            node.stop()
        if args.breakdown:
            timings = timings_file.read_text().splitlines()
    load_after = os.getloadavg()
    print(f"machine                    {os.cpu_count()} CPUs "
          f"(usable {len(os.sched_getaffinity(0))}), load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")  # fmt: skip
    print(f"schema                     {args.schema} (sqlite synchronous={args.synchronous}, "
          f"{workers} worker process(es); single-record client at nice {niceness})")  # fmt: skip
    print(f"bare pipeline              {pipeline:.1f} µs CPU per record in this process "
          f"(what the gateway commits, proof v2: validate, tags, field tree, commitment, leaf; "
          f"best of 3 over {len(records)})")  # fmt: skip
    print(f"bare pipeline v1           {pipeline_v1:.1f} µs CPU per record (validate, "
          f"canonicalise, commit, leaf)")  # fmt: skip
    if bulk is not None and during is not None:
        window = bulk["window"]
        accepted = bulk["accepted"]
        in_window = bulk["anchored_in_window"]
        print(f"bulk load                  {args.clients} connections x {args.per_request} "
              f"records per request, {bulk['requests']} requests")  # fmt: skip
        print(f"bulk records accepted      {accepted} in {bulk['posted']:.1f} s = "
              f"{accepted / bulk['posted']:,.0f} records/s")  # fmt: skip
        print(f"bulk records anchored      {in_window} by the end of the {window:.1f} s window = "
              f"{in_window / window:,.0f} records/s; all {accepted} by "
              f"{bulk['drained']:.1f} s = {accepted / bulk['drained']:,.0f} records/s")  # fmt: skip
        steps = bulk["timeline"]
        rates = [
            f"{(b[1] - a[1]) / (b[0] - a[0]):,.0f}"
            for a, b in zip([(0.0, 0), *steps], steps, strict=False)
        ]
        print(f"anchored/s per interval    {' '.join(rates)}")
        print(f"bulk CPU                   {_cpu_line(bulk['cpu'])}")
        print(f"bulk CPU to anchored       {_cpu_line(bulk['cpu_to_anchored'])}")
        print(_latency_line(f"single at {args.rate:.0f}/s with bulk", during))
        per_record = gateway_cpu(bulk["cpu_to_anchored"]) / bulk["anchored_records"] * 1e6
        print(f"CPU per anchored record: {per_record:.1f} µs (pipeline {pipeline:.1f} µs, "
              f"ratio {per_record / pipeline:.2f})")  # fmt: skip
        print(f"against the v1 pipeline    ratio {per_record / pipeline_v1:.2f} "
              f"({pipeline_v1:.1f} µs)")  # fmt: skip
    print(_latency_line(f"single at {args.rate:.0f}/s alone", alone))
    print(f"single CPU                 {_cpu_line(single_cpu)}")
    print(f"gateway peak RSS           {rss.peak_kb / 1024:.0f} MB (gateway and its workers)")
    if burst is not None:
        print(f"concurrent bulk posts      {args.burst_rounds} rounds of {args.burst} x "
              f"{args.burst_records} records at once in {burst['seconds']:.1f} s: gateway peak "
              f"RSS {burst['peak_rss_kb'] / 1024:.0f} MB (with its workers)")  # fmt: skip
    if args.breakdown:
        if during is not None:
            print("\n".join(breakdown("singles with bulk", "during", during, timings)))
        print("\n".join(breakdown("singles alone", "alone", alone, timings)))


if __name__ == "__main__":
    main()
