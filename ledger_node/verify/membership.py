"""Consortium membership recomputed from the ledger's governance events, not read from the
contract's views.

The verifier and the auditor decide whether a signer was authorised *at the moment of a write*
from this history alone, so a bug in the contract's own bookkeeping (or a forged index row) is
caught instead of trusted. Moments are ``(block, log_index)`` positions: a key rotated or an
agency suspended later in the same block as a write did not yet affect that write, exactly as
the contract saw it when it executed the transactions in order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger_node.agencies import AgencyKind
from ledger_node.chain.events import LedgerEvent
from ledger_node.records.schemas import SCHEMAS_BY_ID
from ledger_node.verify.errors import VerificationFailure

#: A point in the chain's history: ``(block_number, log_index)``.
Position = tuple[int, int]

#: The events that change membership, keys, schemas or the threshold, or the exchange
#: registry (encryption keys, read policy, tag keys): each needs an executed proposal.
MEMBERSHIP_EVENTS = frozenset(
    {
        "AgencyAdded",
        "AgencySuspended",
        "AgencyReinstated",
        "AgencyKeyRotated",
        "SchemaRegistered",
        "ThresholdChanged",
        "EncryptionKeySet",
        "ReadPolicySet",
        "TagKeyRegistered",
    }
)
#: The events of the proposal life cycle.
PROPOSAL_EVENTS = frozenset({"ProposalCreated", "ProposalApproved", "ProposalExecuted"})
GOVERNANCE_EVENTS = MEMBERSHIP_EVENTS | PROPOSAL_EVENTS


def position(event: LedgerEvent) -> Position:
    """Where ``event`` happened."""
    return (event.block_number, event.log_index)


@dataclass(frozen=True)
class KeySpan:
    """One agency key's life: from the event that made it current until the one that
    rotated it out (None while current)."""

    key: str
    agency_id: int
    since: Position
    until: Position | None

    def current_at(self, at: Position) -> bool:
        return self.since <= at and (self.until is None or at < self.until)


@dataclass
class AgencyHistory:
    """One agency: kind, name and every status change (``True`` = active), oldest first."""

    agency_id: int
    kind: AgencyKind
    name: str
    changes: list[tuple[Position, bool]] = field(default_factory=list)

    def active_at(self, at: Position) -> bool:
        """Whether the agency was active at ``at`` (False before it was added)."""
        i = bisect_right(self.changes, at, key=lambda change: change[0])
        return i > 0 and self.changes[i - 1][1]

    @property
    def label(self) -> str:
        kind = "" if self.name == self.kind.label else f", {self.kind.label}"
        return f"{self.name} (agency {self.agency_id}{kind})"


@dataclass(frozen=True)
class SchemaRegistration:
    """A schema as registered on the ledger."""

    schema_id: bytes
    kind_mask: int
    revocable: bool
    name: str
    since: Position


class MembershipHistory:
    """Agencies, keys, schemas and threshold over time, from governance events in chain order."""

    def __init__(self, events: Iterable[LedgerEvent] = ()) -> None:
        self.agencies: dict[int, AgencyHistory] = {}
        self.keys: dict[str, KeySpan] = {}
        self.schemas: dict[bytes, SchemaRegistration] = {}
        self.thresholds: list[tuple[Position, int]] = []
        #: Position of the newest event applied; later events may be added with :meth:`apply`.
        self.last: Position = (-1, -1)
        for event in events:
            self.apply(event)

    def apply(self, event: LedgerEvent) -> None:
        """Apply one governance event; events must come in chain order."""
        at = position(event)
        if at <= self.last:
            raise ValueError(f"governance event at {at} applied out of order (after {self.last})")
        self.last = at
        args = event.args
        if event.name == "AgencyAdded":
            agency_id = int(args["agencyId"])
            self.agencies[agency_id] = AgencyHistory(
                agency_id, AgencyKind(int(args["kind"])), str(args["name"]), [(at, True)]
            )
            self.keys[str(args["key"])] = KeySpan(str(args["key"]), agency_id, at, None)
        elif event.name in ("AgencySuspended", "AgencyReinstated"):
            agency = self.agencies.get(int(args["agencyId"]))
            if agency is not None:
                agency.changes.append((at, event.name == "AgencyReinstated"))
        elif event.name == "AgencyKeyRotated":
            old, new = str(args["oldKey"]), str(args["newKey"])
            if old in self.keys:
                span = self.keys[old]
                self.keys[old] = KeySpan(old, span.agency_id, span.since, at)
            self.keys[new] = KeySpan(new, int(args["agencyId"]), at, None)
        elif event.name == "SchemaRegistered":
            schema_id = bytes(args["schemaId"])
            self.schemas[schema_id] = SchemaRegistration(
                schema_id, int(args["kindMask"]), bool(args["revocable"]), str(args["name"]), at
            )
        elif event.name == "ThresholdChanged":
            self.thresholds.append((at, int(args["newThreshold"])))

    def agency_label(self, agency_id: int) -> str:
        agency = self.agencies.get(agency_id)
        return agency.label if agency is not None else f"agency {agency_id} (unknown)"

    def threshold_at(self, at: Position) -> int:
        """The governance threshold in force at ``at`` (0 before founding)."""
        i = bisect_right(self.thresholds, at, key=lambda item: item[0])
        return self.thresholds[i - 1][1] if i else 0

    def active_agencies_at(self, at: Position) -> set[int]:
        return {a.agency_id for a in self.agencies.values() if a.active_at(at)}

    def authorise(self, signer: str, agency_id: int, schema_id: bytes | None, at: Position) -> None:
        """Raise :class:`VerificationFailure` unless ``signer`` was the current key of
        ``agency_id`` at ``at`` (check 6) and that agency was active (check 7).

        With a ``schema_id`` (a write), the agency's kind must also be allowed to attest it by
        the records library's schema and by the schema as registered on the ledger. Without
        one (a revocation) the kind is not checked: it was when the fact was written.
        """
        self._check_key(signer, agency_id, at)
        agency = self.agencies.get(agency_id)
        if agency is None:
            raise VerificationFailure(
                7, "unknown_agency", f"agency {agency_id} was never added to the consortium"
            )
        if not agency.active_at(at):
            since = max((p for p, active in agency.changes if p <= at and not active), default=at)
            raise VerificationFailure(
                7,
                "agency_suspended",
                f"{agency.label} was suspended at block {at[0]} (since block {since[0]})",
            )
        if schema_id is not None:
            self._check_kind(agency, schema_id, at)

    def _check_key(self, signer: str, agency_id: int, at: Position) -> None:
        span = self.keys.get(signer)
        if span is None:
            raise VerificationFailure(
                6, "unknown_signer", f"signer {signer} is not, and never was, a member agency's key"
            )
        if span.agency_id != agency_id:
            raise VerificationFailure(
                6,
                "signer_not_agency_key",
                f"signer {signer} is a key of {self.agency_label(span.agency_id)}, but the "
                f"write is recorded for {self.agency_label(agency_id)}",
            )
        if not span.current_at(at):
            if at < span.since:
                when = f"it became the agency's key only at block {span.since[0]}"
            else:
                assert span.until is not None
                when = f"it was rotated out at block {span.until[0]}"
            raise VerificationFailure(
                6,
                "signer_not_agency_key",
                f"signer {signer} was not {self.agency_label(agency_id)}'s key at block "
                f"{at[0]}: {when}",
            )

    def _check_kind(self, agency: AgencyHistory, schema_id: bytes, at: Position) -> None:
        library = SCHEMAS_BY_ID.get(schema_id)
        if library is not None and agency.kind not in library.attesters:
            allowed = ", ".join(sorted(k.label for k in library.attesters))
            raise VerificationFailure(
                7,
                "kind_not_allowed",
                f"{agency.label} may not attest {library.name}: only {allowed} may",
            )
        registered = self.schemas.get(schema_id)
        if registered is None or registered.since > at:
            raise VerificationFailure(
                7,
                "schema_unregistered",
                f"schema 0x{schema_id.hex()} was not registered on the ledger at block {at[0]}",
            )
        if not registered.kind_mask & (1 << int(agency.kind)):
            raise VerificationFailure(
                7,
                "kind_not_allowed",
                f"{agency.label} may not attest {registered.name}: its kind is not in the "
                "schema's registered kind mask",
            )
