"""EIP-712 payloads of the ledger's writes, their digests, signatures and recovery.

The type strings are the contract's (``TaxLedger.sol``); a test checks that the on-chain
typehashes equal the keccak of these strings. Signing and recovery use libsecp256k1 through
coincurve directly: the same curve operations as eth-account, without its per-call overhead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from coincurve import PrivateKey, PublicKey

from ledger_node.errors import LedgerValueError
from ledger_node.hashing import keccak256

_DOMAIN_TYPE = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
_NAME_HASH = keccak256(b"TaxLedger")
_VERSION_HASH = keccak256(b"1")
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class SignatureError(LedgerValueError):
    """A signature is malformed or recovers no key."""


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address.removeprefix("0x"))


def _bytes32(value: bytes, field: str) -> bytes:
    if len(value) != 32:
        raise LedgerValueError(f"{field} must be 32 bytes, got {len(value)}")
    return value


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one ledger contract on one chain."""

    chain_id: int
    verifying_contract: str

    @property
    def separator(self) -> bytes:
        return keccak256(
            keccak256(_DOMAIN_TYPE)
            + _NAME_HASH
            + _VERSION_HASH
            + _word(self.chain_id)
            + _address_word(self.verifying_contract)
        )

    def digest(self, struct_hash: bytes) -> bytes:
        """The digest a key signs: ``keccak256(0x1901 || separator || struct_hash)``."""
        return keccak256(b"\x19\x01" + self.separator + struct_hash)


@dataclass(frozen=True)
class AttestRequest:
    """One fact, as signed for ``attest``."""

    TYPE: ClassVar[bytes] = (
        b"Attest(bytes32 schemaId,bytes32 commitment,bytes32 subject,bytes32 refUID,"
        b"uint64 expiration,uint256 nonce,uint64 deadline)"
    )

    schema_id: bytes
    commitment: bytes
    subject: bytes
    ref_uid: bytes
    expiration: int
    nonce: int
    deadline: int

    def __post_init__(self) -> None:
        for name in ("schema_id", "commitment", "subject", "ref_uid"):
            _bytes32(getattr(self, name), name)

    def struct_hash(self) -> bytes:
        return keccak256(
            keccak256(self.TYPE)
            + self.schema_id
            + self.commitment
            + self.subject
            + self.ref_uid
            + _word(self.expiration)
            + _word(self.nonce)
            + _word(self.deadline)
        )

    def as_tuple(self) -> tuple[bytes, bytes, bytes, bytes, int, int, int]:
        return (
            self.schema_id,
            self.commitment,
            self.subject,
            self.ref_uid,
            self.expiration,
            self.nonce,
            self.deadline,
        )


@dataclass(frozen=True)
class BatchRequest:
    """A Merkle root over a batch of facts, as signed for ``anchorBatch``."""

    TYPE: ClassVar[bytes] = (
        b"AnchorBatch(bytes32 schemaId,bytes32 root,uint32 count,uint64 deadline)"
    )

    schema_id: bytes
    root: bytes
    count: int
    deadline: int

    def __post_init__(self) -> None:
        _bytes32(self.schema_id, "schema_id")
        _bytes32(self.root, "root")

    def struct_hash(self) -> bytes:
        return keccak256(
            keccak256(self.TYPE)
            + self.schema_id
            + self.root
            + _word(self.count)
            + _word(self.deadline)
        )

    def as_tuple(self) -> tuple[bytes, bytes, int, int]:
        return (self.schema_id, self.root, self.count, self.deadline)


@dataclass(frozen=True)
class RevokeRequest:
    """Revocation of a single fact, as signed for ``revoke``."""

    TYPE: ClassVar[bytes] = b"Revoke(bytes32 uid,bytes32 reason,uint256 nonce,uint64 deadline)"

    uid: bytes
    reason: bytes
    nonce: int
    deadline: int

    def __post_init__(self) -> None:
        _bytes32(self.uid, "uid")
        _bytes32(self.reason, "reason")

    def struct_hash(self) -> bytes:
        return keccak256(
            keccak256(self.TYPE) + self.uid + self.reason + _word(self.nonce) + _word(self.deadline)
        )

    def as_tuple(self) -> tuple[bytes, bytes, int, int]:
        return (self.uid, self.reason, self.nonce, self.deadline)


