"""The Ethereum Attestation Service (EAS) on the benchmark's node, under taxledger's permission.

EAS (npm ``@ethereum-attestation-service/eas-contracts``) is compiled offline from
``node_modules`` with its own pinned solc (npm alias ``solc-0.8.29``) and EAS's published
optimizer settings, into a cache outside the package. Its schema registry, EAS itself and
:file:`eas/ConsortiumResolver.sol` are deployed next to a founded taxledger; the EAS schema
registered with that resolver admits an attestation only if its attester may attest the
same schema on taxledger at that block, so both sides enforce the same permission.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import encode

from ledger_node.chain.errors import ChainError
from ledger_node.chain.ledger import encode_call
from ledger_node.chain.rpc import Rpc, as_bytes
from ledger_node.chain.transactions import Receipt, ReceiptTimeout, Sender, SignedTransaction
from ledger_node.checkout import project_root
from ledger_node.hashing import keccak256
from ledger_node.keys import LocalKey
from taxledger_dev.benchmarks.pipeline import (
    CommitPool,
    WriteRate,
    commitments_task,
    drive,
    resend,
)
from taxledger_dev.build import CompileError, run_compiler, standard_json_input

EAS_PACKAGE = "@ethereum-attestation-service/eas-contracts"
SOLC_VERSION = "0.8.29"
#: The npm alias of solc-js at :data:`SOLC_VERSION` (EAS pins ``pragma solidity 0.8.29``).
SOLCJS_PACKAGE = "solc-0.8.29"
#: EAS's own deployments are built with these optimizer settings.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1_000_000},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "none"},
}
RESOLVER_UNIT = "taxledger_dev/benchmarks/eas/ConsortiumResolver.sol"
RESOLVER_SOURCE = Path(__file__).with_name("eas") / "ConsortiumResolver.sol"
CONTRACTS = {
    "SchemaRegistry": f"{EAS_PACKAGE}/contracts/SchemaRegistry.sol",
    "EAS": f"{EAS_PACKAGE}/contracts/EAS.sol",
    "ConsortiumResolver": RESOLVER_UNIT,
}
#: The EAS schema: the same commitment taxledger records for a fact.
EAS_SCHEMA = "bytes32 commitment"

_ATTEST = "attest((bytes32,(address,uint64,bool,bytes32,bytes,uint256)))"
_MULTI_ATTEST = "multiAttest((bytes32,(address,uint64,bool,bytes32,bytes,uint256)[])[])"
_REGISTER = "register(string,address,bool)"
_GET_SCHEMA = "getSchema(bytes32)"
_ZERO_ADDRESS = "0x" + "00" * 20

#: EAS's custom errors by selector, to name a revert (see :func:`revert_name`).
EAS_ERRORS = {
    keccak256(name.encode())[:4]: name
    for name in (
        "InvalidAttestation()",
        "InvalidAttestations()",
        "InvalidSchema()",
        "InvalidLength()",
        "AccessDenied()",
        "InvalidEAS()",
        "NotPayable()",
        "InsufficientValue()",
    )
}


def revert_name(exc: ChainError) -> str | None:
    """The EAS error a failed call reverted with, from the chain client's error text."""
    text = str(exc)
    for selector, name in EAS_ERRORS.items():
        if f"0x{selector.hex()}" in text:
            return name
    return None


# -- compiling ---------------------------------------------------------------------------------


def compile_job(root: Path) -> dict[str, Any]:
    """The standard-JSON input: EAS, its registry and the resolver with all they import."""
    entries = [
        CONTRACTS["SchemaRegistry"],
        CONTRACTS["EAS"],
        f"{EAS_PACKAGE}/contracts/resolver/SchemaResolver.sol",
        "contracts/interfaces/ITaxLedger.sol",
    ]
    job = standard_json_input(root, entries)
    job["sources"][RESOLVER_UNIT] = {"content": RESOLVER_SOURCE.read_text(encoding="utf-8")}
    job["sources"] = dict(sorted(job["sources"].items()))
    job["settings"] = {**SETTINGS, "outputSelection": {"*": {"*": ["evm.bytecode.object"]}}}
    return job


def default_cache_dir(root: Path) -> Path:
    return root / "cache" / "taxledger-bench"


