"""Typed errors of the chain client.

Every custom error of the contracts has a Python class of the same name here, carrying the
error's arguments by name; a test checks that the set matches the compiled ABI. A revert is
decoded once, in :func:`decode_revert`, whichever node or provider raised it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth_abi.abi import decode

from ledger_node.errors import Error
from ledger_node.hashing import keccak256


class ChainError(Error):
    """Something went wrong talking to the chain."""


class NodeUnavailable(ChainError, ConnectionError):
    """The node cannot be reached; nothing was submitted, or the outcome is unknown."""


class RpcError(ChainError):
    """The node answered a JSON-RPC request with an error."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method}: node error {code}: {message}")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class TransactionFailed(ChainError):
    """A transaction was mined but reverted, and the reason could not be decoded."""


class InsufficientFunds(ChainError):
    """The sending account cannot pay for a transaction's gas."""

    def __init__(self, account: str) -> None:
        super().__init__(
            f"the account {account} cannot pay for the transaction; fund it (in the genesis, "
            "or on a development chain with --fund-from-node)"
        )
        self.account = account


#: How nodes say an account cannot pay: geth and anvil, then Besu.
_UNFUNDED = ("insufficient funds", "upfront cost exceeds account balance")


def unfunded(exc: ChainError, account: str) -> ChainError:
    """:class:`InsufficientFunds` for ``account`` if ``exc`` is a node refusing a transaction
    that ``account`` cannot pay for; otherwise ``exc`` itself."""
    if isinstance(exc, RpcError) and any(text in exc.message.lower() for text in _UNFUNDED):
        return InsufficientFunds(account)
    return exc


class ContractRevert(ChainError):
    """A contract call reverted with one of the contracts' custom errors."""

    #: Solidity signature, e.g. ``LedgerUnknownSigner(address)``.
    SIGNATURE: ClassVar[str] = ""
    #: Argument names in order.
    FIELDS: ClassVar[tuple[str, ...]] = ()
    #: What the error means and what to do about it.
    HINT: ClassVar[str] = ""

    def __init__(self, *values: Any) -> None:
        self.values = dict(zip(self.FIELDS, values, strict=True))
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.values.items())
        super().__init__(f"{type(self).__name__}({shown}): {self.HINT}")

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def selector(cls) -> bytes:
        return keccak256(cls.SIGNATURE.encode())[:4]


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def _error(name: str, signature: str, fields: tuple[str, ...], hint: str) -> type[ContractRevert]:
    return type(
        name,
        (ContractRevert,),
        {"SIGNATURE": signature, "FIELDS": fields, "HINT": hint, "__doc__": hint},
    )