@dataclass(frozen=True)
class LeafRevokeRequest:
    """Revocation of one fact of a batch, named by its values, as signed for ``revokeLeaf``.

    The ledger computes the fact's leaf from ``schema_id`` and ``commitment`` itself, so no
    inner node of the tree can be revoked in place of a leaf.
    """

    TYPE: ClassVar[bytes] = (
        b"RevokeLeaf(bytes32 root,bytes32 schemaId,bytes32 commitment,bytes32 reason,"
        b"uint256 nonce,uint64 deadline)"
    )

    root: bytes
    schema_id: bytes
    commitment: bytes
    reason: bytes
    nonce: int
    deadline: int

    def __post_init__(self) -> None:
        for name in ("root", "schema_id", "commitment", "reason"):
            _bytes32(getattr(self, name), name)

    def struct_hash(self) -> bytes:
        return keccak256(
            keccak256(self.TYPE)
            + self.root
            + self.schema_id
            + self.commitment
            + self.reason
            + _word(self.nonce)
            + _word(self.deadline)
        )

    def as_tuple(self) -> tuple[bytes, bytes, bytes, bytes, int, int]:
        return (self.root, self.schema_id, self.commitment, self.reason, self.nonce, self.deadline)


@dataclass(frozen=True)
class ExchangeRequest:
    """One agency's request to another for the facts about a subject, as its gateway signs
    it (the provider's gateway recovers the requester's key from the signature).

    ``subject`` is the subject's pseudonymous tag, so the identifier itself never travels;
    ``schema_ids`` are encoded as EIP-712 ``bytes32[]`` (the keccak of their concatenation);
    ``consent`` is the commitment of the ``consent.granted`` fact cited (zero: none);
    ``nonce`` is random and makes a retry of the same request idempotent; ``after`` is
    where the answer starts: 0 for the first page, else the ``next`` cursor of the page
    before (an answer holds a bounded number of facts).
    """

    TYPE: ClassVar[bytes] = (
        b"ExchangeRequest(uint32 requester,uint32 provider,bytes32 subject,bytes32[] schemas,"
        b"uint8 purpose,bytes32 consent,bytes32 nonce,uint64 deadline,uint64 after)"
    )

    requester: int
    provider: int
    subject: bytes
    schema_ids: tuple[bytes, ...]
    purpose: int
    consent: bytes
    nonce: bytes
    deadline: int
    after: int = 0

    def __post_init__(self) -> None:
        for name in ("subject", "consent", "nonce"):
            _bytes32(getattr(self, name), name)
        for index, schema_id in enumerate(self.schema_ids):
            _bytes32(schema_id, f"schema_ids[{index}]")
        for name, bits in (
            ("requester", 32),
            ("provider", 32),
            ("purpose", 8),
            ("deadline", 64),
            ("after", 64),
        ):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value < 1 << bits:
                raise LedgerValueError(f"{name} must be a uint{bits}, got {value!r}")

    def struct_hash(self) -> bytes:
        return keccak256(
            keccak256(self.TYPE)
            + _word(self.requester)
            + _word(self.provider)
            + self.subject
            + keccak256(b"".join(self.schema_ids))
            + _word(self.purpose)
            + self.consent
            + self.nonce
            + _word(self.deadline)
            + _word(self.after)
        )


SignedRequest = AttestRequest | BatchRequest | RevokeRequest | LeafRevokeRequest
#: Everything an agency key signs: the ledger's writes and the exchange's requests.
Signable = SignedRequest | ExchangeRequest


def address_of_public_key(public_key: PublicKey) -> str:
    """The checksum-free, lowercase ``0x`` address of a public key."""
    return "0x" + keccak256(public_key.format(compressed=False)[1:])[12:].hex()


def sign_digest(private_key: PrivateKey, digest: bytes) -> bytes:
    """A 65-byte ``r || s || v`` signature (v = 27 or 28, low s) of a 32-byte digest."""
    raw = private_key.sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([raw[64] + 27])


def recover_digest(digest: bytes, signature: bytes) -> str:
    """The address whose key made ``signature`` over ``digest``, as the contract recovers it.

    Rejects what OpenZeppelin's ``ECDSA.tryRecover`` rejects: a length other than 65, a high
    ``s`` (malleable) or a ``v`` other than 27/28.
    """
    if len(signature) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(signature)}")
    s = int.from_bytes(signature[32:64], "big")
    if s > _SECP256K1_N // 2:
        raise SignatureError("signature has a high s value (malleable); it would be rejected")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v must be 27 or 28, got {v}")
    try:
        public_key = PublicKey.from_signature_and_message(
            signature[:64] + bytes([v - 27]), digest, hasher=None
        )
    except Exception as exc:
        raise SignatureError(f"signature recovers no key: {exc}") from None
    return address_of_public_key(public_key)


def sign_request(private_key: PrivateKey, domain: Domain, request: Signable) -> bytes:
    """Sign a ledger request under ``domain``."""
    return sign_digest(private_key, domain.digest(request.struct_hash()))


def recover_request(domain: Domain, request: Signable, signature: bytes) -> str:
    """The lowercase address that signed ``request`` under ``domain``."""
    return recover_digest(domain.digest(request.struct_hash()), signature)
