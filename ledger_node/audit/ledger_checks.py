"""Checks of the ledger itself, recomputed from the indexed events alone.

The contract enforces authorisation when a write happens; the audit does not take its word
for it. It replays the governance history and asks again, for every anchor, fact and
revocation, whether its signer could write it then, and, for every change of membership,
whether a proposal with enough approvals carried it. It also reports a root or commitment
written by more than one agency: legitimate writes never share one (commitments are salted),
so a copy is another member taking up a value it saw pending.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ledger_node.audit.findings import FactRef, Finding
from ledger_node.audit.index import AuditIndex
from ledger_node.chain.events import LedgerEvent
from ledger_node.chain.governance import ActionType
from ledger_node.records.schemas import SCHEMAS_BY_ID
from ledger_node.verify.errors import VerificationFailure
from ledger_node.verify.membership import (
    GOVERNANCE_EVENTS,
    MEMBERSHIP_EVENTS,
    MembershipHistory,
    Position,
    position,
)
from ledger_node.verify.view import Anchor, Attestation, Revocation

#: The proposal actions that may carry out each membership event (an agency's first
#: encryption key comes with the agency).
_ACTIONS_OF: dict[str, frozenset[ActionType]] = {
    "AgencyAdded": frozenset({ActionType.ADD_AGENCY}),
    "AgencySuspended": frozenset({ActionType.SUSPEND_AGENCY}),
    "AgencyReinstated": frozenset({ActionType.REINSTATE_AGENCY}),
    "AgencyKeyRotated": frozenset({ActionType.ROTATE_KEY}),
    "SchemaRegistered": frozenset({ActionType.REGISTER_SCHEMA}),
    "ThresholdChanged": frozenset({ActionType.SET_THRESHOLD}),
    "EncryptionKeySet": frozenset({ActionType.ADD_AGENCY, ActionType.SET_ENCRYPTION_KEY}),
    "ReadPolicySet": frozenset({ActionType.SET_READ_POLICY}),
    "TagKeyRegistered": frozenset({ActionType.REGISTER_TAG_KEY}),
}


def schema_name(schema_id: bytes) -> str:
    """The records library's name of a schema id, or its hex if the library lacks it."""
    schema = SCHEMAS_BY_ID.get(schema_id)
    return schema.name if schema is not None else "0x" + schema_id.hex()


def write_ref(write: Anchor | Attestation, history: MembershipHistory) -> FactRef:
    """The :class:`FactRef` of an anchor or single fact."""
    batch = isinstance(write, Anchor)
    key = write.root if isinstance(write, Anchor) else write.uid
    return FactRef(
        schema=schema_name(write.schema_id),
        kind="batch" if batch else "single",
        agency_id=write.agency_id,
        agency=history.agency_label(write.agency_id),
        block_number=write.block_number,
        tx_hash="0x" + write.tx_hash.hex(),
        ref="0x" + key.hex(),
    )


def revocation_ref(revocation: Revocation, history: MembershipHistory, schema: str) -> FactRef:
    """The :class:`FactRef` of a revocation."""
    return FactRef(
        schema=schema,
        kind="revocation",
        agency_id=revocation.agency_id,
        agency=history.agency_label(revocation.agency_id),
        block_number=revocation.block_number,
        tx_hash="0x" + revocation.tx_hash.hex(),
        ref="0x" + revocation.target.hex(),
        leaf=None if revocation.leaf is None else "0x" + revocation.leaf.hex(),
    )


def check_ledger(index: AuditIndex) -> list[Finding]:
    """Every finding about the ledger's writes, revocations and governance history."""
    history = index.membership((index.synced_block, 0))
    writes: list[Anchor | Attestation] = [*index.anchors(), *index.attestations()]
    findings = check_writes(history, writes)
    findings += check_shared_writes(history, writes)
    findings += check_revocations(index, history)
    findings += check_governance(history, index.events(GOVERNANCE_EVENTS), index.deployment_tx)
    return findings


def check_writes(
    history: MembershipHistory, writes: Iterable[Anchor | Attestation]
) -> list[Finding]:
    """A finding for each write whose signer was not authorised for it at its block."""
    findings = []
    for write in writes:
        try:
            history.authorise(write.signer, write.agency_id, write.schema_id, write.position)
        except VerificationFailure as exc:
            ref = write_ref(write, history)
            findings.append(
                Finding(
                    "unauthorised_write", ref.ref, f"{ref.kind} {ref.ref}: {exc.message}", (ref,)
                )
            )
    return findings


def check_shared_writes(
    history: MembershipHistory, writes: Iterable[Anchor | Attestation]
) -> list[Finding]:
    """A finding for each root, or single fact's commitment, written by more than one
    agency, naming the first write and each later one."""
    first: dict[tuple[bool, bytes], Anchor | Attestation] = {}
    findings = []
    for write in sorted(writes, key=lambda w: w.position):
        batch = isinstance(write, Anchor)
        key = (batch, write.root if isinstance(write, Anchor) else write.uid)
        earlier = first.setdefault(key, write)
        if earlier is write:
            continue
        what = "root" if batch else "commitment"
        ref = "0x" + key[1].hex()
        findings.append(
            Finding(
                "write_copied_by_other_agency",
                ref,
                f"{what} {ref} was written first by {history.agency_label(earlier.agency_id)} "
                f"at block {earlier.block_number}, then again by "
                f"{history.agency_label(write.agency_id)} at block {write.block_number}",
                (write_ref(earlier, history), write_ref(write, history)),
            )
        )
    return findings


