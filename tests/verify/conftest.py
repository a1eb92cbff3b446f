"""A ledger on the embedded chain with real anchored batches and single facts, made once per
session through the chain client (:mod:`ledger_node.anchoring`), and verifiers over it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ledger_node.agencies import AgencyKind
from ledger_node.anchoring import anchor_records, attest_record
from ledger_node.audit.index import AuditIndex
from ledger_node.bundle import ProofBundle, ProofBundleV2
from ledger_node.chain.deploy import FoundedConsortium, found_consortium
from ledger_node.chain.governance import Action, Governance
from ledger_node.chain.ledger import LedgerClient, Written
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.keys import LocalKey
from ledger_node.records import samples
from ledger_node.records.schemas import INVOICE_ISSUED, PAYMENT_SETTLED, SCHEMAS, TAX_RATING
from ledger_node.tagging import Keyring
from ledger_node.tagkeys import TAG_DOMAINS
from ledger_node.verify import Verifier
from ledger_node.verify.view import ChainView

CONSORTIUM_KEY = bytes(range(32))


@dataclass
class Ledger:
    """The session's ledger and the bundles written to it."""

    w3: Web3
    consortium: FoundedConsortium
    client: LedgerClient
    invoices: list[ProofBundle]  # one batch of three, by the tax bureau
    rating: ProofBundle  # a single fact, by the tax bureau
    revoked_leaf: ProofBundle  # a batch member whose leaf was revoked
    revoked_fact: ProofBundle  # a single fact revoked by its attester
    expiring: ProofBundle  # a single fact with an expiration
    after_rotation: ProofBundle  # anchored with the tax bureau's new key
    old_key: LocalKey  # the tax bureau's key before rotation
    copied_root: Written  # the bank's anchor of the invoices' root, under a payment schema
    copied_uid: Written  # the bank's attestation of the rating's commitment


def _rotate(ledger: LedgerClient, consortium: FoundedConsortium, new_key: LocalKey) -> None:
    """Rotate the tax bureau's key through a 3-of-4 proposal."""
    governance = Governance(ledger)
    senders = {name: ledger.sender(key) for name, key in consortium.keys.items()}
    proposal = governance.propose(senders["tax-bureau"], Action.rotate_key(1, new_key.address))
    governance.approve(senders["bank"], proposal)
    governance.approve(senders["market-regulator"], proposal)
    governance.execute(senders["auditor"], proposal)


@pytest.fixture(scope="session")
def chain() -> Ledger:
    w3 = connect()
    rpc = Rpc(w3)
    consortium = found_consortium(rpc)
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    bureau = consortium.keys["tax-bureau"]
    sender = client.sender(bureau)
    world = samples.scenario(7, companies=4, invoices=6)
    invoices = world.records[INVOICE_ISSUED]
    ratings = world.records[TAX_RATING]
    batch = anchor_records(
        client, bureau, sender, INVOICE_ISSUED, invoices[:3], consortium_key=CONSORTIUM_KEY
    )
    rating = attest_record(
        client, bureau, sender, TAX_RATING, ratings[0], consortium_key=CONSORTIUM_KEY
    )
    # Another member copies both writes, as it could while they were pending: the copies are
    # the bank's own writes and leave the bureau's standing.
    bank = consortium.keys["bank"]
    payment = SCHEMAS[PAYMENT_SETTLED].schema_id
    copied_root = client.anchor_batch(
        bank, client.sender(bank), schema_id=payment, root=batch[0].root, count=3
    )
    copied_uid = client.attest(bank, client.sender(bank), schema_id=payment, commitment=rating.root)
    doomed = anchor_records(
        client, bureau, sender, INVOICE_ISSUED, invoices[3:5], consortium_key=CONSORTIUM_KEY
    )
    client.revoke_leaf(
        bureau,
        sender,
        root=doomed[0].root,
        schema_id=doomed[0].schema_id,
        commitment=doomed[0].commitment,
        proof=doomed[0].proof,
        reason=b"\x01".rjust(32, b"\0"),
    )
    revoked_fact = attest_record(
        client, bureau, sender, TAX_RATING, ratings[1], consortium_key=CONSORTIUM_KEY
    )
    client.revoke(bureau, sender, uid=revoked_fact.root, reason=b"\x02".rjust(32, b"\0"))
    # Far enough ahead for the chain to accept it; tests move the verifier's clock past it.
    expiring = attest_record(
        client,
        bureau,
        sender,
        TAX_RATING,
        ratings[2],
        consortium_key=CONSORTIUM_KEY,
        expiration=4_000_000_000,
    )
    new_key = LocalKey.generate()
    _rotate(client, consortium, new_key)
    (after_rotation,) = anchor_records(
        client,
        new_key,
        client.sender(bureau),
        INVOICE_ISSUED,
        invoices[5:6],
        consortium_key=CONSORTIUM_KEY,
    )
    return Ledger(
        w3,
        consortium,
        client,
        batch,
        rating,
        doomed[0],
        revoked_fact,
        expiring,
        after_rotation,
        bureau,
        copied_root,
        copied_uid,
    )


