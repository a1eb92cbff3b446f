"""The QBFT genesis: extraData as Besu encodes it, decoded by an independent RLP implementation
to exactly the validators; milestones from the contracts' EVM version; the gas limit's sizing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import rlp

from ledger_node.kit import genesis as qbft
from ledger_node.kit.besu import Network
from ledger_node.kit.members import KitError


def test_extra_data_matches_besus_own_examples() -> None:
    # Besu's QBFT guide (four validators, in the order given) and a genesis of Besu's own
    # integration tests (consensus/qbft-core/src/integration-test/resources/
    # genesis_migrating_validator_contract.json, one validator).
    guide = [
        "0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb",
        "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
        "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de",
        "0xab5e7f4061c605820d3744227eed91ff8e2c8908",
    ]
    assert qbft.qbft_extra_data(guide) == (
        "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e4"
        "5706cc08b8f44b11e43cba0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee"
        "02d7bcbc1bf1236b8c15148971e1de94ab5e7f4061c605820d3744227eed91ff8e2c8908c080c0"
    )
    assert qbft.qbft_extra_data(["0xeac51e3fe1afc9894f0dfeab8ceb471899b932df"]) == (
        "0xf83aa00000000000000000000000000000000000000000000000000000000000000000d594eac51e3f"
        "e1afc9894f0dfeab8ceb471899b932dfc080c0"
    )


def test_extra_data_decodes_to_exactly_the_validators(
    generated: Callable[..., tuple[object, Network, Path]],
) -> None:
    extra = ({"name": "ministry", "kind": "auditor", "validator": False},)
    _, network, out = generated(extra=extra)
    doc = json.loads((out / "genesis.json").read_text())
    vanity, validators, vote, round_number, seals = rlp.decode(bytes.fromhex(doc["extraData"][2:]))
    assert vanity == bytes(32)
    expected = sorted(network.nodes[m.name].address for m in network.consortium.validators)
    assert ["0x" + v.hex() for v in validators] == expected
    assert len(expected) == 4 and network.nodes["ministry"].address not in expected
    assert (vote, round_number, seals) == ([], b"", [])


def test_milestones_activate_every_fork_up_to_the_contracts_evm() -> None:
    assert qbft.contracts_evm_version() == "cancun"
    cancun = qbft.milestones("cancun")
    assert list(cancun)[-3:] == ["londonBlock", "shanghaiTime", "cancunTime"]
    assert set(cancun.values()) == {0}
    # London stays in for an older EVM: the zero base fee is London's fee market.
    assert "londonBlock" in qbft.milestones("berlin") and "shanghaiTime" not in qbft.milestones(
        "paris"
    )
    with pytest.raises(KitError, match="compiled for EVM 'prague'; the kit writes QBFT genesis"):
        qbft.milestones("prague")


def test_the_gas_limit_holds_ten_batches_per_agency_and_the_deployment() -> None:
    small = qbft.size_gas_limit(4)
    assert small.deploy_gas == 11_767_976 and small.batches_gas == 2_531_720
    assert small.gas_limit == 12_000_000 and small.batches_per_block == 189
    large = qbft.size_gas_limit(40)
    assert large.gas_limit == 26_000_000 > large.deploy_gas
    assert qbft.size_gas_limit(4, 30_000_000).gas_limit == 30_000_000
    with pytest.raises(KitError, match="gas_limit 5,000,000 is below 12,000,000, the least that"):
        qbft.size_gas_limit(4, 5_000_000)


def test_each_account_can_pay_full_blocks_for_a_century() -> None:
    wei = qbft.funding_wei(8_000_000)
    assert wei == 10**26
    assert wei >= 7_000_000 * 10**9 * qbft.blocks_per_year() * 100
