"""``taxledger bench``: taxledger and EAS side by side on one anvil, in one run.

One anvil (``--block-time 1``, one gas limit for everything) holds a founded taxledger and
EAS with a resolver admitting the same agencies. In order:

1. gas of one attestation and per record of batches of 64, 1,024 and 4,096 (taxledger
   ``attest`` / ``anchorBatch`` over a real Merkle tree; EAS ``attest`` / ``multiAttest``
   split into as many transactions as the gas limit needs);
2. taxledger's records per second from submission to mined, its best write path
   (validate + commit sample invoices in worker processes, Merkle tree, ``anchorBatch``);
3. taxledger only: bundles verified per second, records per second through a real gateway
   process end to end (bulk ingest until every accepted record is anchored), and audit sync
   blocks per second (over a chain of anchors and empty blocks on a second anvil with the
   same settings, so as not to grow the first);
4. EAS's records per second, its best write path (the same records committed in the same
   worker pool, ``multiAttest`` transactions filling each block). It runs last: its
   attestations leave so much state in anvil that every later block is mined more slowly;
5. peak resident memory of anvil, the gateway (with its workers), the commit workers and
   this process.
"""

from __future__ import annotations

import os
import platform
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson

from ledger_node.chain.deploy import FoundedConsortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc
from ledger_node.keys import LocalKey
from ledger_node.localnode import LocalNode, start_node
from ledger_node.records.schemas import SCHEMAS
from taxledger_dev.benchmarks import eas as eas_bench
from taxledger_dev.benchmarks import gateway as gateway_bench
from taxledger_dev.benchmarks import ledger as ledger_bench
from taxledger_dev.benchmarks import verify as verify_bench
from taxledger_dev.benchmarks.harness import found_bench_ledger
from taxledger_dev.benchmarks.pipeline import SCHEMA, CommitPool, sample_records

#: The gas limit of every block, for both sides (the project's chain benchmarks use it too).
DEFAULT_GAS_LIMIT = 100_000_000

TARGETS = {
    "taxledger_gas_per_record_1024": "<= 100",
    "records_per_s_ratio": ">= 20",
    "gateway_records_per_s": ">= 10000",
}


