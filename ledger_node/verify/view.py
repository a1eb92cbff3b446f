"""What the verifier needs to know about the ledger, and where it learns it.

:class:`LedgerView` is the question list: the anchor of a root, the attestation of a uid,
their revocations, membership history and the chain head. Roots and uids are the agency's
own (two agencies may write the same value, and those are two different writes), so every
question names the agency. Two sources answer it with the same records: :class:`ChainView`
asks a node (``eth_getLogs`` filtered by the indexed topics, so it needs no index), and
:class:`ledger_node.audit.index.AuditIndex` answers from a synced SQLite index, fast enough for
bulk verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ledger_node.chain.events import LOG_RANGE_BLOCKS, TOPICS, EventReader, LedgerEvent
from ledger_node.chain.governance import governance_topics
from ledger_node.chain.ledger import LedgerClient
from ledger_node.deployment import Deployment
from ledger_node.errors import ConfigurationError
from ledger_node.verify.membership import MembershipHistory, Position


@dataclass(frozen=True, slots=True)
class Anchor:
    """A ``BatchAnchored`` event: a Merkle root on the ledger."""

    root: bytes
    schema_id: bytes
    agency_id: int
    signer: str
    count: int
    block_number: int
    log_index: int
    tx_hash: bytes

    @property
    def position(self) -> Position:
        return (self.block_number, self.log_index)

    @classmethod
    def from_event(cls, event: LedgerEvent) -> Anchor:
        a = event.args
        return cls(
            a["root"],
            a["schemaId"],
            int(a["agencyId"]),
            a["signer"],
            int(a["count"]),
            event.block_number,
            event.log_index,
            event.tx_hash,
        )


@dataclass(frozen=True, slots=True)
class Attestation:
    """An ``Attested`` event: one single fact on the ledger."""

    uid: bytes
    schema_id: bytes
    subject: bytes
    agency_id: int
    signer: str
    ref_uid: bytes
    expiration: int
    block_number: int
    log_index: int
    tx_hash: bytes

    @property
    def position(self) -> Position:
        return (self.block_number, self.log_index)

    @classmethod
    def from_event(cls, event: LedgerEvent) -> Attestation:
        a = event.args
        return cls(
            a["uid"],
            a["schemaId"],
            a["subject"],
            int(a["agencyId"]),
            a["signer"],
            a["refUID"],
            int(a["expiration"]),
            event.block_number,
            event.log_index,
            event.tx_hash,
        )


@dataclass(frozen=True, slots=True)
class Revocation:
    """A ``Revoked`` (``leaf`` None) or ``LeafRevoked`` event. ``target`` is the fact's uid
    or the batch's root."""

    target: bytes
    leaf: bytes | None
    agency_id: int
    signer: str
    reason: bytes
    block_number: int
    log_index: int
    tx_hash: bytes

    @property
    def position(self) -> Position:
        return (self.block_number, self.log_index)

    @classmethod
    def from_event(cls, event: LedgerEvent) -> Revocation:
        a = event.args
        leaf = a["leaf"] if event.name == "LeafRevoked" else None
        target = a["root"] if event.name == "LeafRevoked" else a["uid"]
        return cls(
            target,
            leaf,
            int(a["agencyId"]),
            a["signer"],
            a["reason"],
            event.block_number,
            event.log_index,
            event.tx_hash,
        )


class LedgerView(Protocol):
    """The ledger as the verifier sees it: one chain id, one contract."""

    chain_id: int
    ledger: str

    def anchor(self, agency_id: int, root: bytes) -> Anchor | None:
        """The agency's anchor of ``root``, or None if it never anchored it."""

    def attestation(self, agency_id: int, uid: bytes) -> Attestation | None:
        """The agency's single fact ``uid``, or None."""

    def revocations(self, agency_id: int, target: bytes) -> dict[bytes | None, Revocation]:
        """The agency's revocations of its fact ``target`` (key None) or of leaves of its
        batch ``target`` (keyed by leaf)."""

    def membership(self, at: Position) -> MembershipHistory:
        """Membership history covering at least up to ``at``."""

    def head(self) -> int:
        """The chain head the confirmations are counted from."""

    def where(self) -> str:
        """What this view reads (for messages: a node URL, an index file)."""


