"""The QBFT genesis of a consortium network: consensus timing, the validators in ``extraData``,
the block gas limit, zero base fee, and the agencies' accounts funded.

The numbers are chosen here, each with its reason, and sized from measured gas (see
``scripts/bench_chain.py``): the kit's tests re-measure that gas on a node booted from the
genesis and fail if the contracts have outgrown it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger_node.chain.transactions import FeePolicy
from ledger_node.contracts import artifact_path
from ledger_node.kit.members import Consortium, KitError
from ledger_node.rlp import encode_bytes, encode_int, encode_list

#: Seconds between blocks. Two seconds keeps a record's path to finality short (its batch is
#: cut within a second and final in the next block, which QBFT never reverts: about 3 s) while
#: leaving each round far more time than QBFT needs to agree ("usually around one second" from
#: proposal to block, even with validators far apart, per Besu's QBFT guide). Shorter periods
#: only add empty blocks, whose headers are most of the chain's growth (docs/capacity.md).
BLOCK_PERIOD_SECONDS = 2
#: Seconds a round may take before validators move to the next proposer: twice the block
#: period, the starting point Besu's guide gives for tuning it down until round changes show.
REQUEST_TIMEOUT_SECONDS = 4
#: Blocks after which pending validator votes are discarded: Besu's default (about 17 hours at
#: 2 s blocks, ample for every validator to cast a vote); Besu warns that changing it on a
#: running network can produce illegal blocks, so it is fixed here once.
EPOCH_LENGTH = 30_000

#: Gas of one ``anchorBatch``, whatever the batch size: the most measured on anvil
#: (63,281 to 63,293 with ``scripts/bench_chain.py``; the calldata's zero bytes vary it).
ANCHOR_BATCH_GAS = 63_293
#: Gas of deploying the ledger with the twelve default schemas and their default read policy
#: (28 rules): measured 8,654,180 with one founder, 9,422,192 with 4, 12,494,555 with 16 and
#: 16,335,691 with 31 (names of up to 31 bytes, each founder with its encryption key), i.e.
#: at most this base plus :data:`DEPLOY_GAS_PER_FOUNDER` each; founding the three default
#: subject-tag domains with their keys' commitments adds 303,008 (9,725,200 with 4 founders).
DEPLOY_GAS_BASE = 8_701_200
DEPLOY_GAS_PER_FOUNDER = 256_100
#: A block holds this many batches per agency: a batch each, plus room for attestations,
#: revocations and governance in the same block, and for a gateway that fell behind (its node
#: was down) to catch up ten batches a block.
BATCHES_PER_AGENCY_PER_BLOCK = 10
#: A transaction asks for more gas than its estimate (the sender adds 20% and 5,000, which is
#: under 21% for anything above 500,000 gas); the deployment must still fit one block.
DEPLOY_MARGIN = 1.21
#: Every account is funded to pay full blocks at the library's default tip (the base fee is
#: zero, so the tip is the whole price) for this many years.
FUNDED_YEARS = 100

#: Genesis milestones up to each EVM version the contracts may be compiled for, in order.
_MILESTONES = (
    ("homesteadBlock", "homestead"),
    ("eip150Block", "tangerineWhistle"),
    ("eip155Block", "spuriousDragon"),
    ("eip158Block", "spuriousDragon"),
    ("byzantiumBlock", "byzantium"),
    ("constantinopleBlock", "constantinople"),
    ("petersburgBlock", "petersburg"),
    ("istanbulBlock", "istanbul"),
    ("berlinBlock", "berlin"),
    ("londonBlock", "london"),
    ("shanghaiTime", "shanghai"),
    ("cancunTime", "cancun"),
)
_EVM_VERSIONS = (
    "homestead",
    "tangerineWhistle",
    "spuriousDragon",
    "byzantium",
    "constantinople",
    "petersburg",
    "istanbul",
    "berlin",
    "london",
    "paris",
    "shanghai",
    "cancun",
)
#: QBFT's genesis values of ``mixHash`` ("Istanbul block identification") and ``difficulty``.
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"


def contracts_evm_version() -> str:
    """The EVM version the shipped contracts were compiled for (their artifact says)."""
    doc = json.loads(artifact_path("TaxLedger").read_text(encoding="utf-8"))
    return str(doc["compiler"]["settings"]["evmVersion"])


def milestones(evm_version: str) -> dict[str, int]:
    """Genesis milestones that activate, from block 0, every fork up to ``evm_version``."""
    if evm_version not in _EVM_VERSIONS:
        raise KitError(
            f"the contracts are compiled for EVM {evm_version!r}; the kit writes QBFT genesis "
            f"milestones up to {_EVM_VERSIONS[-1]!r} only (recompile for it, or extend the kit)"
        )
    reach = _EVM_VERSIONS.index(evm_version)
    # Paris is the Merge: it has no milestone on a QBFT chain, and London's fee market is in.
    return {
        key: 0
        for key, fork in _MILESTONES
        if _EVM_VERSIONS.index(fork) <= max(reach, _EVM_VERSIONS.index("london"))
    }


def qbft_extra_data(validators: Sequence[str]) -> str:
    """``extraData`` of a QBFT genesis: RLP([32 zero bytes of vanity, [validators...], no vote,
    round 0, no seals]) as Besu's QbftExtraDataCodec encodes it (an empty list for no vote,
    the integer 0 as the empty string)."""
    if not validators:
        raise KitError("a QBFT genesis needs at least one validator")
    listed = encode_list(b"".join(encode_bytes(bytes.fromhex(a[2:])) for a in validators))
    fields = encode_bytes(bytes(32)) + listed + encode_list(b"") + encode_int(0) + encode_list(b"")
    return "0x" + encode_list(fields).hex()


@dataclass(frozen=True)
class GasSizing:
    """How the block gas limit was derived, for the kit's README and the capacity page."""

    agencies: int
    batches_gas: int
    deploy_gas: int
    gas_limit: int

    @property
    def batches_per_block(self) -> int:
        """``anchorBatch`` transactions one block holds."""
        return self.gas_limit // ANCHOR_BATCH_GAS


