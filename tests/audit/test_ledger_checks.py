"""Ledger checks recomputed from the index: a real history passes, forged rows are caught."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from ledger_node.agencies import AgencyKind
from ledger_node.audit.index import AuditIndex
from ledger_node.audit.ledger_checks import check_ledger
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.rpc import Rpc
from ledger_node.keys import EncryptionKey, LocalKey
from ledger_node.policy import ReadRule
from ledger_node.purposes import Purpose
from ledger_node.records.schemas import PAYMENT_SETTLED, SCHEMAS
from ledger_node.tagkeys import TAG_DOMAINS

from .conftest import Planted

TX = b"\x77" * 32


@pytest.fixture(scope="module")
def rotated(planted: Planted) -> Path:
    """The planted ledger's index, synced after real governance: a key rotation, a new agency
    (with its encryption key), an encryption key rotation, a read rule and a tag key version."""
    governance = Governance(planted.client)
    senders = {n: planted.client.sender(k) for n, k in planted.consortium.keys.items()}
    credit = TAG_DOMAINS["taxpayer-credit"].domain_id
    for action in (
        Action.rotate_key(3, LocalKey.generate().address),
        Action.add_agency(
            AgencyKind.BANK,
            LocalKey.generate().address,
            "second-bank",
            EncryptionKey.generate().public_key,
        ),
        Action.set_encryption_key(2, EncryptionKey.generate().public_key),
        Action.set_read_policy(
            SCHEMAS[PAYMENT_SETTLED].schema_id,
            AgencyKind.BANK,
            ReadRule.of(Purpose.CREDIT_ASSESSMENT, fields="amount", consent=True),
        ),
        Action.register_tag_key(credit, (AgencyKind.TAX_BUREAU,), b"\x09" * 32),
    ):
        proposal = governance.propose(senders["bank"], action)
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


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("EncryptionKeySet", {"agencyId": 2, "encryptionKey": "0x" + "33" * 32, "fromBlock": 1}),
        (
            "ReadPolicySet",
            {
                "schemaId": "0x" + "44" * 32,
                "readerKind": 2,
                "purposeMask": 2,
                "consentRequired": False,
                "fields": "*",
                "fromBlock": 1,
            },
        ),
        (
            "TagKeyRegistered",
            {
                "domain": "0x" + "55" * 32,
                "version": 2,
                "holderMask": 2,
                "keyCommitment": "0x" + "66" * 32,
                "fromBlock": 1,
            },
        ),
    ],
)
def test_registry_change_without_proposal(
    index: AuditIndex, name: str, args: dict[str, object]
) -> None:
    block = index.synced_block + 1
    forged = forge(
        index, "INSERT INTO events VALUES (?, ?, ?, ?, ?)", event(block, 0, name, **args)
    )
    (finding,) = check_ledger(forged)
    assert finding.code == "governance_unproposed_change"
    assert finding.message.startswith(f"{name} at block {block} (transaction 0x7777")


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
    assert finding.message == (
        f"0x{anchor.root.hex()} was attested by tax-bureau (agency 1) but revoked by bank "
        "(agency 2), which never wrote it"
    )


def test_revocation_of_a_write_nobody_made(index: AuditIndex) -> None:
    bank = index.membership((index.synced_block, 0)).agencies[2]
    nowhere = b"\x08" * 32
    forged = forge(
        index,
        "INSERT INTO revocations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (nowhere, b"", bank.agency_id, "0x" + "cd" * 20, b"\0" * 32, index.synced_block, 61, TX),
    )
    (finding,) = check_ledger(forged)
    assert finding.code == "revocation_unknown_target"
    assert finding.message == (
        f"revocation at block {index.synced_block} of 0x{nowhere.hex()}, which the ledger never "
        "recorded"
    )


def test_a_root_or_commitment_written_again_by_another_agency(index: AuditIndex) -> None:
    """Legitimate writes never share a root or a commitment: a copy names the first and the
    later write."""
    anchor = index.anchors()[0]
    bank = index.membership((index.synced_block, 0)).agencies[2]
    later = index.synced_block + 1
    copied = forge(
        index,
        "INSERT INTO anchors VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (anchor.root, SCHEMAS[PAYMENT_SETTLED].schema_id, 2, bank_key(index), 1, later, 0, TX),
    )
    (finding,) = check_ledger(copied)
    assert finding.code == "write_copied_by_other_agency"
    assert finding.subject == "0x" + anchor.root.hex()
    assert finding.message == (
        f"root 0x{anchor.root.hex()} was written first by tax-bureau (agency 1) at block "
        f"{anchor.block_number}, then again by {bank.label} at block {later}"
    )
    assert [(f.agency_id, f.block_number) for f in finding.facts] == [
        (1, anchor.block_number),
        (2, later),
    ]


def bank_key(index: AuditIndex) -> str:
    """The bank's signing key, so that the forged copy is an authorised write."""
    history = index.membership((index.synced_block, 0))
    return next(span.key for span in history.keys.values() if span.agency_id == 2)