class ChainView:
    """A :class:`LedgerView` over a live node, through the ledger client."""

    def __init__(
        self,
        client: LedgerClient,
        deployment: Deployment,
        *,
        source: str = "",
        page_size: int = LOG_RANGE_BLOCKS,
    ) -> None:
        if client.address != deployment.ledger or client.chain_id != deployment.chain_id:
            raise ConfigurationError(
                f"the client reads ledger {client.address} on chain {client.chain_id}, the "
                f"deployment file names {deployment.ledger} on chain {deployment.chain_id}"
            )
        self.client = client
        self.chain_id = deployment.chain_id
        self.ledger = deployment.ledger
        self.deployment_block = deployment.deployment_block
        # Nodes cap the block range of one eth_getLogs (LOG_RANGE_BLOCKS), so every question
        # pages through the chain from the deployment block.
        self._reader = EventReader(client.rpc, deployment.ledger, page_size=page_size)
        self._membership = MembershipHistory()
        self._membership_block = deployment.deployment_block - 1
        self._head: int | None = None
        self._source = source or "the node"

    def _events(self, *topics: Any, first: bool = False) -> list[LedgerEvent]:
        """The events matching ``topics`` up to the head, page by page; with ``first``, stop
        at the first page that has any (a root or a fact uid is written once)."""
        found: list[LedgerEvent] = []
        for start, end in self._reader.pages(self.deployment_block, self.head()):
            found += self._reader.logs(start, end, list(topics))
            if first and found:
                break
        return found

    def anchor(self, agency_id: int, root: bytes) -> Anchor | None:
        # BatchAnchored(root, schemaId, agencyId): the agency is the third indexed argument.
        events = self._events(
            _hex(TOPICS["BatchAnchored"]), _hex(root), None, _agency_topic(agency_id), first=True
        )
        return Anchor.from_event(events[0]) if events else None

    def attestation(self, agency_id: int, uid: bytes) -> Attestation | None:
        # Attested(uid, agencyId, subject).
        events = self._events(
            _hex(TOPICS["Attested"]), _hex(uid), _agency_topic(agency_id), first=True
        )
        return Attestation.from_event(events[0]) if events else None

    def revocations(self, agency_id: int, target: bytes) -> dict[bytes | None, Revocation]:
        # A uid and a root never collide (one is a commitment, the other a Merkle node), so
        # one question per target covers both kinds. The agency is a different indexed
        # argument of each event, so it is matched here rather than by the node.
        topics = [_hex(TOPICS["Revoked"]), _hex(TOPICS["LeafRevoked"])]
        found = [Revocation.from_event(e) for e in self._events(topics, _hex(target))]
        return {r.leaf: r for r in found if r.agency_id == agency_id}

    def membership(self, at: Position) -> MembershipHistory:
        head = self.head()
        if self._membership_block < min(at[0], head):
            topics = [_hex(t) for t in governance_topics()]
            start = self._membership_block + 1
            for page_start, page_end in self._reader.pages(start, head):
                for event in self._reader.logs(page_start, page_end, [topics]):
                    self._membership.apply(event)
            self._membership_block = head
        return self._membership

    def head(self) -> int:
        if self._head is None:
            self._head = self.client.block_number()
        return self._head

    def refresh(self) -> None:
        """Read the chain head again on the next question (new blocks may have come)."""
        self._head = None

    def where(self) -> str:
        return self._source


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _agency_topic(agency_id: int) -> str:
    """An agency id as an indexed event argument (a 32-byte word)."""
    return _hex(agency_id.to_bytes(32, "big"))