def size_gas_limit(agencies: int, requested: int | None = None) -> GasSizing:
    """The smallest block gas limit (whole millions) that holds
    :data:`BATCHES_PER_AGENCY_PER_BLOCK` batches of every agency and the ledger's deployment by
    ``agencies`` founders; ``requested`` may only raise it."""
    batches = agencies * BATCHES_PER_AGENCY_PER_BLOCK * ANCHOR_BATCH_GAS
    deploy = math.ceil((DEPLOY_GAS_BASE + agencies * DEPLOY_GAS_PER_FOUNDER) * DEPLOY_MARGIN)
    needed = math.ceil(max(batches, deploy) / 1_000_000) * 1_000_000
    if requested is not None and requested < needed:
        raise KitError(
            f"[network]: gas_limit {requested:,} is below {needed:,}, the least that holds "
            f"{BATCHES_PER_AGENCY_PER_BLOCK} batches of each of {agencies} agencies a block "
            f"({batches:,} gas) and the ledger's deployment ({deploy:,} gas)"
        )
    return GasSizing(agencies, batches, deploy, requested or needed)


def blocks_per_year() -> int:
    """Blocks a year at :data:`BLOCK_PERIOD_SECONDS`."""
    return 365 * 24 * 3600 // BLOCK_PERIOD_SECONDS


def funding_wei(gas_limit: int) -> int:
    """The genesis balance of each account: full blocks at the default tip for
    :data:`FUNDED_YEARS`, rounded up to a power of ten."""
    spend = gas_limit * FeePolicy().tip * blocks_per_year() * FUNDED_YEARS
    return int(10 ** math.ceil(math.log10(spend)))


def build_genesis(
    consortium: Consortium, validators: Sequence[str], evm_version: str
) -> dict[str, Any]:
    """The genesis document (``genesis.json``) of the consortium's network."""
    sizing = size_gas_limit(len(consortium.members), consortium.gas_limit)
    balance = hex(funding_wei(sizing.gas_limit))
    config: dict[str, Any] = {"chainId": consortium.chain_id, **milestones(evm_version)}
    # A zero base fee (Besu's free-gas networks): fees never climb under load, and with
    # min-gas-price 0 on every node no transaction waits for a price.
    config["zeroBaseFee"] = True
    config["qbft"] = {
        "blockperiodseconds": BLOCK_PERIOD_SECONDS,
        "epochlength": EPOCH_LENGTH,
        "requesttimeoutseconds": REQUEST_TIMEOUT_SECONDS,
    }
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": qbft_extra_data(sorted(validators)),
        "gasLimit": hex(sizing.gas_limit),
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "baseFeePerGas": "0x0",
        "alloc": {address[2:]: {"balance": balance} for address in consortium.accounts},
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }
