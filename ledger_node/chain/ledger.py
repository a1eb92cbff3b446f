"""The ledger client: signed writes (attest, anchor, revoke) and reads (facts, batches,
revocations, membership history, encryption keys, read policy, tag keys) of one deployed
TaxLedger.

Writes are two signatures: the agency key signs the EIP-712 request (provenance), and a sender
account signs the transaction (gas). They may be the same key or a relayer. Facts and batches
belong to the agency that wrote them, so every read of one names the agency.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode
from web3 import Web3

from ledger_node.agencies import AgencyKind
from ledger_node.chain.errors import ChainError, TransactionFailed, decode_revert
from ledger_node.chain.events import TOPICS, EventReader
from ledger_node.chain.rpc import Rpc, as_bytes, as_int
from ledger_node.chain.transactions import Receipt, Sender, SignedTransaction
from ledger_node.deployment import Deployment
from ledger_node.eip712 import (
    AttestRequest,
    BatchRequest,
    Domain,
    LeafRevokeRequest,
    RevokeRequest,
    SignedRequest,
)
from ledger_node.hashing import keccak256
from ledger_node.keys import LocalKey
from ledger_node.purposes import Purpose

ZERO32 = bytes(32)
#: How long a signature stays valid by default, in seconds.
DEFAULT_VALIDITY = 3600


def _selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


_ATTEST = "attest((bytes32,bytes32,bytes32,bytes32,uint64,uint256,uint64),bytes)"
_ANCHOR = "anchorBatch((bytes32,bytes32,uint32,uint64),bytes)"
_REVOKE = "revoke((bytes32,bytes32,uint256,uint64),bytes)"
_REVOKE_LEAF = "revokeLeaf((bytes32,bytes32,bytes32,bytes32,uint256,uint64),bytes32[],bytes)"
_SELECTORS = {name: _selector(name) for name in (_ATTEST, _ANCHOR, _REVOKE, _REVOKE_LEAF)}


def _args(signature: str) -> list[str]:
    """ABI argument types of a function signature, tuples kept whole."""
    inner = signature[signature.index("(") + 1 : -1]
    out, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.append(inner[start:i])
            start = i + 1
    out.append(inner[start:])
    return [t for t in out if t]


def encode_call(signature: str, *args: Any) -> bytes:
    """Calldata of ``signature`` with ``args``."""
    return _selector(signature) + encode(_args(signature), list(args))


def _encode_static(signature: str, fields: tuple[Any, ...], sig: bytes) -> bytes:
    """Calldata of ``fn(staticTuple, bytes)``, written out by hand for the hot write paths.

    The tuple's fields are all static (bytes32 or uint), so they are encoded in place; the
    signature follows as dynamic ``bytes``. Equal to ``encode_call`` (a test checks), and
    several times faster than the general encoder.
    """
    head = b"".join(f if isinstance(f, bytes) else f.to_bytes(32, "big") for f in fields)
    offset = (len(fields) + 1) * 32
    padding = bytes(-len(sig) % 32)
    return (
        _SELECTORS[signature]
        + head
        + offset.to_bytes(32, "big")
        + len(sig).to_bytes(32, "big")
        + sig
        + padding
    )


@dataclass(frozen=True)
class Fact:
    """A single fact as the ledger stores it."""

    uid: bytes
    agency_id: int
    schema_id: bytes
    attested_block: int
    expiration: int
    revoked_block: int


@dataclass(frozen=True)
class Batch:
    """An anchored batch as the ledger stores it."""

    root: bytes
    agency_id: int
    schema_id: bytes
    anchored_block: int
    count: int


@dataclass(frozen=True)
class Agency:
    """A member agency as the ledger stores it now.

    ``active`` is the latest governance decision, in force from block ``status_from`` (a
    change takes effect from the block after the one that made it); ``encryption_key`` is its
    latest X25519 public key (see :meth:`LedgerClient.encryption_key_history` for when).
    """

    agency_id: int
    kind: AgencyKind
    active: bool
    key: str
    name: str
    status_from: int
    encryption_key: bytes


@dataclass(frozen=True)
class EncryptionKeyChange:
    """An agency's encryption key, in force from block ``from_block`` on."""

    from_block: int
    encryption_key: bytes


