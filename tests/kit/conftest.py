"""Fixtures of the kit's tests: member lists with real keys, and generated network folders."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kit_harness import MemberList, write_member_list

from ledger_node.keys import LocalKey
from ledger_node.kit.besu import Network, generate
from ledger_node.localnode import free_port

# The gateway tests' process harness starts the kit's gateways too.
sys.path.append(str(Path(__file__).resolve().parent.parent / "gateway"))


@pytest.fixture
def member_list(tmp_path: Path) -> Callable[..., MemberList]:
    """Factory: a member list of the four founding agencies on loopback, with fresh keys.

    ``senders`` names the agencies given a separate sender account; ``extra`` adds members
    (dicts of their fields, keys made for them); ``overrides`` change members' fields.
    """

    def make(
        *,
        senders: tuple[str, ...] = ("tax-bureau",),
        extra: tuple[dict[str, Any], ...] = (),
        overrides: dict[str, dict[str, Any]] | None = None,
        network: dict[str, Any] | None = None,
        name: str = "members.toml",
    ) -> MemberList:
        keys: dict[str, LocalKey] = {"deployer": LocalKey.generate()}
        tables = []
        founders = [
            {"name": "tax-bureau", "kind": "tax-bureau"},
            {"name": "bank", "kind": "bank"},
            {"name": "market-regulator", "kind": "market-regulator"},
            {"name": "auditor", "kind": "auditor"},
        ]
        for index, base in enumerate([*founders, *extra]):
            table = {
                "validator": True,
                "host": "127.0.0.1",
                "p2p_port": 30303 + index,
                "rpc_host": "127.0.0.1",
                "rpc_port": free_port(),
                "operator_port": 18546 + index,
                **base,
            }
            keys[table["name"]] = LocalKey.generate()
            table.setdefault("signing_key", keys[table["name"]].address)
            if table["name"] in senders:
                keys[f"{table['name']}-sender"] = LocalKey.generate()
                table["sender"] = keys[f"{table['name']}-sender"].address
            table.update((overrides or {}).get(table["name"], {}))
            tables.append(table)
        doc = {"chain_id": 860311, "deployer": keys["deployer"].address, **(network or {})}
        return MemberList(write_member_list(tmp_path / name, doc, tables), keys)

    return make


@pytest.fixture
def generated(
    tmp_path: Path, member_list: Callable[..., MemberList]
) -> Callable[..., tuple[MemberList, Network, Path]]:
    """Factory: a member list and the network the kit generates from it in tmp_path/net."""

    def make(**kwargs: Any) -> tuple[MemberList, Network, Path]:
        members = member_list(**kwargs)
        out = tmp_path / "net"
        return members, generate(members.consortium, out), out

    return make
