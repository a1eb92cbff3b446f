"""What an answer shows of a fact under a read rule: all of it for ``*``; of a v2 bundle only
the fields named, still verifying, an optional field the record lacks simply absent; nothing
of a fact committed whole (v1) under a rule that names only some fields; and a rule whose
paths do not parse is a refusal, not an answer."""

from __future__ import annotations

import pytest

from ledger_node.agencies import AgencyKind
from ledger_node.anchoring import attest_record
from ledger_node.bundle import ProofBundleV2
from ledger_node.chain.deploy import found_consortium
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc, connect
from ledger_node.exchange.provider import shown_under
from ledger_node.exchange.refusals import Refusal
from ledger_node.records import samples
from ledger_node.records.schemas import TAX_RATING
from ledger_node.tagging import Keyring
from ledger_node.tagkeys import TAG_DOMAINS
from ledger_node.verify import Verifier
from ledger_node.verify.view import ChainView


def test_a_rule_shows_what_it_names_and_no_more() -> None:
    w3 = connect()
    consortium = found_consortium(Rpc(w3))
    client = LedgerClient.from_deployment(w3, consortium.deployment)
    bureau = consortium.keys["tax-bureau"]
    keyring = Keyring.of(
        {
            name: key
            for name, key in consortium.tag_keys.items()
            if AgencyKind.TAX_BUREAU in TAG_DOMAINS[name].holders
        }
    )
    first, second = samples.generate(TAX_RATING, 2, seed=21)
    v2 = attest_record(client, bureau, client.sender(bureau), TAX_RATING, first, keyring=keyring)
    v1 = attest_record(
        client, bureau, client.sender(bureau), TAX_RATING, second, consortium_key=bytes(32)
    )
    verifier = Verifier(ChainView(client, consortium.deployment))

    assert shown_under(v2, "*") is v2 and shown_under(v1, " * ") is v1
    partial = shown_under(v2, "uscc,level,no_such_field")
    assert isinstance(partial, ProofBundleV2) and not partial.complete
    assert partial.record == {"uscc": first["uscc"], "level": first["level"]}
    assert verifier.verify(partial).bundle.commitment == v2.commitment
    assert shown_under(v1, "uscc,level") is None
    with pytest.raises(Refusal, match="do not parse") as refusal:
        shown_under(v2, "uscc,,level[")
    assert refusal.value.code == "policy_denies"