@dataclass(frozen=True)
class ReadRuleRecord:
    """A read rule as the ledger holds it: what readers of ``reader_kind`` may read of the
    schema, from block ``from_block`` on (0 with an empty mask: no rule was ever set).
    ``purpose_mask`` has bit ``p`` set for :class:`~ledger_node.policy.Purpose` ``p``."""

    schema_id: bytes
    reader_kind: AgencyKind
    from_block: int
    purpose_mask: int
    consent_required: bool
    fields: str

    def allows(self, purpose: Purpose) -> bool:
        """Whether the rule allows reading for ``purpose``."""
        return bool(self.purpose_mask >> int(purpose) & 1)


@dataclass(frozen=True)
class TagKeyVersion:
    """One key version of a subject-tag domain: the key's commitment, the agency kinds that
    hold it (bit ``k`` for kind ``k``), the block it took effect."""

    domain_id: bytes
    version: int
    holder_mask: int
    from_block: int
    key_commitment: bytes

    @property
    def holders(self) -> tuple[AgencyKind, ...]:
        return tuple(k for k in AgencyKind if self.holder_mask >> int(k) & 1)


@dataclass(frozen=True)
class KeyRecord:
    """Which agency a key belonged to, from/until which block (``until_block`` 0: current)."""

    key: str
    agency_id: int
    from_block: int
    until_block: int


@dataclass(frozen=True)
class Written:
    """A write that was mined: the signed request, its signature and the transaction."""

    request: SignedRequest
    signer: str
    signature: bytes
    tx_hash: bytes
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class Prepared:
    """A signed request ready to be sent: calldata and the agency's signature."""

    request: SignedRequest
    signer: str
    signature: bytes
    calldata: bytes