@dataclass(frozen=True)
class BenchOptions:
    """Window lengths and sizes of one run; :meth:`quick` halves the long parts."""

    seconds: float = 60.0
    gateway_seconds: float = 60.0
    bundles: int = 20_000
    bundle_batch: int = 2_000
    sync_blocks: int = 5_000
    sync_anchors: int = 1_000
    gas_limit: int = DEFAULT_GAS_LIMIT
    workers: int | None = None
    batch: int = 4096
    pool_records: int = 10_000

    @classmethod
    def quick(cls, gas_limit: int = DEFAULT_GAS_LIMIT) -> BenchOptions:
        return cls(
            seconds=30.0,
            gateway_seconds=20.0,
            bundles=5_000,
            bundle_batch=1_000,
            sync_blocks=2_000,
            sync_anchors=400,
            gas_limit=gas_limit,
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of one live process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(options: BenchOptions, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every measurement; ``say`` gets one line per figure as it is known. Returns the
    figures by name (the JSON object of ``taxledger bench --json``)."""
    out: dict[str, Any] = {
        "machine": {
            "nproc": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "cpu_model": _cpu_model(),
            "load_average_before": round(os.getloadavg()[0], 2),
        },
        "node": {"kind": "anvil", "block_time_s": 1, "gas_limit": options.gas_limit},
        "window_s": options.seconds,
        "gateway_window_s": options.gateway_seconds,
    }
    machine = out["machine"]
    say(
        f"machine: {machine['nproc']} CPUs ({machine['cpu_model']}), load average "
        f"{machine['load_average_before']} at start"
    )
    started = time.monotonic()
    code = eas_bench.compile_eas()
    say(f"EAS 1.9.0 + ConsortiumResolver compiled (solc {eas_bench.SOLC_VERSION}, cached)")
    node = start_node("anvil", block_time=1, gas_limit=options.gas_limit)
    say(f"anvil --block-time 1 --gas-limit {options.gas_limit:,} at {node.url}")
    pool: CommitPool | None = None
    errors: dict[str, str] = {}
    out["errors"] = errors
    try:
        chain = found_bench_ledger(node.url)
        rpc, consortium, ledger, tax = chain.rpc, chain.consortium, chain.ledger, chain.tax
        # A saturated EAS run lifts the base fee block after block; the agency pays it.
        for key in (tax, consortium.deployer):
            rpc.request("anvil_setBalance", [key.address, hex(10**30)])
        invoice_id = SCHEMAS[SCHEMA].schema_id
        deployed = eas_bench.deploy_eas(
            rpc, ledger.sender(consortium.deployer), ledger.address, invoice_id, code
        )
        say(f"taxledger at {ledger.address}; EAS at {deployed.eas} with its resolver")

        # 1. gas
        gas = ledger_bench.measure_gas(ledger, consortium)
        eas_gas = eas_bench.measure_gas(ledger.sender(tax), deployed, options.gas_limit)
        out["taxledger_gas_single"] = gas.attest
        out["taxledger_gas_single_first"] = gas.attest_first
        # The most one anchorBatch cost, whatever its size: what sizes a block.
        out["taxledger_gas_anchor_batch"] = max(gas.anchor.values())
        out["eas_gas_single"] = eas_gas.attest
        for size in (64, 1024, 4096):
            out[f"taxledger_gas_per_record_{size}"] = round(gas.anchor[size] / size, 2)
            out[f"eas_gas_per_record_{size}"] = round(eas_gas.per_record(size), 2)
            out[f"eas_transactions_{size}"] = eas_gas.multi[size][1]
        say(
            f"gas, one attestation: taxledger attest {gas.attest:,} (signer's first "
            f"{gas.attest_first:,}); EAS attest {eas_gas.attest:,}"
        )
        for size in (64, 1024, 4096):
            say(
                f"gas per record, batch of {size:>5,}: taxledger anchorBatch "
                f"{gas.anchor[size] / size:>9,.1f} ({gas.anchor[size]:,} in 1 tx); EAS "
                f"multiAttest {eas_gas.per_record(size):>9,.1f} ({eas_gas.multi[size][0]:,} in "
                f"{eas_gas.multi[size][1]} tx)"
            )

        # 2. records per second, and 3. taxledger's own figures. EAS's window comes last on
        # this node: its attestations leave so much state that anvil mines every later block
        # more slowly, which would slow whatever ran after it.
        records = sample_records(options.pool_records)
        pool = CommitPool(records, options.workers)
        out["commit_workers"] = pool.workers
        ours = ledger_bench.anchor_throughput(
            ledger, consortium, pool, seconds=options.seconds, batch=options.batch
        )
        out["taxledger_records_per_s"] = round(ours.per_second, 1)
        out["taxledger_throughput"] = _rate_doc(ours)
        say(
            f"taxledger records/s (validate+commit -> Merkle tree of {options.batch} -> "
            f"anchorBatch, {pool.workers} commit workers): {ours.records:,} mined in "
            f"{ours.seconds:.1f} s = {ours.per_second:,.0f}/s ({ours.transactions} tx, "
            f"{ours.blocks} blocks, {ours.reverted_records} records reverted)"
        )
        workers_mb = sum(_peak_rss_mb(pid) for pid in pool.worker_pids())
        pool.close()
        pool = None

        with tempfile.TemporaryDirectory(prefix="taxledger-bench-") as tmp:
            context = _Context(options, out, say, node, rpc, ledger, consortium, tax, Path(tmp))
            for phase in (_verify_phase, _gateway_phase, _sync_phase):
                try:
                    phase(context)
                except Exception as exc:
                    errors[phase.__name__.strip("_")] = f"{type(exc).__name__}: {exc}"
                    say(f"{phase.__name__.strip('_')} failed: {type(exc).__name__}: {exc}")

        pool = CommitPool(records, options.workers)
        theirs = eas_bench.throughput(
            rpc, tax, deployed, pool, seconds=options.seconds, block_gas_limit=options.gas_limit
        )
        out["eas_records_per_s"] = round(theirs.per_second, 1)
        out["eas_throughput"] = _rate_doc(theirs)
        say(
            f"EAS records/s (validate+commit -> multiAttest, whole transactions filling each "
            f"block): {theirs.records:,} mined in {theirs.seconds:.1f} s = "
            f"{theirs.per_second:,.0f}/s ({theirs.transactions} tx, {theirs.blocks} blocks, "
            f"{theirs.reverted_records} records reverted)"
        )
        ratio = ours.per_second / theirs.per_second if theirs.per_second else None
        out["records_per_s_ratio"] = None if ratio is None else round(ratio, 2)
        say(f"taxledger / EAS records/s: {out['records_per_s_ratio']}")
        workers_mb = max(workers_mb, sum(_peak_rss_mb(pid) for pid in pool.worker_pids()))
        out["peak_rss_mb_commit_workers"] = round(workers_mb, 1)
        pool.close()
        pool = None
        out["peak_rss_mb_anvil"] = round(_peak_rss_mb(node.pid), 1)
    finally:
        if pool is not None:
            pool.close()
        node.stop()
    out["peak_rss_mb_bench"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    say(
        f"peak RSS: anvil {out['peak_rss_mb_anvil']:,.0f} MB, gateway and its workers "
        f"{out.get('peak_rss_mb_gateway', 0):,.0f} MB, commit workers "
        f"{out['peak_rss_mb_commit_workers']:,.0f} MB, this process "
        f"{out['peak_rss_mb_bench']:,.0f} MB"
    )
    machine["load_average_after"] = round(os.getloadavg()[0], 2)
    out["elapsed_s"] = round(time.monotonic() - started, 1)
    out["targets"] = _targets(out)
    for name, verdict in out["targets"].items():
        say(
            f"target {name} {verdict['target']}: {verdict['value']} -> "
            f"{'met' if verdict['met'] else 'NOT met'}"
        )
    say(f"load average {machine['load_average_after']} at the end; {out['elapsed_s']:.0f} s")
    return out


@dataclass(frozen=True)
class _Context:
    """What the taxledger-only phases share."""

    options: BenchOptions
    out: dict[str, Any]
    say: Callable[[str], None]
    node: LocalNode
    rpc: Rpc
    ledger: LedgerClient
    consortium: FoundedConsortium
    tax: LocalKey
    workdir: Path


def _gateway_phase(ctx: _Context) -> None:
    """Records/s through a real gateway process, bulk ingest to anchored."""
    out, say = ctx.out, ctx.say
    gateway_dir = ctx.workdir / "gateway"
    gateway_dir.mkdir()
    records = [orjson.dumps(r) for r in sample_records(20_000, seed=2)]
    gateway = gateway_bench.Gateway(gateway_dir, ctx.node, SCHEMA, 10_000, "FULL", None)
    rss = gateway_bench.RssSampler(gateway.process.pid)
    rss.start()
    try:
        bulk = gateway_bench.bulk_phase(
            gateway,
            SCHEMA,
            records,
            ctx.options.gateway_seconds,
            2500,
            4,
            {"gateway": gateway.process.pid, "anvil": ctx.node.pid},
        )
    finally:
        rss.halt.set()
        rss.join()
        out["peak_rss_mb_gateway"] = round(rss.peak_kb / 1024, 1)
        gateway.stop()
    accepted = cast(int, bulk["accepted"])
    drained = cast(float, bulk["drained"])
    window = cast(float, bulk["window"])
    in_window = cast(int, bulk["anchored_in_window"])
    out["gateway_records_per_s"] = round(accepted / drained, 1)
    out["gateway_accepted_per_s"] = round(accepted / cast(float, bulk["posted"]), 1)
    out["gateway_anchored_in_window_per_s"] = round(in_window / window, 1)
    say(
        f"gateway end to end: {accepted:,} records posted for {window:.0f} s, all "
        f"anchored after {drained:.1f} s = {accepted / drained:,.0f} records/s "
        f"(accepted {out['gateway_accepted_per_s']:,.0f}/s; anchored within the "
        f"window {in_window / window:,.0f}/s)"
    )


def _verify_phase(ctx: _Context) -> None:
    """Bundles verified per second against a synced audit index."""
    options, ledger, tax = ctx.options, ctx.ledger, ctx.tax
    documents = verify_bench.prepare_bundles(
        ledger, tax, ledger.sender(tax), options.bundles, options.bundle_batch
    )
    verified = verify_bench.verify_rate(
        ctx.rpc, ctx.consortium.deployment, documents, ctx.workdir / "verify.sqlite"
    )
    ctx.out["verify_per_s"] = round(verified.per_second, 1)
    ctx.out["verify_per_cpu_s"] = round(verified.per_cpu_second, 1)
    ctx.say(
        f"verify: {verified.bundles:,} bundles in {verified.seconds:.2f} s = "
        f"{verified.per_second:,.0f}/s ({verified.per_cpu_second:,.0f} per CPU second)"
    )


def _sync_phase(ctx: _Context) -> None:
    """Audit sync blocks/s over a chain of anchors and empty blocks, on a second anvil (same
    settings) started for it: the benchmark's own node holds so much EAS state by now that
    anvil mines each further block slowly."""
    options = ctx.options
    node = start_node("anvil", block_time=1, gas_limit=options.gas_limit)
    try:
        chain = found_bench_ledger(node.url)
        verify_bench.grow_chain(
            chain.rpc,
            chain.ledger,
            chain.tax,
            chain.ledger.sender(chain.tax),
            options.sync_blocks,
            options.sync_anchors,
        )
        synced = verify_bench.sync_rate(
            chain.rpc, chain.consortium.deployment, ctx.workdir / "s.sqlite"
        )
    finally:
        node.stop()
    ctx.out["audit_sync_blocks_per_s"] = round(synced.per_second, 1)
    ctx.say(
        f"audit sync (second anvil): {synced.blocks:,} blocks ({synced.events:,} events) in "
        f"{synced.seconds:.2f} s = {synced.per_second:,.0f} blocks/s"
    )


def _rate_doc(rate: Any) -> dict[str, Any]:
    return {
        "records": rate.records,
        "seconds": round(rate.seconds, 2),
        "transactions": rate.transactions,
        "blocks": rate.blocks,
        "reverted_records": rate.reverted_records,
    }


def _targets(out: dict[str, Any]) -> dict[str, dict[str, Any]]:
    checks: dict[str, Callable[[float], bool]] = {
        "taxledger_gas_per_record_1024": lambda v: v <= 100,
        "records_per_s_ratio": lambda v: v >= 20,
        "gateway_records_per_s": lambda v: v >= 10_000,
    }
    verdicts = {}
    for name, check in checks.items():
        value = out.get(name)
        verdicts[name] = {
            "target": TARGETS[name],
            "value": value,
            "met": value is not None and bool(check(value)),
        }
    return verdicts
