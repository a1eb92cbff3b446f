"""The ledger client: signed writes (attest, anchor, revoke) and reads (facts, batches,
revocations, membership history) of one deployed TaxLedger.

Writes are two signatures: the agency key signs the EIP-712 request (provenance), and a sender
account signs the transaction (gas). They may be the same key or a relayer.
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

ZERO32 = bytes(32)
#: How long a signature stays valid by default, in seconds.
DEFAULT_VALIDITY = 3600


def _selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


_ATTEST = "attest((bytes32,bytes32,bytes32,bytes32,uint64,uint256,uint64),bytes)"
_ANCHOR = "anchorBatch((bytes32,bytes32,uint32,uint64),bytes)"
_REVOKE = "revoke((bytes32,bytes32,uint256,uint64),bytes)"
_REVOKE_LEAF = "revokeLeaf((bytes32,bytes32,bytes32,uint256,uint64),bytes32[],bytes)"
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
    change takes effect from the block after the one that made it).
    """

    agency_id: int
    kind: AgencyKind
    active: bool
    key: str
    name: str
    status_from: int


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
        leaf: bytes,
        proof: Sequence[bytes],
        reason: bytes,
        nonce: int,
        deadline: int | None = None,
    ) -> Prepared:
        """Sign a ``revokeLeaf`` request with the agency key."""
        request = LeafRevokeRequest(
            root, leaf, reason, nonce, deadline if deadline is not None else self.default_deadline()
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
        """Revoke a single fact."""
        fields.setdefault("nonce", self.nonce(agency_key.address))
        return self.submit(sender, self.prepare_revoke(agency_key, **fields))

    def revoke_leaf(self, agency_key: LocalKey, sender: Sender, **fields: Any) -> Written:
        """Revoke one leaf of a batch."""
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

    def fact(self, uid: bytes, block: int | str = "latest") -> Fact | None:
        """A single fact, or None if the ledger has none with this uid."""
        ((agency_id, schema_index, attested, expiration, revoked),) = self.call(
            "getFact(bytes32)", [uid], ["(uint32,uint32,uint64,uint64,uint64)"], block
        )
        if attested == 0:
            return None
        return Fact(uid, agency_id, self.schema_id_at(schema_index), attested, expiration, revoked)

    def batch(self, root: bytes, block: int | str = "latest") -> Batch | None:
        """An anchored batch, or None."""
        ((agency_id, schema_index, anchored, count),) = self.call(
            "getBatch(bytes32)", [root], ["(uint32,uint32,uint64,uint32)"], block
        )
        if anchored == 0:
            return None
        return Batch(root, agency_id, self.schema_id_at(schema_index), anchored, count)

    def leaf_revoked_at(self, root: bytes, leaf: bytes) -> int:
        """The block a leaf was revoked at, 0 if it is not."""
        return int(self.call("leafRevokedAt(bytes32,bytes32)", [root, leaf], ["uint64"])[0])

    def schema_id_at(self, index: int) -> bytes:
        return bytes(self.call("schemaIdAt(uint32)", [index], ["bytes32"])[0])

    def schema(self, schema_id: bytes) -> tuple[int, int, bool, str] | None:
        """``(index, kind_mask, revocable, name)`` of a schema, or None."""
        ((index, mask, revocable, name),) = self.call(
            "getSchema(bytes32)", [schema_id], ["(uint32,uint16,bool,string)"]
        )
        return None if index == 0 else (index, mask, revocable, name)

    def agency(self, agency_id: int) -> Agency | None:
        ((kind, status, key, status_from, _previous, name),) = self.call(
            "getAgency(uint32)", [agency_id], ["(uint8,uint8,address,uint64,uint8,string)"]
        )
        if kind == 0:
            return None
        return Agency(agency_id, AgencyKind(kind), status == 1, key.lower(), name, status_from)

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

    def domain_separator(self) -> bytes:
        return bytes(self.call("domainSeparator()", [], ["bytes32"])[0])