# Governance (Consortium.sol)
ConsortiumAgencyNotActive = _error(
    "ConsortiumAgencyNotActive",
    "ConsortiumAgencyNotActive(uint32)",
    ("agencyId",),
    "the agency is not active, so it cannot be suspended",
)
ConsortiumAgencyNotSuspended = _error(
    "ConsortiumAgencyNotSuspended",
    "ConsortiumAgencyNotSuspended(uint32)",
    ("agencyId",),
    "the agency is not suspended, so it cannot be reinstated",
)
ConsortiumAlreadyApproved = _error(
    "ConsortiumAlreadyApproved",
    "ConsortiumAlreadyApproved(uint256,uint32)",
    ("proposalId", "agencyId"),
    "this agency has already approved the proposal",
)
ConsortiumEmptyName = _error(
    "ConsortiumEmptyName", "ConsortiumEmptyName()", (), "a name must not be empty"
)
ConsortiumEncryptionKeyAlreadyUsed = _error(
    "ConsortiumEncryptionKeyAlreadyUsed",
    "ConsortiumEncryptionKeyAlreadyUsed(bytes32)",
    ("encryptionKey",),
    "this encryption key is or was an agency's; encryption keys are never reused, create a "
    "new one with `taxledger keys new --encryption`",
)
ConsortiumInsufficientApprovals = _error(
    "ConsortiumInsufficientApprovals",
    "ConsortiumInsufficientApprovals(uint256,uint256,uint256)",
    ("proposalId", "approvals", "threshold"),
    "too few active agencies have approved the proposal; collect more approvals",
)
ConsortiumInvalidReadRule = _error(
    "ConsortiumInvalidReadRule",
    "ConsortiumInvalidReadRule(bytes32,uint8,uint32)",
    ("schemaId", "readerKind", "purposeMask"),
    "a read rule that allows a purpose must name its fields; one that allows none must name "
    "no fields and require no consent",
)
ConsortiumInvalidKind = _error(
    "ConsortiumInvalidKind",
    "ConsortiumInvalidKind(uint8)",
    ("kind",),
    "the agency kind must be tax-bureau, bank, market-regulator or auditor",
)
ConsortiumInvalidSchema = _error(
    "ConsortiumInvalidSchema",
    "ConsortiumInvalidSchema(bytes32,uint16)",
    ("schemaId", "kindMask"),
    "a schema needs a non-zero id and at least one valid agency kind",
)
ConsortiumInvalidTagKey = _error(
    "ConsortiumInvalidTagKey",
    "ConsortiumInvalidTagKey(bytes32,uint16,bytes32)",
    ("domain", "holderMask", "keyCommitment"),
    "a tag key needs a non-zero domain and key commitment and at least one valid holder kind",
)
ConsortiumInvalidThreshold = _error(
    "ConsortiumInvalidThreshold",
    "ConsortiumInvalidThreshold(uint256,uint256)",
    ("threshold", "activeAgencies"),
    "the threshold must be between 1 and the number of active agencies",
)
ConsortiumKeyAlreadyUsed = _error(
    "ConsortiumKeyAlreadyUsed",
    "ConsortiumKeyAlreadyUsed(address)",
    ("key",),
    "this key belongs or belonged to an agency; keys are never reused, create a new one",
)
ConsortiumNoFounders = _error(
    "ConsortiumNoFounders", "ConsortiumNoFounders()", (), "a consortium needs a founding agency"
)
ConsortiumNotGovernor = _error(
    "ConsortiumNotGovernor",
    "ConsortiumNotGovernor(address)",
    ("caller",),
    "only the current key of an active member agency may propose or approve",
)
ConsortiumProposalExecuted = _error(
    "ConsortiumProposalExecuted",
    "ConsortiumProposalExecuted(uint256)",
    ("proposalId",),
    "the proposal has been executed already",
)
ConsortiumSchemaExists = _error(
    "ConsortiumSchemaExists",
    "ConsortiumSchemaExists(bytes32)",
    ("schemaId",),
    "a schema with this id is registered already; publish a new version instead",
)
ConsortiumTagKeyReused = _error(
    "ConsortiumTagKeyReused",
    "ConsortiumTagKeyReused(bytes32,bytes32)",
    ("domain", "keyCommitment"),
    "a version of this tag domain has this key commitment already; a new version needs a new key",
)
ConsortiumUnknownAgency = _error(
    "ConsortiumUnknownAgency",
    "ConsortiumUnknownAgency(uint32)",
    ("agencyId",),
    "no agency has this id",
)
ConsortiumUnknownProposal = _error(
    "ConsortiumUnknownProposal",
    "ConsortiumUnknownProposal(uint256)",
    ("proposalId",),
    "no proposal has this id",
)
ConsortiumUnknownSchema = _error(
    "ConsortiumUnknownSchema",
    "ConsortiumUnknownSchema(bytes32)",
    ("schemaId",),
    "no schema has this id; register the schema before setting its read policy",
)
ConsortiumZeroEncryptionKey = _error(
    "ConsortiumZeroEncryptionKey",
    "ConsortiumZeroEncryptionKey()",
    (),
    "an agency's encryption key must not be zero",
)
ConsortiumZeroKey = _error(
    "ConsortiumZeroKey", "ConsortiumZeroKey()", (), "the key is the zero address"
)

