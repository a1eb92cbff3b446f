"""Deploying and founding a consortium ledger, and funding accounts on development chains."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode

from ledger_node.agencies import AgencyKind, kind_mask
from ledger_node.chain.errors import ChainError, RpcError, unfunded
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, as_int
from ledger_node.chain.transactions import Sender
from ledger_node.contracts import load_artifact
from ledger_node.deployment import AgencyEntry, Deployment, SchemaEntry
from ledger_node.keys import EncryptionKey, LocalKey
from ledger_node.policy import ReadRule, default_rules
from ledger_node.tagkeys import DEFAULT_TAG_DOMAINS, key_commitment, new_domain_key

_CONSTRUCTOR = [
    "(uint8,address,bytes32,string)[]",
    "(bytes32,uint16,bool,string)[]",
    "(bytes32,uint8,uint32,bool,string)[]",
    "(bytes32,uint16,bytes32)[]",
    "uint16",
]


@dataclass(frozen=True)
class Founder:
    """A founding agency: its name, kind, signing key address and encryption public key."""

    name: str
    kind: AgencyKind
    key: str
    encryption_key: bytes


@dataclass(frozen=True)
class FoundingTagKey:
    """A subject-tag domain key registered at founding: the domain, the kinds holding the key
    and the key's commitment (never the key)."""

    domain_id: bytes
    holders: tuple[AgencyKind, ...]
    key_commitment: bytes


#: A founding read rule: schema name, reader kind, rule.
FoundingReadRule = tuple[str, AgencyKind, ReadRule]


def deploy_ledger(
    rpc: Rpc,
    deployer: Sender,
    founders: Sequence[Founder],
    schemas: Sequence[SchemaEntry],
    threshold: int,
    *,
    read_rules: Sequence[FoundingReadRule] | None = None,
    tag_keys: Sequence[FoundingTagKey] = (),
) -> Deployment:
    """Deploy a TaxLedger founded by ``founders`` with ``schemas``, a read policy (by default
    :data:`~ledger_node.policy.DEFAULT_READ_POLICY` for those schemas), ``tag_keys`` and an
    M-of-N ``threshold``.

    The deployer keeps no power over the ledger once it is deployed.
    """
    schema_ids = {s.name: bytes.fromhex(s.schema_id[2:]) for s in schemas}
    rules = default_rules(schema_ids) if read_rules is None else read_rules
    unknown = sorted({name for name, _, _ in rules} - schema_ids.keys())
    if unknown:
        raise ChainError(f"read rules name schemas that are not founded: {', '.join(unknown)}")
    artifact = load_artifact("TaxLedger")
    args = encode(
        _CONSTRUCTOR,
        [
            [(int(f.kind), f.key, f.encryption_key, f.name) for f in founders],
            [(schema_ids[s.name], kind_mask(s.kinds), s.revocable, s.name) for s in schemas],
            [
                (schema_ids[name], int(kind), r.purpose_mask, r.consent_required, r.fields)
                for name, kind, r in rules
            ],
            [(t.domain_id, kind_mask(t.holders), t.key_commitment) for t in tag_keys],
            threshold,
        ],
    )
    try:
        tx = deployer.send(None, artifact.bytecode + args)
    except RpcError as exc:
        raise unfunded(exc, deployer.address) from None
    (receipt,) = deployer.wait([tx])
    if receipt.status != 1 or receipt.contract_address is None:
        # Replay the constructor to learn the typed reason.
        deployer.estimate_gas(None, artifact.bytecode + args)
        raise ChainError(f"deployment transaction 0x{tx.tx_hash.hex()} failed")
    client = LedgerClient(rpc.w3, receipt.contract_address, deployer.chain_id)
    agencies = tuple(
        AgencyEntry(
            agency_id=i + 1,
            name=f.name,
            kind=f.kind,
            key=f.key.lower(),
            encryption_key="0x" + f.encryption_key.hex(),
        )
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
    """A freshly founded ledger with the agencies' keys, their encryption keys and the
    subject-tag domain keys by domain name (development chains only: the keys live in memory)."""

    deployment: Deployment
    keys: dict[str, LocalKey]
    deployer: LocalKey
    encryption_keys: dict[str, EncryptionKey]
    tag_keys: dict[str, bytes]


def found_consortium(
    rpc: Rpc,
    members: Sequence[tuple[str, AgencyKind]] = STANDARD_MEMBERS,
    threshold: int | None = None,
    keys: dict[str, LocalKey] | None = None,
    encryption_keys: dict[str, EncryptionKey] | None = None,
) -> FoundedConsortium:
    """Fund fresh (or given) agency keys from the node, generate what else a complete
    consortium needs (encryption keys, a key per default tag domain), deploy and found the
    ledger with the default schemas and read policy.

    The threshold defaults to a majority of the members.
    """
    chosen = dict(keys or {})
    sealing = dict(encryption_keys or {})
    for name, _ in members:
        chosen.setdefault(name, LocalKey.generate())
        sealing.setdefault(name, EncryptionKey.generate())
    domain_keys = {domain.name: new_domain_key() for domain in DEFAULT_TAG_DOMAINS}
    deployer = LocalKey.generate()
    fund_from_node(rpc, [deployer.address, *(chosen[name].address for name, _ in members)])
    chain_id = as_int(rpc.request("eth_chainId", []))
    deployment = deploy_ledger(
        rpc,
        Sender(rpc, deployer, chain_id),
        [
            Founder(name, kind, chosen[name].address, sealing[name].public_key)
            for name, kind in members
        ],
        default_schemas(),
        threshold if threshold is not None else len(members) // 2 + 1,
        tag_keys=[
            FoundingTagKey(
                domain.domain_id,
                tuple(sorted(domain.holders)),
                key_commitment(domain.domain_id, domain_keys[domain.name]),
            )
            for domain in DEFAULT_TAG_DOMAINS
        ],
    )
    return FoundedConsortium(
        deployment,
        {name: chosen[name] for name, _ in members},
        deployer,
        {name: sealing[name] for name, _ in members},
        domain_keys,
    )
