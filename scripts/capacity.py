"""docs/capacity.md, computed from one `taxledger bench --json` run and the Besu kit's genesis
values: how many agencies, records per second and blocks per second a QBFT network of N
validators carries, and how fast its chain grows at 10^10 invoices a year.

.venv/bin/python scripts/capacity.py [--bench docs/capacity-bench.json] [--out docs/capacity.md]

The bench JSON is committed beside the page; a test holds the page equal to this script's
output for it, so the page changes only with a new run or a new model, never by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import Any

from gateway.settings import GatewaySettings
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.chain.transactions import FeePolicy, Sender
from ledger_node.checkout import project_root
from ledger_node.contracts import load_artifact
from ledger_node.keys import LocalKey
from ledger_node.kit import genesis as qbft
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS
from ledger_node.rlp import encode_bytes, encode_int, encode_list

ROOT = project_root()
BENCH = ROOT / "docs" / "capacity-bench.json"
PAGE = ROOT / "docs" / "capacity.md"
#: Network sizes of the table: 3f+1 validators tolerate f faulty ones.
SIZES = (4, 7, 10, 13, 16, 22, 31)
INVOICES_PER_YEAR = 10**10
SECONDS_PER_YEAR = 365 * 24 * 3600
#: Largest numbers the chain's fields reach within decades, for their encoded sizes.
_BLOCK_NUMBER = 2**32 - 1
_TIMESTAMP = 2**32 - 1


def _list(*items: bytes) -> bytes:
    return encode_list(b"".join(items))


def anchor_transaction_bytes() -> int:
    """Bytes of one signed ``anchorBatch`` transaction, as the gateways send it."""
    # Nothing is sent: the client and sender only sign, offline.
    w3 = connect("http://127.0.0.1:1")
    agency, sender_key = LocalKey.generate(), LocalKey.generate()
    ledger = LedgerClient(w3, "0x" + "11" * 20, chain_id=860311)
    prepared = ledger.prepare_anchor(
        agency,
        schema_id=SCHEMAS[INVOICE_ISSUED].schema_id,
        root=b"\xab" * 32,
        count=10_000,
        deadline=_TIMESTAMP,
    )
    sender = Sender(Rpc(w3), sender_key, 860311)
    tx = sender.sign(ledger.address, prepared.calldata, 90_000, 10**6, FeePolicy().tip)
    return len(tx.raw)


def anchor_receipt_bytes() -> int:
    """Bytes of one ``anchorBatch`` receipt with its ``BatchAnchored`` log (typed receipt)."""
    (event,) = (e for e in load_artifact("TaxLedger").abi if e.get("name") == "BatchAnchored")
    topics = 1 + sum(1 for i in event["inputs"] if i["indexed"])
    data = 32 * sum(1 for i in event["inputs"] if not i["indexed"])
    log = _list(
        encode_bytes(b"\x11" * 20),
        _list(*(encode_bytes(b"\xab" * 32) for _ in range(topics))),
        encode_bytes(b"\xcd" * data),
    )
    receipt = _list(encode_int(1), encode_int(10**9), encode_bytes(b"\xff" * 256), _list(log))
    return 1 + len(receipt)


def header_bytes(validators: int, gas_limit: int) -> int:
    """Bytes of one Cancun block header of a QBFT chain: ``extraData`` lists the validators
    and carries the commit seals of a quorum (at least that many; Besu keeps those it got)."""
    quorum = math.ceil(2 * validators / 3)
    extra = _list(
        encode_bytes(bytes(32)),
        _list(*(encode_bytes(b"\x22" * 20) for _ in range(validators))),
        encode_list(b""),
        encode_int(0),
        _list(*(encode_bytes(b"\x33" * 65) for _ in range(quorum))),
    )
    fields = [
        encode_bytes(b"\xaa" * 32),  # parent hash
        encode_bytes(b"\xaa" * 32),  # ommers hash
        encode_bytes(b"\x22" * 20),  # coinbase: the proposer
        *(encode_bytes(b"\xaa" * 32) for _ in range(3)),  # state, transactions, receipts roots
        encode_bytes(b"\xff" * 256),  # logs bloom
        encode_int(1),  # difficulty
        encode_int(_BLOCK_NUMBER),
        encode_int(gas_limit),
        encode_int(gas_limit // 2),  # gas used
        encode_int(_TIMESTAMP),
        encode_bytes(extra),
        encode_bytes(b"\xaa" * 32),  # mix hash
        encode_bytes(bytes(8)),  # nonce
        encode_int(0),  # base fee: zero
        encode_bytes(b"\xaa" * 32),  # withdrawals root
        encode_int(0),  # blob gas used
        encode_int(0),  # excess blob gas
        encode_bytes(b"\xaa" * 32),  # parent beacon block root
    ]
    return len(_list(*fields))


def _anchor_gas(bench: dict[str, Any]) -> int:
    if "taxledger_gas_anchor_batch" in bench:
        return int(bench["taxledger_gas_anchor_batch"])
    return round(bench["taxledger_gas_per_record_4096"] * 4096)


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.1f} GB"


def render(bench: dict[str, Any], source: str = "docs/capacity-bench.json") -> str:
    """The capacity page for one benchmark run."""
    anchor_gas = _anchor_gas(bench)
    attest_gas = int(bench["taxledger_gas_single"])
    gateway_rate = float(bench["gateway_records_per_s"])
    defaults = GatewaySettings.model_fields
    batch = int(defaults["batch_size"].default)
    interval_s = int(defaults["batch_interval_ms"].default) / 1000
    period = qbft.BLOCK_PERIOD_SECONDS
    machine = bench["machine"]
    rows = []
    for n in SIZES:
        sizing = qbft.size_gas_limit(n)
        per_block = sizing.gas_limit // anchor_gas
        chain_rate = per_block * batch / period
        offered = n * gateway_rate
        rows.append(
            f"| {n} | {(n - 1) // 3} | {math.ceil(2 * n / 3)} | {sizing.gas_limit:,} | "
            f"{per_block:,} | {1 / period:g} | {chain_rate:,.0f} | {offered:,.0f} | "
            f"{min(chain_rate, offered):,.0f} | {math.floor(chain_rate / gateway_rate):,} | "
            f"{sizing.gas_limit // attest_gas / period:,.0f} |"
        )
    tx_bytes, receipt_bytes = anchor_transaction_bytes(), anchor_receipt_bytes()
    blocks = SECONDS_PER_YEAR // period
    per_second = INVOICES_PER_YEAR / SECONDS_PER_YEAR
    policies = (
        (
            f"gateway defaults (a batch at {batch:,} records or after {interval_s:g} s)",
            SECONDS_PER_YEAR / min(interval_s, batch / per_second),
        ),
        (f"batches filled to {batch:,} records", INVOICES_PER_YEAR / batch),
    )
    growth = []
    for what, batches in policies:
        for n in (SIZES[0], SIZES[-1]):
            headers = blocks * header_bytes(n, qbft.size_gas_limit(n).gas_limit)
            writes = batches * (tx_bytes + receipt_bytes)
            growth.append(
                f"| {what} | {n} | {batches:,.0f} | {_gb(headers)} | {_gb(writes)} | "
                f"{_gb(headers + writes)} |"
            )
    lines = [
        "# Capacity of a QBFT network of the agencies",
        "",
        f"Computed by `scripts/capacity.py` from `{source}`, one `taxledger bench --json` run "
        f"({machine['nproc']} CPUs, {machine['cpu_model']}; load average "
        f"{machine['load_average_before']} at its start and {machine['load_average_after']} at "
        "its end, the machine shared with other work), and from the genesis values of "
        "`taxledger kit besu` (`ledger_node/kit/genesis.py`). Regenerate it with "
        "`.venv/bin/python scripts/capacity.py` after a new run; do not edit it by hand.",
        "",
        "## Measured inputs",
        "",
        "| what | value |",
        "|---|---|",
        f"| gas of one `anchorBatch`, any batch size | {anchor_gas:,} |",
        f"| gas of one `attest` | {attest_gas:,} |",
        f"| records/s through one gateway, end to end (bulk ingest to anchored) | "
        f"{gateway_rate:,.0f} |",
        f"| records/s of the best write path, one process (validate, commit, tree, anchor) | "
        f"{float(bench['taxledger_records_per_s']):,.0f} |",
        f"| bytes of one signed `anchorBatch` transaction / its receipt and log | "
        f"{tx_bytes} / {receipt_bytes} |",
        "",
        "The gas and the gateway rate were measured on anvil, not Besu: gas is the EVM's and "
        "the same on both; the gateway rate is bound by the gateway's CPU (it validates and "
        "commits every record), not by the node."
        + (
            " This run's machine was busy (load average above its CPU count), so its gateway "
            "rate is below a quiet machine's; the rows below scale with it."
            if machine["load_average_before"] > machine["nproc"]
            else ""
        ),
        "",
        f"## A network of N validators ({period} s blocks, batches of {batch:,})",
        "",
        "Each validator is an agency running its own gateway at the measured rate. The kit "
        "sizes the block gas limit for N agencies "
        f"({qbft.BATCHES_PER_AGENCY_PER_BLOCK} batches each per block, and the deployment).",
        "",
        "| validators N | faulty tolerated | quorum | block gas limit | batches per block | "
        "blocks/s | chain carries, records/s | N gateways offer, records/s | carried, "
        "records/s | agencies the chain carries at one gateway each | single attestations/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "The chain is never the bound: a block holds far more batches than the agencies' "
        "gateways fill, so records per second grow with the gateways (add gateway processes "
        "per agency to go further) and blocks per second stay at one per block period. What "
        "this page cannot say is how QBFT's rounds behave as N grows (each block takes about "
        "2N² prepare and commit messages): Besu could not be run here, so the block period "
        f"is assumed to hold at every N, which Besu's guide expects (\"usually around one "
        f'second" from proposal to block); `requesttimeoutseconds` '
        f"({qbft.REQUEST_TIMEOUT_SECONDS} s) is the first value to tune on a real network. "
        "Single attestations (`attest`, a transaction each) are bounded by the block gas "
        "limit; a consortium that needs more of them sets a larger `gas_limit` in its member "
        "list.",
        "",
        f"## Chain growth at 10^10 invoices a year ({per_second:,.0f} invoices/s on average)",
        "",
        f"{blocks:,} blocks a year, empty or not. Invoices are attested by the tax bureau "
        "alone, so one gateway anchors them; payments attested by the banks would add as many "
        "batches again per bank gateway.",
        "",
        "| batching | validators | anchor transactions a year | block headers | "
        "transactions and receipts | total |",
        "|---|---|---|---|---|---|",
        *growth,
        "",
        "Sizes are the RLP of headers, transactions and receipts; Besu's database adds its "
        "own indexes on top (not measured here). The chain grows with time and batches, not "
        "with records: at the gateway defaults by a batch a second and a header a block, "
        "whatever the invoice volume; with batches filled, headers are most of it.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bench", type=Path, default=BENCH)
    parser.add_argument("--out", type=Path, default=PAGE)
    args = parser.parse_args()
    bench = json.loads(args.bench.read_text(encoding="utf-8"))
    source = os.path.relpath(args.bench.resolve(), ROOT)
    args.out.write_text(render(bench, source), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
