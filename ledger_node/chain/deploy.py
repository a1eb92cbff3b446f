"""Deploying and founding a consortium ledger, and funding accounts on development chains."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode

from ledger_node.agencies import AgencyKind, kind_mask
from ledger_node.chain.errors import ChainError
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, as_int
from ledger_node.chain.transactions import Sender
from ledger_node.contracts import load_artifact
from ledger_node.deployment import AgencyEntry, Deployment, SchemaEntry
from ledger_node.keys import LocalKey

_CONSTRUCTOR = ["(uint8,address,string)[]", "(bytes32,uint16,bool,string)[]", "uint16"]


@dataclass(frozen=True)
class Founder:
    """A founding agency: its name, kind and signing key address."""

    name: str
    kind: AgencyKind
    key: str


def deploy_ledger(
    rpc: Rpc,
    deployer: Sender,
    founders: Sequence[Founder],
    schemas: Sequence[SchemaEntry],
    threshold: int,
) -> Deployment:
    """Deploy a TaxLedger founded by ``founders`` with ``schemas`` and an M-of-N ``threshold``.

    The deployer keeps no power over the ledger once it is deployed.
    """
    artifact = load_artifact("TaxLedger")
    args = encode(
        _CONSTRUCTOR,
        [
            [(int(f.kind), f.key, f.name) for f in founders],
            [
                (bytes.fromhex(s.schema_id[2:]), kind_mask(s.kinds), s.revocable, s.name)
                for s in schemas
            ],
            threshold,
        ],
    )
    tx = deployer.send(None, artifact.bytecode + args)
    (receipt,) = deployer.wait([tx])
    if receipt.status != 1 or receipt.contract_address is None:
        # Replay the constructor to learn the typed reason.
        deployer.estimate_gas(None, artifact.bytecode + args)
        raise ChainError(f"deployment transaction 0x{tx.tx_hash.hex()} failed")
    client = LedgerClient(rpc.w3, receipt.contract_address, deployer.chain_id)
    agencies = tuple(
        AgencyEntry(agency_id=i + 1, name=f.name, kind=f.kind, key=f.key.lower())
        for i, f in enumerate(founders)
    )
    for entry in agencies:
        onchain = client.agency(entry.agency_id)
        if onchain is None or onchain.key != entry.key:
            raise ChainError(f"founder {entry.name} was not registered as expected")
    return Deployment(
        chain_id=deployer.chain_id,
        ledger=client.address,
        deployment_block=receipt.block_number,
        deployment_tx="0x" + receipt.tx_hash.hex(),
        threshold=threshold,
        agencies=agencies,
        schemas=tuple(schemas),
    )


def fund_from_node(rpc: Rpc, addresses: Sequence[str], wei: int = 10**20) -> None:
    """Send ``wei`` to each address from the node's first unlocked account.

    Development chains only (the embedded chain, anvil, Hardhat): a permissioned network
    funds its agencies' accounts in its genesis file.
    """
    accounts = rpc.request("eth_accounts", [])
    if not accounts:
        raise ChainError(
            "the node has no unlocked account to fund from; fund the accounts in the genesis"
        )
    hashes = [
        rpc.request(
            "eth_sendTransaction",
            [{"from": accounts[0], "to": address, "value": hex(wei), "gas": hex(21_000)}],
        )
        for address in addresses
    ]
    for tx_hash in hashes:
        for _ in range(600):
            receipt = rpc.request("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                break
            time.sleep(0.05)
        else:
            raise ChainError(f"funding transaction {tx_hash} was not mined")


def default_schemas() -> tuple[SchemaEntry, ...]:
    """The schemas of :mod:`ledger_node.records`, as registered at founding."""
    from ledger_node.records.schemas import SCHEMAS

    return tuple(
        SchemaEntry(
            name=schema.name,
            schema_id="0x" + schema.schema_id.hex(),
            kinds=tuple(sorted(schema.attesters)),
            revocable=schema.revocable,
        )
        for schema in SCHEMAS.values()
    )


#: The consortium of the demo and the tests: one agency of each kind.
STANDARD_MEMBERS: tuple[tuple[str, AgencyKind], ...] = (
    ("tax-bureau", AgencyKind.TAX_BUREAU),
    ("bank", AgencyKind.BANK),
    ("market-regulator", AgencyKind.MARKET_REGULATOR),
    ("auditor", AgencyKind.AUDITOR),
)


@dataclass(frozen=True)
class FoundedConsortium:
    """A freshly founded ledger with the agencies' keys (development chains only)."""

    deployment: Deployment
    keys: dict[str, LocalKey]
    deployer: LocalKey


def found_consortium(
    rpc: Rpc,
    members: Sequence[tuple[str, AgencyKind]] = STANDARD_MEMBERS,
    threshold: int | None = None,
    keys: dict[str, LocalKey] | None = None,
) -> FoundedConsortium:
    """Fund fresh (or given) agency keys from the node, deploy and found the ledger.

    The threshold defaults to a majority of the members.
    """
    chosen = dict(keys or {})
    for name, _ in members:
        chosen.setdefault(name, LocalKey.generate())
    deployer = LocalKey.generate()
    fund_from_node(rpc, [deployer.address, *(chosen[name].address for name, _ in members)])
    chain_id = as_int(rpc.request("eth_chainId", []))
    deployment = deploy_ledger(
        rpc,
        Sender(rpc, deployer, chain_id),
        [Founder(name, kind, chosen[name].address) for name, kind in members],
        default_schemas(),
        threshold if threshold is not None else len(members) // 2 + 1,
    )
    return FoundedConsortium(deployment, {name: chosen[name] for name, _ in members}, deployer)