# Ledger (TaxLedger.sol)
LedgerAgencySuspended = _error(
    "LedgerAgencySuspended",
    "LedgerAgencySuspended(uint32)",
    ("agencyId",),
    "the signing agency is suspended; it cannot write until reinstated",
)
LedgerAlreadyRevoked = _error(
    "LedgerAlreadyRevoked",
    "LedgerAlreadyRevoked(bytes32)",
    ("uid",),
    "the fact is revoked already",
)
LedgerDuplicateCommitment = _error(
    "LedgerDuplicateCommitment",
    "LedgerDuplicateCommitment(uint32,bytes32)",
    ("agencyId", "uid"),
    "the agency has a fact with this commitment on the ledger already",
)
LedgerDuplicateRoot = _error(
    "LedgerDuplicateRoot",
    "LedgerDuplicateRoot(uint32,bytes32)",
    ("agencyId", "root"),
    "the agency has anchored a batch with this root already",
)
LedgerEmptyBatch = _error(
    "LedgerEmptyBatch", "LedgerEmptyBatch()", (), "a batch needs at least one fact"
)
LedgerInvalidExpiration = _error(
    "LedgerInvalidExpiration",
    "LedgerInvalidExpiration(uint64)",
    ("expiration",),
    "the expiration lies in the past",
)
LedgerInvalidNonce = _error(
    "LedgerInvalidNonce",
    "LedgerInvalidNonce(address,uint256,uint256)",
    ("signer", "expected", "given"),
    "the signed nonce is not the signer's next one (replayed or out of order); sign again",
)
LedgerInvalidReference = _error(
    "LedgerInvalidReference",
    "LedgerInvalidReference(bytes32)",
    ("refUID",),
    "the superseded fact is not one of the agency's own, or of another schema",
)
LedgerInvalidSignature = _error(
    "LedgerInvalidSignature",
    "LedgerInvalidSignature()",
    (),
    "the signature is malformed (length, s value) or recovers no key",
)
LedgerKindNotAllowed = _error(
    "LedgerKindNotAllowed",
    "LedgerKindNotAllowed(uint32,bytes32)",
    ("agencyId", "schemaId"),
    "this agency's kind may not attest this schema",
)
LedgerLeafNotInBatch = _error(
    "LedgerLeafNotInBatch",
    "LedgerLeafNotInBatch(bytes32,bytes32)",
    ("root", "leaf"),
    "the Merkle proof does not show the fact's leaf in the batch: wrong commitment or proof",
)
LedgerNotRevocable = _error(
    "LedgerNotRevocable",
    "LedgerNotRevocable(bytes32)",
    ("schemaId",),
    "facts of this schema cannot be revoked",
)
LedgerSchemaMismatch = _error(
    "LedgerSchemaMismatch",
    "LedgerSchemaMismatch(bytes32,bytes32,bytes32)",
    ("root", "batchSchemaId", "schemaId"),
    "the batch holds facts of another schema than the revocation names; name the batch's schema",
)
LedgerSignatureExpired = _error(
    "LedgerSignatureExpired",
    "LedgerSignatureExpired(uint64)",
    ("deadline",),
    "the signature's deadline has passed; sign again with a later deadline",
)
LedgerUnauthorizedSigner = _error(
    "LedgerUnauthorizedSigner",
    "LedgerUnauthorizedSigner(address)",
    ("signer",),
    "this key was rotated out of its agency; sign with the agency's current key",
)
LedgerUnknownBatch = _error(
    "LedgerUnknownBatch",
    "LedgerUnknownBatch(uint32,bytes32)",
    ("agencyId", "root"),
    "the agency has anchored no batch with this root (an agency revokes only its own facts)",
)
LedgerUnknownFact = _error(
    "LedgerUnknownFact",
    "LedgerUnknownFact(uint32,bytes32)",
    ("agencyId", "uid"),
    "the agency has attested no fact with this uid (an agency revokes only its own facts)",
)
LedgerUnknownSchema = _error(
    "LedgerUnknownSchema",
    "LedgerUnknownSchema(bytes32)",
    ("schemaId",),
    "the schema is not registered on this ledger",
)
LedgerUnknownSigner = _error(
    "LedgerUnknownSigner",
    "LedgerUnknownSigner(address)",
    ("signer",),
    "the signature recovers a key that is not, and never was, a member agency's "
    "(wrong key, chain or contract)",
)
LedgerZeroHash = _error("LedgerZeroHash", "LedgerZeroHash()", (), "the commitment or root is zero")

# OpenZeppelin ShortStrings (EIP712's name and version); unreachable with the fixed domain.
InvalidShortString = _error(
    "InvalidShortString", "InvalidShortString()", (), "a short string is invalid"
)
StringTooLong = _error(
    "StringTooLong", "StringTooLong(string)", ("str",), "a short string is too long"
)

#: Every custom error class by its 4-byte selector.
REVERTS: dict[bytes, type[ContractRevert]] = {
    cls.selector(): cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, ContractRevert) and cls is not ContractRevert
}

_ERROR_STRING = keccak256(b"Error(string)")[:4]
_PANIC = keccak256(b"Panic(uint256)")[:4]


def decode_revert(data: bytes) -> ChainError:
    """The typed error for a contract's revert data."""
    selector, payload = data[:4], data[4:]
    cls = REVERTS.get(selector)
    if cls is not None:
        types = cls.SIGNATURE[cls.SIGNATURE.index("(") + 1 : -1]
        values = decode(types.split(","), payload) if types else ()
        return cls(*values)
    if selector == _ERROR_STRING:
        return TransactionFailed(f"reverted: {decode(['string'], payload)[0]}")
    if selector == _PANIC:
        return TransactionFailed(f"panicked with code {decode(['uint256'], payload)[0]:#x}")
    if not data:
        return TransactionFailed("reverted without a reason (out of gas or invalid input)")
    return TransactionFailed(f"reverted with unknown data 0x{data.hex()}")