def compile_eas(root: Path | None = None, cache_dir: Path | None = None) -> dict[str, bytes]:
    """Creation bytecode of the schema registry, EAS and the resolver, by contract name.

    Compiled once per distinct input (sources, settings, compiler) and cached as JSON.
    """
    root = root or project_root()
    if not (root / "node_modules" / EAS_PACKAGE / "package.json").is_file():
        raise CompileError(f"npm package {EAS_PACKAGE} is not installed; run `npm ci`")
    job = compile_job(root)
    digest = hashlib.sha256(json.dumps([SOLC_VERSION, job], sort_keys=True).encode()).hexdigest()[
        :20
    ]
    cache = (cache_dir or default_cache_dir(root)) / f"eas-{digest}.json"
    if cache.is_file():
        cached: dict[str, str] = json.loads(cache.read_text())
        return {name: bytes.fromhex(code) for name, code in cached.items()}
    output = run_compiler(root, SOLC_VERSION, job, solcjs_package=SOLCJS_PACKAGE)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    code = {
        name: output["contracts"][unit][name]["evm"]["bytecode"]["object"]
        for name, unit in CONTRACTS.items()
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp")
    partial.write_text(json.dumps(code, indent=1, sort_keys=True))
    partial.replace(cache)
    return {name: bytes.fromhex(hex_code) for name, hex_code in code.items()}


# -- deploying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EasDeployment:
    """EAS on a node, with the consortium's resolver and the schema registered with it."""

    registry: str
    eas: str
    resolver: str
    schema_uid: bytes


def _deploy(sender: Sender, code: bytes) -> str:
    tx = sender.send(None, code)
    (receipt,) = sender.wait([tx])
    if receipt.status != 1 or receipt.contract_address is None:
        raise ChainError(f"deployment transaction 0x{tx.tx_hash.hex()} failed")
    return receipt.contract_address


def schema_uid(schema: str, resolver: str, revocable: bool) -> bytes:
    """EAS's schema UID: ``keccak256(abi.encodePacked(schema, resolver, revocable))``."""
    return keccak256(schema.encode() + bytes.fromhex(resolver[2:]) + bytes([revocable]))


def deploy_eas(
    rpc: Rpc,
    deployer: Sender,
    ledger: str,
    ledger_schema_id: bytes,
    code: dict[str, bytes] | None = None,
) -> EasDeployment:
    """Deploy the registry, EAS and a resolver admitting the agencies that may attest
    ``ledger_schema_id`` on the taxledger at ``ledger``; register :data:`EAS_SCHEMA`."""
    code = code or compile_eas()
    registry = _deploy(deployer, code["SchemaRegistry"])
    eas = _deploy(deployer, code["EAS"] + encode(["address"], [registry]))
    resolver = _deploy(
        deployer,
        code["ConsortiumResolver"]
        + encode(["address", "address", "bytes32"], [eas, ledger, ledger_schema_id]),
    )
    tx = deployer.send(registry, encode_call(_REGISTER, EAS_SCHEMA, resolver, True))
    (receipt,) = deployer.wait([tx])
    if receipt.status != 1:
        raise ChainError("registering the EAS schema failed")
    uid = schema_uid(EAS_SCHEMA, resolver, True)
    call = {"to": registry, "data": "0x" + encode_call(_GET_SCHEMA, uid).hex()}
    if as_bytes(rpc.request("eth_call", [call, "latest"]))[32:64] != uid:
        raise ChainError("the EAS schema registry does not hold the schema just registered")
    return EasDeployment(registry, eas, resolver, uid)


# -- attesting ---------------------------------------------------------------------------------


def _data(commitment: bytes) -> tuple[Any, ...]:
    # recipient, expirationTime, revocable, refUID, data, value: the smallest EAS attestation
    # that carries what a taxledger fact carries (a revocable commitment).
    return (_ZERO_ADDRESS, 0, True, b"\x00" * 32, commitment, 0)


def attest_calldata(uid: bytes, commitment: bytes) -> bytes:
    """``EAS.attest`` of one commitment under schema ``uid``."""
    return encode_call(_ATTEST, (uid, _data(commitment)))


def multi_attest_calldata(uid: bytes, commitments: Sequence[bytes]) -> bytes:
    """``EAS.multiAttest`` of many commitments under schema ``uid``."""
    return encode_call(_MULTI_ATTEST, [(uid, [_data(c) for c in commitments])])


@dataclass(frozen=True)
class EasGas:
    """Gas of one ``attest`` and, per batch size, of ``multiAttest`` over as many transactions
    as the block gas limit needs (total gas, transactions)."""

    attest_first: int
    attest: int
    multi: dict[int, tuple[int, int]]
    per_record_limit: int

    def per_record(self, size: int) -> float:
        return self.multi[size][0] / size


#: A multiAttest's gas limit is its estimate times this fraction (numerator, denominator).
GAS_MARGIN = (51, 50)


def _attester_commitments(prefix: str, count: int) -> list[bytes]:
    return [keccak256(f"{prefix}{i}".encode()) for i in range(count)]


def _with_margin(estimate: int) -> int:
    return estimate * GAS_MARGIN[0] // GAS_MARGIN[1]


def chunk_size(per_record_gas: int, block_gas_limit: int, tx_gas_cap: int = 2**24) -> int:
    """Attestations per ``multiAttest`` so that a whole number of transactions (at least
    four, each within ``tx_gas_cap``, EIP-7825's cap) fills a block: a node packs blocks by
    the transactions' gas limits, set :data:`GAS_MARGIN` above their estimates."""
    per_block = max(4, math.ceil(block_gas_limit / tx_gas_cap))
    budget = block_gas_limit * GAS_MARGIN[1] // (per_block * GAS_MARGIN[0])
    return max(1, budget // per_record_gas)


def send_and_wait(
    sender: Sender, calls: Sequence[tuple[str | None, bytes, int]], timeout: float = 120.0
) -> list[Receipt]:
    """Send transactions in one batch and wait for them, sending the same bytes again every
    few seconds while some are unmined (anvil can drop a queued transaction)."""
    txs: list[SignedTransaction] = []
    group: list[tuple[str | None, bytes, int]] = []
    for call in calls:
        # JSON-RPC batches stay well under anvil's request size limit.
        if group and sum(len(c[1]) for c in group) + len(call[1]) > 400_000:
            txs += sender.send_many(group)
            group = []
        group.append(call)
    txs += sender.send_many(group)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return sender.wait(txs, timeout=5.0)
        except ReceiptTimeout:
            if time.monotonic() > deadline:
                raise
            resend(sender.rpc, [tx for tx in txs if sender.receipt(tx.tx_hash) is None])


def measure_gas(
    sender: Sender,
    eas: EasDeployment,
    block_gas_limit: int,
    sizes: Sequence[int] = (64, 1024, 4096),
) -> EasGas:
    """Gas of ``attest`` and of ``multiAttest`` batches by the member ``sender``."""
    uid = eas.schema_uid
    used = []
    for n in range(2):
        tx = sender.send(eas.eas, attest_calldata(uid, keccak256(b"eas single %d" % n)))
        (receipt,) = sender.wait([tx])
        if receipt.status != 1:
            raise ChainError("EAS attest by a member reverted")
        used.append(receipt.gas_used)
    probe = multi_attest_calldata(uid, _attester_commitments("eas probe ", 64))
    per_record = math.ceil(sender.estimate_gas(eas.eas, probe) / 64)
    most = chunk_size(per_record, block_gas_limit)
    multi: dict[int, tuple[int, int]] = {}
    for size in sizes:
        commitments = _attester_commitments(f"eas gas {size} ", size)
        # Equal transactions, each within a quarter block: the fewest the gas limit allows.
        chunk = math.ceil(size / math.ceil(size / most))
        calls = []
        for start in range(0, size, chunk):
            data = multi_attest_calldata(uid, commitments[start : start + chunk])
            calls.append((eas.eas, data, _with_margin(sender.estimate_gas(eas.eas, data))))
        receipts = send_and_wait(sender, calls)
        if any(r.status != 1 for r in receipts):
            raise ChainError(f"an EAS multiAttest of {size} reverted")
        multi[size] = (sum(r.gas_used for r in receipts), len(receipts))
    return EasGas(used[0], used[1], multi, per_record)


def throughput(
    rpc: Rpc,
    attester: LocalKey,
    eas: EasDeployment,
    pool: CommitPool,
    *,
    seconds: float,
    block_gas_limit: int,
    blocks_in_flight: int = 3,
) -> WriteRate:
    """EAS's best write path: the member sends ``multiAttest`` transactions of as many
    commitments as a quarter block allows, signed raw and sent in JSON-RPC batches, keeping
    about ``blocks_in_flight`` full blocks of work queued at the node."""
    sender = Sender(rpc, attester, int(rpc.request("eth_chainId", []), 16))
    uid = eas.schema_uid
    probe = multi_attest_calldata(uid, _attester_commitments("eas rate probe ", 64))
    per_record = math.ceil(sender.estimate_gas(eas.eas, probe) / 64)
    chunk = chunk_size(per_record, block_gas_limit)
    sample = multi_attest_calldata(uid, _attester_commitments("eas rate sample ", chunk))
    gas = _with_margin(sender.estimate_gas(eas.eas, sample))
    per_block = max(1, block_gas_limit // gas)
    stream = pool.stream(commitments_task, chunk)

    def produce() -> list[tuple[SignedTransaction, int]]:
        made = []
        # One JSON-RPC batch carries about a block's worth of transactions.
        for _ in range(per_block):
            blob: bytes = stream.next()
            commitments = [blob[i : i + 32] for i in range(0, len(blob), 32)]
            nonce = sender.take_nonces(1)
            data = multi_attest_calldata(uid, commitments)
            made.append((sender.sign(eas.eas, data, gas, nonce, sender.max_fee()), chunk))
        return made

    try:
        return drive(
            rpc,
            produce,
            sender.submit,
            seconds=seconds,
            max_in_flight=chunk * per_block * blocks_in_flight,
        )
    finally:
        stream.drain()
