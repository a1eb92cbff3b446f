"""Smoke test of the measuring functions of ``taxledger bench`` on tiny sizes: each runs on a
real anvil and returns figures of the right shape. No timing is asserted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.localnode import LocalNode, start_node
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS
from taxledger_dev.benchmarks import eas
from taxledger_dev.benchmarks import gateway as gateway_bench
from taxledger_dev.benchmarks import ledger as ledger_bench
from taxledger_dev.benchmarks import verify as verify_bench
from taxledger_dev.benchmarks.harness import found_bench_ledger
from taxledger_dev.benchmarks.pipeline import CommitPool, sample_records
from taxledger_dev.benchmarks.run import _targets

GAS_LIMIT = 30_000_000  # anvil's default


@pytest.fixture(scope="module")
def node() -> Iterator[LocalNode]:
    """anvil mining a block a second, as in ``taxledger bench`` (automine would mine each
    transaction of a JSON-RPC batch as it lands, and can leave some pending)."""
    started = start_node("anvil", block_time=1, gas_limit=GAS_LIMIT)
    try:
        yield started
    finally:
        started.stop()


def test_write_paths_on_tiny_sizes(node: LocalNode) -> None:
    w3 = connect(node.url)
    rpc = Rpc(w3)
    consortium = found_consortium(rpc)
    ledger = LedgerClient.from_deployment(w3, consortium.deployment)
    tax = consortium.keys["tax-bureau"]
    deployed = eas.deploy_eas(
        rpc, ledger.sender(consortium.deployer), ledger.address,
        SCHEMAS[INVOICE_ISSUED].schema_id, eas.compile_eas(),
    )  # fmt: skip
    gas = eas.measure_gas(ledger.sender(tax), deployed, GAS_LIMIT, sizes=(3, 300))
    assert gas.attest > 0
    assert gas.multi[3][1] == 1
    # 300 attestations need more gas than a quarter block of 30M: several transactions.
    assert gas.multi[300][1] > 1
    assert gas.per_record(300) > 0
    with CommitPool(sample_records(50), workers=1) as pool:
        ours = ledger_bench.anchor_throughput(ledger, consortium, pool, seconds=1, batch=16)
        theirs = eas.throughput(
            rpc, tax, deployed, pool, seconds=1, block_gas_limit=GAS_LIMIT, blocks_in_flight=1
        )
    for rate in (ours, theirs):
        assert rate.records > 0
        assert rate.reverted_records == 0
        assert rate.per_second > 0


def test_chunk_size_fills_blocks_within_the_transaction_cap() -> None:
    for per_record, limit in ((150_000, 30_000_000), (150_000, 10**9), (140_001, 10**8)):
        chunk = eas.chunk_size(per_record, limit)
        tx_gas = chunk * per_record * eas.GAS_MARGIN[0] // eas.GAS_MARGIN[1]
        assert tx_gas <= 2**24
        assert limit // tx_gas >= 4
        # Less than one more record per transaction is left unused in a block.
        assert (limit // tx_gas) * (tx_gas + per_record * 2) > limit
    assert eas.chunk_size(10**9, 30_000_000) == 1


def test_verify_and_sync_on_tiny_sizes(node: LocalNode, tmp_path: Path) -> None:
    workdir = tmp_path
    chain = found_bench_ledger(node.url)
    rpc, consortium, ledger, tax = chain.rpc, chain.consortium, chain.ledger, chain.tax
    sender = ledger.sender(tax)
    documents = verify_bench.prepare_bundles(ledger, tax, sender, 12, 6)
    rate = verify_bench.verify_rate(rpc, consortium.deployment, documents, workdir / "v.sqlite")
    assert rate.bundles == 12
    assert rate.per_second > 0
    in_two = verify_bench.measure_verify(workdir / "v.sqlite", documents, processes=2)
    assert in_two.bundles == 12
    with pytest.raises(RuntimeError, match="1 bundle\\(s\\) failed verification"):
        verify_bench.measure_verify(workdir / "v.sqlite", [*documents, documents[0][:-1] + b" "])
    written = verify_bench.grow_chain(rpc, ledger, tax, sender, 150, 100)
    synced = verify_bench.sync_rate(rpc, consortium.deployment, workdir / "s.sqlite")
    assert synced.events >= written
    assert synced.blocks > 0


@pytest.mark.timeout(180)
def test_gateway_bulk_phase_on_a_tiny_window(node: LocalNode, tmp_path: Path) -> None:
    gateway = gateway_bench.Gateway(tmp_path, node, INVOICE_ISSUED, 500, "NORMAL", 1)
    try:
        records = [orjson.dumps(r) for r in sample_records(20)]
        started: list[float] = []
        bulk = gateway_bench.bulk_phase(
            gateway, INVOICE_ISSUED, records, 1.0, 50, 1, {"gateway": gateway.process.pid},
            on_start=started.append,
        )  # fmt: skip
        burst = gateway_bench.burst_phase(gateway, INVOICE_ISSUED, records, 3, 40, 2)
        counts = gateway.counts()
    finally:
        gateway.stop()
    accepted = bulk["accepted"]
    assert isinstance(accepted, int)
    assert accepted > 0
    assert len(started) == 1
    # Every record accepted in the window is counted anchored, and its CPU with it.
    assert bulk["anchored_records"] == accepted
    assert gateway_bench.gateway_cpu(bulk["cpu_to_anchored"]) > 0  # type: ignore[arg-type]
    assert counts["unbatched"] + counts["pending"] + counts["anchored"] + counts["final"] == (
        accepted + 3 * 40 * 2
    )
    assert isinstance(burst["peak_rss_kb"], int)
    assert burst["peak_rss_kb"] > 0
    assert gateway_bench.pipeline_us(INVOICE_ISSUED, records, passes=1) > 0


def test_targets_are_judged_from_the_figures() -> None:
    verdicts = _targets(
        {"taxledger_gas_per_record_1024": 61.6, "records_per_s_ratio": 19.9,
         "gateway_records_per_s": None}
    )  # fmt: skip
    assert verdicts["taxledger_gas_per_record_1024"]["met"] is True
    assert verdicts["records_per_s_ratio"]["met"] is False
    assert verdicts["gateway_records_per_s"]["met"] is False
