"""Consortium governance from Python: propose, approve and execute changes of membership,
keys, schemas, threshold, read policy and tag keys.

Every call is a transaction from an agency's current key; the contract counts approvals of
active agencies and applies a proposal only once the threshold is met.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ledger_node.agencies import AgencyKind, kind_mask
from ledger_node.chain.errors import RpcError, unfunded
from ledger_node.chain.events import TOPICS, LedgerEvent, decode_log
from ledger_node.chain.ledger import LedgerClient, encode_call
from ledger_node.chain.transactions import Receipt, Sender
from ledger_node.fieldtree import parse_field_paths
from ledger_node.policy import ALL_FIELDS, ReadRule

_ACTION = (
    "(uint8,uint32,uint8,address,string,bytes32,uint16,bool,uint16,"
    "bytes32,uint32,bool,string,bytes32,bytes32)"
)
_ZERO_ADDRESS = "0x" + "00" * 20
_ZERO32 = bytes(32)


class ActionType(IntEnum):
    """The contract's ``ActionType``."""

    ADD_AGENCY = 0
    SUSPEND_AGENCY = 1
    REINSTATE_AGENCY = 2
    ROTATE_KEY = 3
    REGISTER_SCHEMA = 4
    SET_THRESHOLD = 5
    SET_ENCRYPTION_KEY = 6
    SET_READ_POLICY = 7
    REGISTER_TAG_KEY = 8


@dataclass(frozen=True)
class Action:
    """A governance action; build one with the class methods. Field meanings follow the
    contract's ``Action``: ``kind`` is the reader's kind for a read policy, ``kind_mask`` the
    holders of a tag key."""

    action_type: ActionType
    agency_id: int = 0
    kind: int = 0
    key: str = _ZERO_ADDRESS
    name: str = ""
    schema_id: bytes = _ZERO32
    kind_mask: int = 0
    revocable: bool = False
    threshold: int = 0
    encryption_key: bytes = _ZERO32
    purpose_mask: int = 0
    consent_required: bool = False
    fields: str = ""
    tag_domain: bytes = _ZERO32
    key_commitment: bytes = _ZERO32

    @classmethod
    def add_agency(cls, kind: AgencyKind, key: str, name: str, encryption_key: bytes) -> Action:
        """Add an agency with its signing key and its encryption public key."""
        return cls(
            ActionType.ADD_AGENCY,
            kind=int(kind),
            key=key,
            name=name,
            encryption_key=encryption_key,
        )

    @classmethod
    def suspend(cls, agency_id: int) -> Action:
        return cls(ActionType.SUSPEND_AGENCY, agency_id=agency_id)

    @classmethod
    def reinstate(cls, agency_id: int) -> Action:
        return cls(ActionType.REINSTATE_AGENCY, agency_id=agency_id)

    @classmethod
    def rotate_key(cls, agency_id: int, new_key: str) -> Action:
        return cls(ActionType.ROTATE_KEY, agency_id=agency_id, key=new_key)

    @classmethod
    def register_schema(
        cls, schema_id: bytes, kinds: tuple[AgencyKind, ...], revocable: bool, name: str
    ) -> Action:
        return cls(
            ActionType.REGISTER_SCHEMA,
            schema_id=schema_id,
            kind_mask=kind_mask(kinds),
            revocable=revocable,
            name=name,
        )

    @classmethod
    def set_threshold(cls, threshold: int) -> Action:
        return cls(ActionType.SET_THRESHOLD, threshold=threshold)

    @classmethod
    def set_encryption_key(cls, agency_id: int, encryption_key: bytes) -> Action:
        """Rotate an agency's encryption key."""
        return cls(
            ActionType.SET_ENCRYPTION_KEY, agency_id=agency_id, encryption_key=encryption_key
        )

    @classmethod
    def set_read_policy(cls, schema_id: bytes, reader_kind: AgencyKind, rule: ReadRule) -> Action:
        """Set what readers of ``reader_kind`` may read of the schema (:data:`NO_ACCESS`
        withdraws every purpose). Field paths that do not parse are refused here, before
        anything is proposed: on chain such a rule would disclose nothing."""
        if rule.purposes and rule.fields.strip() != ALL_FIELDS:
            parse_field_paths(rule.fields)
        return cls(
            ActionType.SET_READ_POLICY,
            schema_id=schema_id,
            kind=int(reader_kind),
            purpose_mask=rule.purpose_mask,
            consent_required=rule.consent_required,
            fields=rule.fields,
        )

    @classmethod
    def register_tag_key(
        cls, domain_id: bytes, holders: tuple[AgencyKind, ...], key_commitment: bytes
    ) -> Action:
        """Register the next key version of a subject-tag domain."""
        return cls(
            ActionType.REGISTER_TAG_KEY,
            tag_domain=domain_id,
            kind_mask=kind_mask(holders),
            key_commitment=key_commitment,
        )

    def as_tuple(self) -> tuple[object, ...]:
        return (
            int(self.action_type),
            self.agency_id,
            self.kind,
            self.key,
            self.name,
            self.schema_id,
            self.kind_mask,
            self.revocable,
            self.threshold,
            self.encryption_key,
            self.purpose_mask,
            self.consent_required,
            self.fields,
            self.tag_domain,
            self.key_commitment,
        )


