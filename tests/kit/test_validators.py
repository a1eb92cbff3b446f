"""add-validator / remove-validator: the votes each validator must cast, the allowlists
rewritten, the genesis left as it is."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kit_harness import MemberList, write_member_list

from ledger_node.kit.besu import change_validator
from ledger_node.kit.members import KitError

TAXLEDGER = str(Path(sys.executable).with_name("taxledger"))
Generated = Callable[..., tuple[MemberList, Any, Path]]


def _rewrite(members: MemberList, edit: Callable[[list[dict[str, Any]]], None]) -> None:
    """Change the member list on disk as the consortium would."""
    doc = tomllib.loads(members.path.read_text())
    tables = doc["member"]
    edit(tables)
    write_member_list(members.path, doc["network"], tables)


def _kit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TAXLEDGER, "kit", "besu", *args], capture_output=True, text=True)


def _state(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "kit.json").read_text())
    return result


def test_adding_a_validator_prints_each_validators_vote(generated: Generated) -> None:
    members, _, out = generated()
    genesis = (out / "genesis.json").read_bytes()
    _rewrite(
        members,
        lambda tables: tables.append(
            {
                "name": "ministry",
                "kind": "auditor",
                "validator": True,
                "host": "127.0.0.1",
                "p2p_port": 30399,
                "operator_port": 18599,
                "signing_key": "0x" + "5a" * 20,
            }
        ),
    )
    run = _kit(
        "add-validator", "--members", str(members.path), "--out", str(out), "--name", "ministry"
    )
    assert run.returncode == 0, run.stderr
    state = _state(out)
    address = state["nodes"]["ministry"]["address"]
    for voter, port in (
        ("tax-bureau", 18546),
        ("bank", 18547),
        ("market-regulator", 18548),
        ("auditor", 18549),
    ):
        vote = (
            f'{voter}: echo \'{{"jsonrpc":"2.0","id":1,"method":"qbft_proposeValidatorVote",'
            f'"params":["{address}",true]}}\' | websocat -n1 ws://127.0.0.1:{port}'
        )
        assert vote in run.stdout
    assert "at least 3 of these validators" in run.stdout
    assert "docker compose up -d ministry" in run.stdout
    assert state["validators"][-1] == "ministry"
    enode = state["nodes"]["ministry"]["enode"]
    for name in ("tax-bureau", "ministry"):
        permissions = tomllib.loads((out / "nodes" / name / "permissions_config.toml").read_text())
        assert enode in permissions["nodes-allowlist"]
        assert "0x" + "5a" * 20 in permissions["accounts-allowlist"]
    assert enode in json.loads((out / "static-nodes.json").read_text())
    # The genesis (and its validators) never changes: the vote does.
    assert (out / "genesis.json").read_bytes() == genesis


def test_removing_a_validator_keeps_its_node_unless_it_leaves(generated: Generated) -> None:
    members, _, out = generated()
    auditor = _state(out)["nodes"]["auditor"]

    def demote(tables: list[dict[str, Any]]) -> None:
        tables[3]["validator"] = False

    _rewrite(members, demote)
    change = change_validator(members.consortium, out, "auditor", add=False)
    assert change.address == auditor["address"] and change.needed == 3
    assert [v.voter.name for v in change.votes] == ["tax-bureau", "bank", "market-regulator"]
    assert all(
        v.command.endswith(
            f'["{auditor["address"]}",false]}}\' | websocat -n1 '
            f"ws://127.0.0.1:{v.voter.operator_port}"
        )
        for v in change.votes
    )
    state = _state(out)
    assert state["validators"] == ["tax-bureau", "bank", "market-regulator"]
    assert auditor["enode"] in json.loads((out / "static-nodes.json").read_text())
    config = tomllib.loads((out / "nodes" / "auditor" / "config.toml").read_text())
    assert config["rpc-ws-api"] == ["PERM"]


def test_a_departed_validator_leaves_every_allowlist(generated: Generated) -> None:
    members, _, out = generated()
    auditor = _state(out)["nodes"]["auditor"]
    signing_key = members.keys["auditor"].address
    _rewrite(members, lambda tables: tables.pop(3))
    run = _kit(
        "remove-validator", "--members", str(members.path), "--out", str(out), "--name", "auditor"
    )
    assert run.returncode == 0, run.stderr
    assert "auditor left the member list: its node is out of every allowlist" in run.stdout
    permissions = tomllib.loads((out / "nodes" / "bank" / "permissions_config.toml").read_text())
    assert auditor["enode"] not in permissions["nodes-allowlist"]
    assert signing_key not in permissions["accounts-allowlist"]
    assert "auditor" not in _state(out)["nodes"]


@pytest.mark.parametrize(
    ("name", "add", "edit", "message"),
    [
        ("bank", True, None, "bank is a validator already"),
        ("bank", False, None, "bank has validator = true in the member list; set it to false"),
        ("nobody", True, None, "no member 'nobody' in the member list"),
        ("nobody", False, None, "nobody is not a validator; the validators are tax-bureau, bank"),
        ("auditor", False, "two", "also changes validator\\(s\\) market-regulator; change one"),
        ("auditor", False, "chain", "the member list names chain 860312 .* the genesis cannot"),
    ],
)
def test_a_change_the_kit_cannot_make_is_refused(
    generated: Generated, name: str, add: bool, edit: str | None, message: str
) -> None:
    members, _, out = generated()
    if edit == "two":

        def demote_two(tables: list[dict[str, Any]]) -> None:
            tables[2]["validator"] = tables[3]["validator"] = False

        _rewrite(members, demote_two)
    if edit == "chain":
        doc = tomllib.loads(members.path.read_text())
        doc["network"]["chain_id"] = 860312
        write_member_list(members.path, doc["network"], doc["member"])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(KitError, match=message):
        change_validator(members.consortium, out, name, add=add)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_changed_genesis_stops_the_kit(generated: Generated) -> None:
    members, _, out = generated()
    (out / "genesis.json").write_text("{}")
    run = _kit("add-validator", "--members", str(members.path), "--out", str(out), "--name", "bank")
    assert run.returncode == 2
    assert run.stderr.startswith(f"error: {out / 'genesis.json'} is missing or differs from the")


def test_a_swapped_node_key_stops_the_kit(generated: Generated) -> None:
    members, _, out = generated()
    bank, auditor = out / "nodes" / "bank" / "key", out / "nodes" / "auditor" / "key"
    bank.write_bytes(auditor.read_bytes())

    def demote(tables: list[dict[str, Any]]) -> None:
        tables[3]["validator"] = False

    _rewrite(members, demote)
    with pytest.raises(KitError, match="nodes/bank/key is not the key of bank's enode in kit"):
        change_validator(members.consortium, out, "auditor", add=False)