class LedgerClient:
    """Reads and writes one deployed ledger."""

    def __init__(self, w3: Web3, address: str, chain_id: int | None = None) -> None:
        self.w3 = w3
        self.rpc = Rpc(w3)
        self.address = address.lower()
        self.chain_id = chain_id if chain_id is not None else self.read_chain_id()
        self.domain = Domain(self.chain_id, self.address)

    @classmethod
    def from_deployment(cls, w3: Web3, deployment: Deployment) -> LedgerClient:
        client = cls(w3, deployment.ledger)
        if client.chain_id != deployment.chain_id:
            raise ChainError(
                f"the node is on chain {client.chain_id}, the deployment file on chain "
                f"{deployment.chain_id}; point to the right node or deployment file"
            )
        return client

    def read_chain_id(self) -> int:
        return as_int(self.rpc.request("eth_chainId", []))

    def block_number(self) -> int:
        return as_int(self.rpc.request("eth_blockNumber", []))

    def sender(self, key: LocalKey) -> Sender:
        """A sender account on this ledger's chain."""
        return Sender(self.rpc, key, self.chain_id)

    def default_deadline(self) -> int:
        return int(time.time()) + DEFAULT_VALIDITY

    # -- preparing signed requests ---------------------------------------------------------

    def prepare_attest(
        self,
        agency_key: LocalKey,
        *,
        schema_id: bytes,
        commitment: bytes,
        nonce: int,
        subject: bytes = ZERO32,
        ref_uid: bytes = ZERO32,
        expiration: int = 0,
        deadline: int | None = None,
    ) -> Prepared:
        """Sign an ``attest`` request with the agency key."""
        request = AttestRequest(
            schema_id,
            commitment,
            subject,
            ref_uid,
            expiration,
            nonce,
            deadline if deadline is not None else self.default_deadline(),
        )
        return self._prepare(agency_key, request, _ATTEST, request.as_tuple())

    def prepare_anchor(
        self,
        agency_key: LocalKey,
        *,
        schema_id: bytes,
        root: bytes,
        count: int,
        deadline: int | None = None,
    ) -> Prepared:
        """Sign an ``anchorBatch`` request with the agency key."""
        request = BatchRequest(
            schema_id, root, count, deadline if deadline is not None else self.default_deadline()
        )
        return self._prepare(agency_key, request, _ANCHOR, request.as_tuple())

    def prepare_revoke(
        self,
        agency_key: LocalKey,
        *,
        uid: bytes,
        reason: bytes,
        nonce: int,
        deadline: int | None = None,
    ) -> Prepared:
        """Sign a ``revoke`` request with the agency key."""
        request = RevokeRequest(
            uid, reason, nonce, deadline if deadline is not None else self.default_deadline()
        )
        return self._prepare(agency_key, request, _REVOKE, request.as_tuple())

    def prepare_revoke_leaf(
        self,
        agency_key: LocalKey,
        *,
        root: bytes,
        schema_id: bytes,
        commitment: bytes,
        proof: Sequence[bytes],
        reason: bytes,
        nonce: int,
        deadline: int | None = None,
    ) -> Prepared:
        """Sign a ``revokeLeaf`` request for the fact ``(schema_id, commitment)`` of the batch
        ``root`` with the agency key; ``proof`` is its leaf's Merkle proof."""
        request = LeafRevokeRequest(
            root,
            schema_id,
            commitment,
            reason,
            nonce,
            deadline if deadline is not None else self.default_deadline(),
        )
        signature = agency_key.sign_digest(self.domain.digest(request.struct_hash()))
        calldata = encode_call(_REVOKE_LEAF, request.as_tuple(), list(proof), signature)
        return Prepared(request, agency_key.address, signature, calldata)

    def _prepare(
        self, agency_key: LocalKey, request: SignedRequest, fn: str, fields: tuple[Any, ...]
    ) -> Prepared:
        signature = agency_key.sign_digest(self.domain.digest(request.struct_hash()))
        calldata = _encode_static(fn, fields, signature)
        return Prepared(request, agency_key.address, signature, calldata)

    # -- writing ---------------------------------------------------------------------------

    def submit(self, sender: Sender, prepared: Prepared, timeout: float = 120.0) -> Written:
        """Preflight, send and wait for one prepared write; raise its typed error if it fails."""
        tx = sender.send(self.address, prepared.calldata)
        (receipt,) = sender.wait([tx], timeout)
        self.raise_for_status(sender, tx, receipt, prepared.calldata)
        return Written(
            prepared.request,
            prepared.signer,
            prepared.signature,
            receipt.tx_hash,
            receipt.block_number,
            receipt.gas_used,
        )

    def send_prepared(
        self, sender: Sender, prepared: Sequence[Prepared], gas: int
    ) -> list[SignedTransaction]:
        """Send many prepared writes with a fixed gas limit in one batch, without waiting."""
        return sender.send_many([(self.address, p.calldata, gas) for p in prepared])

    def raise_for_status(
        self, sender: Sender, tx: SignedTransaction, receipt: Receipt, calldata: bytes
    ) -> None:
        """Raise the typed reason a mined transaction reverted, replayed at its block."""
        if receipt.status == 1:
            return
        if receipt.gas_used >= tx.gas:
            raise TransactionFailed(
                f"transaction 0x{tx.tx_hash.hex()} ran out of gas ({tx.gas}); send it again "
                "with a higher gas limit"
            )
        call = {"from": sender.address, "to": self.address, "data": "0x" + calldata.hex()}
        try:
            self.rpc.request("eth_call", [call, hex(receipt.block_number - 1)])
        except ChainError as exc:
            raise exc from None
        raise TransactionFailed(f"transaction 0x{tx.tx_hash.hex()} reverted")

    def attest(self, agency_key: LocalKey, sender: Sender, **fields: Any) -> Written:
        """Attest one fact, with the signer's next nonce unless one is given."""
        fields.setdefault("nonce", self.nonce(agency_key.address))
        return self.submit(sender, self.prepare_attest(agency_key, **fields))

    def anchor_batch(self, agency_key: LocalKey, sender: Sender, **fields: Any) -> Written:
        """Anchor a batch root."""
        return self.submit(sender, self.prepare_anchor(agency_key, **fields))

    def revoke(self, agency_key: LocalKey, sender: Sender, **fields: Any) -> Written:
        """Revoke a single fact of the key's agency."""
        fields.setdefault("nonce", self.nonce(agency_key.address))
        return self.submit(sender, self.prepare_revoke(agency_key, **fields))

    def revoke_leaf(self, agency_key: LocalKey, sender: Sender, **fields: Any) -> Written:
        """Revoke one fact of a batch of the key's agency."""
        fields.setdefault("nonce", self.nonce(agency_key.address))
        return self.submit(sender, self.prepare_revoke_leaf(agency_key, **fields))

    # -- reading ---------------------------------------------------------------------------

    def call(
        self,
        signature: str,
        args: Sequence[Any],
        out_types: Sequence[str],
        block: int | str = "latest",
    ) -> tuple[Any, ...]:
        """``eth_call`` a view and decode its result."""
        data = encode_call(signature, *args)
        tag = hex(block) if isinstance(block, int) else block
        raw = self.rpc.request("eth_call", [{"to": self.address, "data": "0x" + data.hex()}, tag])
        result = as_bytes(raw)
        if not result:
            raise decode_revert(result)
        return tuple(decode(list(out_types), result))

    def nonce(self, signer: str) -> int:
        """The signer's next nonce for attest and revoke."""
        return int(self.call("nonces(address)", [signer], ["uint256"])[0])

    def fact(self, agency_id: int, uid: bytes, block: int | str = "latest") -> Fact | None:
        """The agency's single fact ``uid``, or None if it has none."""
        ((stored_agency, schema_index, attested, expiration, revoked),) = self.call(
            "getFact(uint32,bytes32)",
            [agency_id, uid],
            ["(uint32,uint32,uint64,uint64,uint64)"],
            block,
        )
        if attested == 0:
            return None
        return Fact(
            uid, stored_agency, self.schema_id_at(schema_index), attested, expiration, revoked
        )

    def batch(self, agency_id: int, root: bytes, block: int | str = "latest") -> Batch | None:
        """The agency's anchored batch ``root``, or None."""
        ((stored_agency, schema_index, anchored, count),) = self.call(
            "getBatch(uint32,bytes32)", [agency_id, root], ["(uint32,uint32,uint64,uint32)"], block
        )
        if anchored == 0:
            return None
        return Batch(root, stored_agency, self.schema_id_at(schema_index), anchored, count)

    def leaf_revoked_at(self, agency_id: int, root: bytes, leaf: bytes) -> int:
        """The block a leaf of the agency's batch was revoked at, 0 if it is not."""
        return int(
            self.call("leafRevokedAt(uint32,bytes32,bytes32)", [agency_id, root, leaf], ["uint64"])[
                0
            ]
        )

    def schema_id_at(self, index: int) -> bytes:
        return bytes(self.call("schemaIdAt(uint32)", [index], ["bytes32"])[0])

    def schema(self, schema_id: bytes) -> tuple[int, int, bool, str] | None:
        """``(index, kind_mask, revocable, name)`` of a schema, or None."""
        ((index, mask, revocable, name),) = self.call(
            "getSchema(bytes32)", [schema_id], ["(uint32,uint16,bool,string)"]
        )
        return None if index == 0 else (index, mask, revocable, name)

    def schema_ids(self) -> list[bytes]:
        """The id of every registered schema, in order of registration."""
        ids: list[bytes] = []
        while any(schema_id := self.schema_id_at(len(ids) + 1)):
            ids.append(schema_id)
        return ids

    def agency(self, agency_id: int) -> Agency | None:
        """The agency with this id as it stands now, or None."""
        ((kind, status, key, status_from, _previous, encryption_key, name),) = self.call(
            "getAgency(uint32)",
            [agency_id],
            ["(uint8,uint8,address,uint64,uint8,bytes32,string)"],
        )
        if kind == 0:
            return None
        return Agency(
            agency_id,
            AgencyKind(kind),
            status == 1,
            key.lower(),
            name,
            status_from,
            bytes(encryption_key),
        )

    def agencies(self) -> list[Agency]:
        """Every agency ever added, by id."""
        count = int(self.call("agencyCount()", [], ["uint32"])[0])
        return [a for i in range(1, count + 1) if (a := self.agency(i)) is not None]

    def key_record(self, key: str) -> KeyRecord | None:
        ((agency_id, from_block, until_block),) = self.call(
            "getKeyRecord(address)", [key], ["(uint32,uint64,uint64)"]
        )
        return (
            None if agency_id == 0 else KeyRecord(key.lower(), agency_id, from_block, until_block)
        )

    def status_history(self, agency_id: int) -> list[tuple[int, bool]]:
        """``(block, active)`` of every status change of an agency, oldest first."""
        (history,) = self.call("getStatusHistory(uint32)", [agency_id], ["(uint64,uint8)[]"])
        return [(int(b), s == 1) for b, s in history]

    def was_active_at(self, agency_id: int, block: int) -> bool:
        return bool(self.call("wasActiveAt(uint32,uint64)", [agency_id, block], ["bool"])[0])

    def authorized_at(self, signer: str, schema_id: bytes, block: int) -> tuple[bool, int]:
        """Whether ``signer`` could attest ``schema_id`` at ``block``, and for which agency."""
        ok, agency_id = self.call(
            "authorizedAt(address,bytes32,uint64)", [signer, schema_id, block], ["bool", "uint32"]
        )
        return bool(ok), int(agency_id)

    def threshold(self) -> int:
        return int(self.call("threshold()", [], ["uint16"])[0])

    def encryption_key_history(self, agency_id: int) -> list[EncryptionKeyChange]:
        """Every encryption key of an agency, oldest first, with the block it took effect."""
        (history,) = self.call(
            "getEncryptionKeyHistory(uint32)", [agency_id], ["(uint64,bytes32)[]"]
        )
        return [EncryptionKeyChange(int(b), bytes(k)) for b, k in history]

    def encryption_key_at(self, agency_id: int, block: int) -> bytes | None:
        """The agency's encryption public key in force at ``block``, or None."""
        (key,) = self.call("encryptionKeyAt(uint32,uint64)", [agency_id, block], ["bytes32"])
        return bytes(key) if any(key) else None

    def read_rule_at(self, schema_id: bytes, reader_kind: AgencyKind, block: int) -> ReadRuleRecord:
        """The read rule of ``schema_id`` for readers of ``reader_kind`` in force at ``block``
        (an empty rule, allowing nothing, if none was set by then)."""
        (rule,) = self.call(
            "readRuleAt(bytes32,uint8,uint64)",
            [schema_id, int(reader_kind), block],
            [_READ_RULE],
        )
        return _read_rule(schema_id, reader_kind, rule)

    def read_rule_history(self, schema_id: bytes, reader_kind: AgencyKind) -> list[ReadRuleRecord]:
        """Every read rule of ``schema_id`` for readers of ``reader_kind``, oldest first."""
        (rules,) = self.call(
            "getReadRuleHistory(bytes32,uint8)",
            [schema_id, int(reader_kind)],
            [_READ_RULE + "[]"],
        )
        return [_read_rule(schema_id, reader_kind, rule) for rule in rules]

    def tag_domains(self) -> list[bytes]:
        """The id of every subject-tag domain with a registered key, in order of registration."""
        count = int(self.call("tagDomainCount()", [], ["uint32"])[0])
        return [
            bytes(self.call("tagDomainAt(uint32)", [i], ["bytes32"])[0])
            for i in range(1, count + 1)
        ]

    def tag_key_versions(self, domain_id: bytes) -> list[TagKeyVersion]:
        """Every key version of a subject-tag domain, oldest first."""
        (versions,) = self.call(
            "getTagKeyVersions(bytes32)", [domain_id], [_TAG_KEY_VERSION + "[]"]
        )
        return [_tag_key_version(domain_id, v) for v in versions]

    def tag_key_at(self, domain_id: bytes, block: int) -> TagKeyVersion | None:
        """The key version of a subject-tag domain in force at ``block``, or None."""
        (version,) = self.call("tagKeyAt(bytes32,uint64)", [domain_id, block], [_TAG_KEY_VERSION])
        return _tag_key_version(domain_id, version) if version[0] else None

    def domain_separator(self) -> bytes:
        return bytes(self.call("domainSeparator()", [], ["bytes32"])[0])

    # -- for a writer that must tell its own writes and its chain apart ------------------------
    # (an agency gateway: which transaction anchored a root, why one reverted, which chain
    # the node is on)

    def identity(self) -> ChainIdentity:
        """What tells this chain from another, read in one round trip."""
        chain_id, genesis, code, head = self.rpc.batch(
            [
                ("eth_chainId", []),
                ("eth_getBlockByNumber", ["0x0", False]),
                ("eth_getCode", [self.address, "latest"]),
                ("eth_blockNumber", []),
            ]
        )
        for result in (chain_id, genesis, code, head):
            if isinstance(result, ChainError):
                raise result
        return ChainIdentity(
            as_int(chain_id), as_bytes(genesis["hash"]), len(as_bytes(code)), as_int(head)
        )

    def batch_write(self, root: bytes, agency_id: int, block: int) -> BatchWrite | None:
        """The ``anchorBatch`` transaction that put ``root`` on chain for ``agency_id`` in
        ``block``, decoded; None if the node has no such event (or no longer has the block's
        logs)."""
        events = EventReader(self.rpc, self.address).logs(
            block, block, [TOPICS["BatchAnchored"], "0x" + root.hex()]
        )
        found = [e for e in events if e.args["agencyId"] == agency_id]
        if not found:
            return None
        tx_hash = found[0].tx_hash
        tx = self.rpc.request("eth_getTransactionByHash", ["0x" + tx_hash.hex()])
        if tx is None:
            return None
        (schema_id, tx_root, count, deadline), signature = decode(
            _args(_ANCHOR), as_bytes(tx["input"])[4:]
        )
        return BatchWrite(
            tx_hash,
            BatchRequest(bytes(schema_id), bytes(tx_root), int(count), int(deadline)),
            bytes(signature),
            as_int(tx["nonce"]),
            as_int(tx["gas"]),
        )

    def revert_reason(self, sender: Sender, tx_hash: bytes, receipt: Receipt) -> str:
        """Why a mined transaction reverted, as the ledger's typed error replayed at its block
        (``"reverted"`` if the replay does not say)."""
        tx = self.rpc.request("eth_getTransactionByHash", ["0x" + tx_hash.hex()])
        signed = SignedTransaction(b"", tx_hash, as_int(tx["nonce"]), as_int(tx["gas"]))
        try:
            self.raise_for_status(sender, signed, receipt, as_bytes(tx["input"]))
        except ChainError as exc:
            return str(exc)
        return "reverted"


_READ_RULE = "(uint64,uint32,bool,string)"
_TAG_KEY_VERSION = "(uint32,uint16,uint64,bytes32)"


def _read_rule(schema_id: bytes, reader_kind: AgencyKind, rule: tuple[Any, ...]) -> ReadRuleRecord:
    from_block, mask, consent, fields = rule
    return ReadRuleRecord(schema_id, reader_kind, int(from_block), int(mask), bool(consent), fields)


def _tag_key_version(domain_id: bytes, version: tuple[Any, ...]) -> TagKeyVersion:
    number, holder_mask, from_block, commitment = version
    return TagKeyVersion(
        domain_id, int(number), int(holder_mask), int(from_block), bytes(commitment)
    )


@dataclass(frozen=True)
class ChainIdentity:
    """What a node says about its chain: id, genesis block, the ledger's code, head block."""

    chain_id: int
    genesis_hash: bytes
    code_size: int
    block_number: int


@dataclass(frozen=True)
class BatchWrite:
    """An ``anchorBatch`` transaction as found on chain."""

    tx_hash: bytes
    request: BatchRequest
    signature: bytes
    nonce: int
    gas: int