@dataclass(frozen=True)
class Proposal:
    """A proposal as stored on chain."""

    proposal_id: int
    action: Action
    proposer: int
    created_block: int
    executed: bool
    approvers: tuple[int, ...]


class Governance:
    """Proposals on one ledger."""

    def __init__(self, client: LedgerClient) -> None:
        self.client = client

    def _send(self, sender: Sender, data: bytes) -> Receipt:
        try:
            tx = sender.send(self.client.address, data)
        except RpcError as exc:
            raise unfunded(exc, sender.address) from None
        (receipt,) = sender.wait([tx])
        self.client.raise_for_status(sender, tx, receipt, data)
        return receipt

    def propose(self, sender: Sender, action: Action) -> int:
        """Propose ``action`` as the agency whose current key is ``sender``; return its id."""
        receipt = self._send(sender, encode_call(f"propose({_ACTION})", action.as_tuple()))
        for log in receipt.logs:
            event = decode_log(log)
            if event is not None and event.name == "ProposalCreated":
                return int(event.args["proposalId"])
        raise AssertionError("propose() mined without a ProposalCreated event")

    def approve(self, sender: Sender, proposal_id: int) -> None:
        """Approve a proposal as the agency whose current key is ``sender``."""
        self._send(sender, encode_call("approve(uint256)", proposal_id))

    def execute(self, sender: Sender, proposal_id: int) -> list[LedgerEvent]:
        """Execute an approved proposal; return the events it emitted."""
        receipt = self._send(sender, encode_call("execute(uint256)", proposal_id))
        return [e for log in receipt.logs if (e := decode_log(log)) is not None]

    def proposal_count(self) -> int:
        return int(self.client.call("proposalCount()", [], ["uint256"])[0])

    def proposal(self, proposal_id: int) -> Proposal:
        """A proposal by id."""
        (doc,) = self.client.call(
            "getProposal(uint256)", [proposal_id], [f"({_ACTION},uint32,uint64,bool,uint32[])"]
        )
        action_fields, proposer, created, executed, approvers = doc
        t, agency_id, kind, key, name, schema_id, mask, revocable, threshold, *registry = (
            action_fields
        )
        encryption_key, purposes, consent, fields, domain, commitment = registry
        action = Action(
            ActionType(t),
            agency_id,
            kind,
            key.lower(),
            name,
            bytes(schema_id),
            mask,
            revocable,
            threshold,
            bytes(encryption_key),
            purposes,
            consent,
            fields,
            bytes(domain),
            bytes(commitment),
        )
        return Proposal(proposal_id, action, proposer, created, executed, tuple(approvers))


def governance_topics() -> list[bytes]:
    """topic0 of every membership and governance event, for history queries."""
    names = (
        "AgencyAdded",
        "AgencySuspended",
        "AgencyReinstated",
        "AgencyKeyRotated",
        "SchemaRegistered",
        "ThresholdChanged",
        "EncryptionKeySet",
        "ReadPolicySet",
        "TagKeyRegistered",
        "ProposalCreated",
        "ProposalApproved",
        "ProposalExecuted",
    )
    return [TOPICS[n] for n in names]