@pytest.fixture(scope="session")
def synced_index(chain: Ledger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The path of an audit index synced with the session's ledger."""
    path = tmp_path_factory.mktemp("index") / "index.sqlite"
    index = AuditIndex.create_or_open(path, chain.consortium.deployment)
    index.sync(Rpc(chain.w3))
    index.close()
    yield path


@pytest.fixture(params=["chain", "chain-paged", "index"])
def verifier(request: pytest.FixtureRequest, chain: Ledger, synced_index: Path) -> Verifier:
    """A verifier over the live chain (reading logs in the default ranges, then in ranges of
    two blocks, as on a node with a tight log range limit) and over the synced index."""
    if request.param == "chain":
        return Verifier.from_chain(chain.client, chain.consortium.deployment)
    if request.param == "chain-paged":
        return Verifier(ChainView(chain.client, chain.consortium.deployment, page_size=2))
    return Verifier.from_index(AuditIndex.open(synced_index))


_AGENCY_OF_KIND = {
    AgencyKind.TAX_BUREAU: "tax-bureau",
    AgencyKind.BANK: "bank",
    AgencyKind.MARKET_REGULATOR: "market-regulator",
}
#: The agency that attests each schema here (the first allowed kind).
ATTESTER = {name: _AGENCY_OF_KIND[min(s.attesters)] for name, s in SCHEMAS.items()}


@dataclass
class V2Ledger:
    consortium: FoundedConsortium
    client: LedgerClient
    keyrings: dict[str, Keyring]  # by agency name, holding its kind's domains
    bundles: dict[str, ProofBundleV2]  # the first of a batch of three, by schema
    masters: dict[str, bytes]  # the master salt of each, from the same commit
    records: dict[str, dict[str, Any]]
    single: ProofBundleV2  # a single attestation

    def verifier(self) -> Verifier:
        return Verifier(ChainView(self.client, self.consortium.deployment))


def _keyring_of(consortium: FoundedConsortium, agency: str) -> Keyring:
    kind = next(a.kind for a in consortium.deployment.agencies if a.name == agency)
    return Keyring.of(
        {
            name: key
            for name, key in consortium.tag_keys.items()
            if kind in TAG_DOMAINS[name].holders
        }
    )


@pytest.fixture(scope="session")
def v2() -> V2Ledger:
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    keyrings = {name: _keyring_of(consortium, name) for name in consortium.keys}
    bundles: dict[str, ProofBundleV2] = {}
    records: dict[str, dict[str, Any]] = {}
    masters: dict[str, bytes] = {}
    from ledger_node import commitment as commitment_module

    real = commitment_module.new_salt
    for name in SCHEMAS:
        agency = ATTESTER[name]
        key = consortium.keys[agency]
        batch = samples.generate(name, 3, seed=11)
        drawn: list[bytes] = []

        def remembered(drawn: list[bytes] = drawn) -> bytes:
            drawn.append(real())
            return drawn[-1]

        commitment_module.new_salt = remembered
        try:
            anchored = anchor_records(
                client, key, client.sender(key), name, batch, keyring=keyrings[agency]
            )
        finally:
            commitment_module.new_salt = real
        bundles[name], records[name], masters[name] = anchored[0], batch[0], drawn[0]
    bureau = consortium.keys["tax-bureau"]
    single = attest_record(
        client,
        bureau,
        client.sender(bureau),
        "credit.tax-rating/v1",
        samples.generate("credit.tax-rating/v1", 1, seed=12)[0],
        keyring=keyrings["tax-bureau"],
    )
    return V2Ledger(consortium, client, keyrings, bundles, masters, records, single)
