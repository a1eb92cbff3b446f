"""Consortium governance from Python: propose, approve and execute membership changes.

Every call is a transaction from an agency's current key; the contract counts approvals of
active agencies and applies a proposal only once the threshold is met.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ledger_node.agencies import AgencyKind, kind_mask
from ledger_node.chain.events import TOPICS, LedgerEvent, decode_log
from ledger_node.chain.ledger import LedgerClient, encode_call
from ledger_node.chain.transactions import Receipt, Sender

_ACTION = "(uint8,uint32,uint8,address,string,bytes32,uint16,bool,uint16)"
_ZERO_ADDRESS = "0x" + "00" * 20


class ActionType(IntEnum):
    """The contract's ``ActionType``."""

    ADD_AGENCY = 0
    SUSPEND_AGENCY = 1
    REINSTATE_AGENCY = 2
    ROTATE_KEY = 3
    REGISTER_SCHEMA = 4
    SET_THRESHOLD = 5


@dataclass(frozen=True)
class Action:
    """A governance action; build one with the class methods."""

    action_type: ActionType
    agency_id: int = 0
    kind: int = 0
    key: str = _ZERO_ADDRESS
    name: str = ""
    schema_id: bytes = bytes(32)
    kind_mask: int = 0
    revocable: bool = False
    threshold: int = 0

    @classmethod
    def add_agency(cls, kind: AgencyKind, key: str, name: str) -> Action:
        return cls(ActionType.ADD_AGENCY, kind=int(kind), key=key, name=name)

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
        tx = sender.send(self.client.address, data)
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
        t, agency_id, kind, key, name, schema_id, mask, revocable, threshold = action_fields
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
        "ProposalCreated",
        "ProposalApproved",
        "ProposalExecuted",
    )
    return [TOPICS[n] for n in names]
