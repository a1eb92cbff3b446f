"""The member list: the shipped example reads, and every bad entry is refused by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kit_harness import EXAMPLE, MemberList, write_member_list

from ledger_node.agencies import AgencyKind
from ledger_node.kit.members import KitError, load_members


def test_the_example_lists_the_four_founding_agencies_as_validators() -> None:
    consortium = load_members(EXAMPLE)
    assert [(m.name, m.kind, m.validator) for m in consortium.members] == [
        ("tax-bureau", AgencyKind.TAX_BUREAU, True),
        ("bank", AgencyKind.BANK, True),
        ("market-regulator", AgencyKind.MARKET_REGULATOR, True),
        ("auditor", AgencyKind.AUDITOR, True),
    ]
    tax = consortium.member("tax-bureau")
    assert tax.rpc_url == "http://198.51.100.10:8545"
    assert tax.accounts == (
        "0x8fc68a98df9d5eaa6a9814c3e42a3e85ab64b3d7",
        "0x418368eea594dc84c36913b333b1a01039ddf433",
    )
    # The deployer and each agency's signing key and sender, each once.
    assert len(consortium.accounts) == len(set(consortium.accounts)) == 7


@pytest.mark.parametrize(
    ("overrides", "network", "message"),
    [
        ({"bank": {"host": "bank.example"}}, {}, "member 'bank': host 'bank.example' is not an IP"),
        ({"bank": {"kind": "insurer"}}, {}, "member 'bank': unknown agency kind 'insurer'"),
        ({"bank": {"validator": "yes"}}, {}, "member 'bank': validator must be a bool"),
        ({"bank": {"rpc_port": 70000}}, {}, "member 'bank': rpc_port 70000 is not a TCP port"),
        ({"bank": {"p2p_port": 30303}}, {}, "P2P address 127.0.0.1:30303 is used twice"),
        ({"bank": {"name": "Bank"}}, {}, "member #2: name 'Bank' must be 1 to 31 lowercase"),
        ({"bank": {"name": "tax-bureau"}}, {}, "the name 'tax-bureau' is used twice"),
        ({"bank": {"signing_key": "0x1234"}}, {}, "signing_key '0x1234' is not a 0x-prefixed"),
        ({"bank": {"colour": "red"}}, {}, "member #2: unknown field\\(s\\) colour"),
        ({}, {"chain_id": 1}, "chain_id 1 is Ethereum mainnet's; pick an id"),
        ({}, {"chain_id": 31337}, "chain_id 31337 is anvil's and Hardhat's default's"),
        ({}, {"chain_id": 0}, "chain_id 0 must be between 1 and"),
        (
            {name: {"validator": False} for name in ("tax-bureau", "bank", "market-regulator")}
            | {"auditor": {"validator": False}},
            {},
            "no member is a validator",
        ),
    ],
)
def test_a_bad_entry_is_refused_with_what_to_fix(
    member_list: Callable[..., MemberList],
    overrides: dict[str, dict[str, Any]],
    network: dict[str, Any],
    message: str,
) -> None:
    members = member_list(overrides=overrides, network=network)
    with pytest.raises(KitError, match=message):
        load_members(members.path)


def test_an_account_used_by_two_agencies_is_refused(
    member_list: Callable[..., MemberList],
) -> None:
    shared = "0x" + "ab" * 20
    members = member_list(
        senders=(), overrides={"bank": {"signing_key": shared}, "auditor": {"signing_key": shared}}
    )
    with pytest.raises(
        KitError, match=f"address {shared} is used twice: by member 'bank' and by member 'auditor'"
    ):
        load_members(members.path)


def test_a_missing_network_table_or_file_is_named(tmp_path: Path) -> None:
    path = write_member_list(tmp_path / "m.toml", {}, [])
    path.write_text('[[member]]\nname = "bank"\n')
    with pytest.raises(KitError, match="a \\[network\\] table with chain_id and deployer is miss"):
        load_members(path)
    with pytest.raises(KitError, match=r"member list .*nowhere\.toml does not exist"):
        load_members(tmp_path / "nowhere.toml")
    path.write_text("[network\n")
    with pytest.raises(KitError, match="is not valid TOML"):
        load_members(path)
