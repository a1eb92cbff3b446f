"""EAS with the consortium's resolver, on a real anvil: members of the schema's kind may
attest, anyone else's attestation reverts inside EAS with ``InvalidAttestation()``."""

from __future__ import annotations

import pytest

from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.errors import ChainError
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.chain.transactions import Sender
from ledger_node.hashing import keccak256
from ledger_node.keys import LocalKey
from ledger_node.localnode import LocalNode
from ledger_node.records.schemas import INVOICE_ISSUED, SCHEMAS
from taxledger_dev.benchmarks import eas

Setup = tuple[Rpc, FoundedConsortium, LedgerClient, eas.EasDeployment]


@pytest.fixture(scope="module")
def setup(anvil: LocalNode) -> Setup:
    w3 = connect(anvil.url)
    rpc = Rpc(w3)
    consortium = found_consortium(rpc)
    ledger = LedgerClient.from_deployment(w3, consortium.deployment)
    deployed = eas.deploy_eas(
        rpc,
        ledger.sender(consortium.deployer),
        ledger.address,
        SCHEMAS[INVOICE_ISSUED].schema_id,
        eas.compile_eas(),
    )
    return rpc, consortium, ledger, deployed


def _revert(sender: Sender, to: str, data: bytes) -> str | None:
    with pytest.raises(ChainError) as caught:
        sender.estimate_gas(to, data)
    return eas.revert_name(caught.value)


def test_member_of_the_schemas_kind_attests(setup: Setup) -> None:
    _, consortium, ledger, deployed = setup
    sender = ledger.sender(consortium.keys["tax-bureau"])
    single = eas.attest_calldata(deployed.schema_uid, keccak256(b"member"))
    multi = eas.multi_attest_calldata(deployed.schema_uid, [keccak256(b"a"), keccak256(b"b")])
    receipts = [sender.wait([sender.send(deployed.eas, data)])[0] for data in (single, multi)]
    assert [r.status for r in receipts] == [1, 1]
    # Attested events: one for the single attestation, two for the multi.
    assert [len(r.logs) for r in receipts] == [1, 2]


def test_non_member_is_rejected_exactly(setup: Setup) -> None:
    rpc, _, ledger, deployed = setup
    stranger = LocalKey.generate()
    rpc.request("anvil_setBalance", [stranger.address, hex(10**20)])
    sender = Sender(rpc, stranger, ledger.chain_id)
    single = eas.attest_calldata(deployed.schema_uid, keccak256(b"stranger"))
    multi = eas.multi_attest_calldata(deployed.schema_uid, [keccak256(b"c"), keccak256(b"d")])
    assert _revert(sender, deployed.eas, single) == "InvalidAttestation()"
    assert _revert(sender, deployed.eas, multi) == "InvalidAttestations()"


def test_member_of_another_kind_is_rejected(setup: Setup) -> None:
    # Invoices are the tax bureau's: a bank is a member, but not of a kind that may attest them.
    _, consortium, ledger, deployed = setup
    bank = ledger.sender(consortium.keys["bank"])
    single = eas.attest_calldata(deployed.schema_uid, keccak256(b"bank"))
    assert _revert(bank, deployed.eas, single) == "InvalidAttestation()"


def test_schema_uid_is_eas_formula(setup: Setup) -> None:
    _, _, _, deployed = setup
    assert deployed.schema_uid == eas.schema_uid(eas.EAS_SCHEMA, deployed.resolver, True)