def check_revocations(index: AuditIndex, history: MembershipHistory) -> list[Finding]:
    """A finding for each revocation of a fact the revoking agency never wrote (another
    agency's, or nobody's), or signed by a key not authorised then."""
    findings = []
    for revocation in index.all_revocations():
        target = "0x" + revocation.target.hex()
        single = revocation.leaf is None
        write: Anchor | Attestation | None = (
            index.attestation(revocation.agency_id, revocation.target)
            if single
            else index.anchor(revocation.agency_id, revocation.target)
        )
        if write is None:
            others = index.writes_of(revocation.target, batch=not single)
            schema = schema_name(others[0].schema_id) if others else "unknown"
            ref = revocation_ref(revocation, history, schema)
            if others:
                findings.append(
                    Finding(
                        "revocation_by_other_agency",
                        target,
                        f"{target} was attested by {history.agency_label(others[0].agency_id)} "
                        f"but revoked by {history.agency_label(revocation.agency_id)}, which "
                        "never wrote it",
                        (write_ref(others[0], history), ref),
                    )
                )
            else:
                findings.append(
                    Finding(
                        "revocation_unknown_target",
                        target,
                        f"revocation at block {revocation.block_number} of {target}, which the "
                        "ledger never recorded",
                        (ref,),
                    )
                )
            continue
        ref = revocation_ref(revocation, history, schema_name(write.schema_id))
        try:
            history.authorise(revocation.signer, revocation.agency_id, None, revocation.position)
        except VerificationFailure as exc:
            findings.append(
                Finding(
                    "revocation_unauthorised",
                    target,
                    f"revocation of {target}: {exc.message}",
                    (write_ref(write, history), ref),
                )
            )
    return findings


def check_governance(
    history: MembershipHistory, events: Iterable[LedgerEvent], deployment_tx: bytes
) -> list[Finding]:
    """A finding for each membership change not carried out by an executed proposal that
    had enough approvals from agencies active at execution.

    The founding transaction is exempt: the constructor registers the founders, schemas and
    threshold without proposals.
    """
    by_tx: dict[bytes, list[LedgerEvent]] = defaultdict(list)
    created: dict[int, LedgerEvent] = {}
    approvals: dict[int, list[tuple[int, Position]]] = defaultdict(list)
    for event in events:
        by_tx[event.tx_hash].append(event)
        if event.name == "ProposalCreated":
            created[int(event.args["proposalId"])] = event
        elif event.name == "ProposalApproved":
            approvals[int(event.args["proposalId"])].append(
                (int(event.args["agencyId"]), position(event))
            )
    findings = []
    for tx_hash, tx_events in by_tx.items():
        if tx_hash == deployment_tx:
            continue
        changes = [e for e in tx_events if e.name in MEMBERSHIP_EVENTS]
        executed = [e for e in tx_events if e.name == "ProposalExecuted"]
        for change in changes:
            finding = _check_change(history, change, executed, created, approvals)
            if finding is not None:
                findings.append(finding)
    return findings


def _governance_ref(event: LedgerEvent, history: MembershipHistory) -> FactRef:
    agency_id = int(event.args.get("agencyId", event.args.get("proposer", 0)))
    return FactRef(
        schema="governance",
        kind=event.name,
        agency_id=agency_id,
        agency=history.agency_label(agency_id) if agency_id else "",
        block_number=event.block_number,
        tx_hash="0x" + event.tx_hash.hex(),
        ref=f"{event.name}@{event.block_number}:{event.log_index}",
    )


def _check_change(
    history: MembershipHistory,
    change: LedgerEvent,
    executed: list[LedgerEvent],
    created: dict[int, LedgerEvent],
    approvals: dict[int, list[tuple[int, Position]]],
) -> Finding | None:
    where = f"{change.name} at block {change.block_number}"
    ref = _governance_ref(change, history)
    # The contract emits the change, then ProposalExecuted, in the same transaction.
    after = [e for e in executed if position(e) > position(change)]
    if not after:
        return Finding(
            "governance_unproposed_change",
            where,
            f"{where} (transaction {ref.tx_hash}) was not carried out by an executed proposal",
            (ref,),
        )
    execution = after[0]
    proposal_id = int(execution.args["proposalId"])
    refs = (ref, _governance_ref(execution, history))
    proposal = created.get(proposal_id)
    if proposal is None or position(proposal) > position(execution):
        return Finding(
            "governance_unknown_proposal",
            where,
            f"{where} executed proposal {proposal_id}, which was never created before",
            refs,
        )
    wanted = ActionType(int(proposal.args["actionType"]))
    if wanted not in _ACTIONS_OF[change.name] or int(execution.args["actionType"]) != wanted:
        return Finding(
            "governance_action_mismatch",
            where,
            f"{where} carried out proposal {proposal_id}, whose action is {wanted.name}",
            refs,
        )
    # Counted as the contract counts: approvers still active just before the change.
    before = (change.block_number, change.log_index - 1)
    # The proposer's approval counts from creation, as the contract records it.
    approvers = {int(proposal.args["proposer"])} | {
        agency
        for agency, at in approvals[proposal_id]
        if at < position(execution) and _active(history, agency, at)
    }
    counted = {a for a in approvers if _active(history, a, before)}
    threshold = history.threshold_at(before)
    if len(counted) < threshold:
        return Finding(
            "governance_insufficient_approvals",
            where,
            f"proposal {proposal_id} behind {where} had {len(counted)} approval(s) of active "
            f"agencies, {threshold} required",
            refs,
        )
    return None


def _active(history: MembershipHistory, agency_id: int, at: Position) -> bool:
    agency = history.agencies.get(agency_id)
    return agency is not None and agency.active_at(at)
