"""Ledger checks recomputed from the index: a real history passes, forged rows are caught."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from ledger_node.audit.index import AuditIndex
from ledger_node.audit.ledger_checks import check_ledger
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.rpc import Rpc
from ledger_node.keys import LocalKey

from .conftest import Planted

TX = b"\x77" * 32


@pytest.fixture(scope="module")
def rotated(planted: Planted) -> Path:
    """The planted ledger's index, synced after a real key rotation through governance."""
    governance = Governance(planted.client)
    senders = {n: planted.client.sender(k) for n, k in planted.consortium.keys.items()}
    proposal = governance.propose(
        senders["bank"], Action.rotate_key(3, LocalKey.generate().address)
    )
    governance.approve(senders["tax-bureau"], proposal)
    governance.approve(senders["auditor"], proposal)
    governance.execute(senders["bank"], proposal)
    live = AuditIndex.create_or_open(planted.index_path, planted.consortium.deployment)
    live.sync(Rpc(planted.w3))
    live.close()
    return planted.index_path


@pytest.fixture
def index(rotated: Path, tmp_path: Path) -> AuditIndex:
    """A private copy of that index, to forge rows in."""
    path = tmp_path / "copy.sqlite"
    source, target = sqlite3.connect(rotated), sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    return AuditIndex.open(path)


def forge(index: AuditIndex, sql: str, *rows: tuple[object, ...]) -> AuditIndex:
    db = sqlite3.connect(index.path)
    with db:
        db.executemany(sql, rows)
    db.close()
    return AuditIndex.open(index.path)


def event(block: int, log_index: int, name: str, **args: object) -> tuple[object, ...]:
    return (block, log_index, TX, name, orjson.dumps(args).decode())


def test_a_real_history_has_no_findings(index: AuditIndex) -> None:
    assert check_ledger(index) == []


def test_membership_change_without_proposal(index: AuditIndex) -> None:
    block = index.synced_block + 1
    forged = forge(
        index,
        "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
        event(
            block,
            0,
            "AgencyKeyRotated",
            agencyId=1,
            oldKey="0x" + "11" * 20,
            newKey="0x" + "22" * 20,
        ),
    )
    (finding,) = check_ledger(forged)
    assert finding.code == "governance_unproposed_change"
    assert finding.message.startswith(f"AgencyKeyRotated at block {block} (transaction 0x7777")


def test_suspension_executed_below_threshold(index: AuditIndex) -> None:
    block = index.synced_block + 1
    forged = forge(
        index,
        "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
        event(block, 0, "ProposalCreated", proposalId=99, proposer=2, actionType=1),
        event(block, 1, "ProposalApproved", proposalId=99, agencyId=2),
        event(block + 1, 0, "AgencySuspended", agencyId=1),
        event(block + 1, 1, "ProposalExecuted", proposalId=99, actionType=1),
    )
    (finding,) = check_ledger(forged)
    assert finding.code == "governance_insufficient_approvals"
    assert "proposal 99 behind AgencySuspended" in finding.message
    assert finding.message.endswith("had 1 approval(s) of active agencies, 3 required")


def test_write_by_an_unknown_key(index: AuditIndex) -> None:
    stranger = "0x" + "ab" * 20
    forged = forge(
        index,
        "INSERT INTO anchors VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (b"\x05" * 32, index.anchors()[0].schema_id, 1, stranger, 1, index.synced_block, 50, TX),
    )
    (finding,) = check_ledger(forged)
    assert finding.code == "unauthorised_write"
    assert f"signer {stranger} is not, and never was, a member agency's key" in finding.message


def test_revocation_by_another_agency(index: AuditIndex) -> None:
    anchor = index.anchors()[0]
    bank = index.membership((index.synced_block, 0)).agencies[2]
    forged = forge(
        index,
        "INSERT INTO revocations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            anchor.root,
            b"\x06" * 32,
            bank.agency_id,
            "0x" + "cd" * 20,
            b"\0" * 32,
            index.synced_block,
            60,
            TX,
        ),
    )
    (finding,) = check_ledger(forged)
    assert finding.code == "revocation_by_other_agency"
    assert "was attested by tax-bureau (agency 1) but revoked by bank (agency 2)" in finding.message
