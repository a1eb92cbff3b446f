"""The generated files parse, and name the same accounts, enodes and limits everywhere."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from coincurve import PrivateKey
from kit_harness import EXAMPLE, MemberList

from ledger_node.audit.index import DEFAULT_PAGE_SIZE
from ledger_node.chain.events import LOG_RANGE_BLOCKS, EventReader
from ledger_node.kit.besu import BESU_IMAGE, GATEWAY_APIS, generate
from ledger_node.kit.members import KitError, load_members
from ledger_node.verify.view import ChainView

Generated = Callable[..., tuple[MemberList, object, Path]]
MINISTRY = {"name": "ministry", "kind": "auditor", "validator": False}


def _toml(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_every_file_names_the_same_accounts_and_enodes(generated: Generated) -> None:
    members, _, out = generated(senders=("tax-bureau", "bank"), extra=(MINISTRY,))
    consortium = members.consortium
    genesis = json.loads((out / "genesis.json").read_text())
    state = json.loads((out / "kit.json").read_text())
    static = json.loads((out / "static-nodes.json").read_text())
    accounts = sorted(k.address for k in members.keys.values())
    assert sorted("0x" + a for a in genesis["alloc"]) == accounts
    enodes = []
    for member in consortium.members:
        folder = out / "nodes" / member.name
        permissions = _toml(folder / "permissions_config.toml")
        assert sorted(permissions["accounts-allowlist"]) == accounts  # type: ignore[arg-type]
        assert permissions["nodes-allowlist"] == static
        # The enode's id is the public key of the node's own key file, at its P2P address.
        secret = bytes.fromhex((folder / "key").read_text().strip()[2:])
        public = PrivateKey(secret).public_key.format(compressed=False)[1:].hex()
        enodes.append(f"enode://{public}@{member.host}:{member.p2p_port}")
        assert state["nodes"][member.name]["enode"] == enodes[-1]
    assert static == enodes
    assert chain_id_of(genesis) == consortium.chain_id == state["chain_id"]
    assert state["validators"] == ["tax-bureau", "bank", "market-regulator", "auditor"]


def chain_id_of(genesis: dict[str, object]) -> object:
    config = genesis["config"]
    assert isinstance(config, dict)
    return config["chainId"]


def test_node_keys_are_owner_only(generated: Generated) -> None:
    _, _, out = generated()
    for key in (out / "nodes").glob("*/key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert re.fullmatch(r"0x[0-9a-f]{64}\n", key.read_text())


def test_a_node_serves_its_gateway_only_what_it_needs(generated: Generated) -> None:
    members, _, out = generated(extra=(MINISTRY,))
    for member in members.consortium.members:
        config = _toml(out / "nodes" / member.name / "config.toml")
        assert config["rpc-http-host"] == member.rpc_host == "127.0.0.1"
        assert config["rpc-http-port"] == member.rpc_port
        assert config["rpc-http-api"] == ["ETH", "NET"]
        assert config["rpc-ws-host"] == "127.0.0.1"
        operator = ["QBFT", "PERM"] if member.validator else ["PERM"]
        assert config["rpc-ws-api"] == operator
        assert config["min-gas-price"] == 0
        assert config["p2p-host"] == member.host and config["p2p-port"] == member.p2p_port
        assert "localhost" in config["host-allowlist"]  # type: ignore[operator]
        assert config["permissions-accounts-config-file-enabled"] is True
        assert config["permissions-nodes-config-file-enabled"] is True


def test_log_range_is_one_limit_for_node_and_readers(generated: Generated) -> None:
    _, _, out = generated()
    config = _toml(out / "nodes" / "bank" / "config.toml")
    assert config["rpc-max-logs-range"] == LOG_RANGE_BLOCKS == DEFAULT_PAGE_SIZE
    reader_default = EventReader.__init__.__kwdefaults__["page_size"]  # type: ignore[index]
    view_default = ChainView.__init__.__kwdefaults__["page_size"]  # type: ignore[index]
    assert reader_default == view_default == LOG_RANGE_BLOCKS


def test_the_gateway_apis_cover_every_call_the_library_makes() -> None:
    root = Path(__file__).resolve().parents[2]
    called = set()
    for source in [*root.glob("ledger_node/**/*.py"), *root.glob("gateway/**/*.py")]:
        called |= set(re.findall(r'"([a-z0-9]+)_[A-Za-z]+"', source.read_text()))
    # Development nodes' own namespaces (funding and mining on anvil) are not Besu's.
    namespaces = {n for n in called if n in {"eth", "net", "web3", "admin", "debug", "txpool"}}
    assert "eth" in namespaces
    assert {n.upper() for n in namespaces} <= set(GATEWAY_APIS)
    assert not {"ADMIN", "DEBUG", "MINER", "QBFT", "PERM"} & set(GATEWAY_APIS)


def test_compose_runs_each_node_from_the_pinned_image(generated: Generated) -> None:
    members, _, out = generated(extra=(MINISTRY,))
    compose = yaml.safe_load((out / "compose.yaml").read_text())
    assert re.fullmatch(r"hyperledger/besu:\d+\.\d+\.\d+", BESU_IMAGE)
    assert list(compose["services"]) == [m.name for m in members.consortium.members]
    for member in members.consortium.members:
        service = compose["services"][member.name]
        config = _toml(out / "nodes" / member.name / "config.toml")
        assert service["image"] == BESU_IMAGE
        assert service["network_mode"] == "host"
        # The image's environment would override the file's hosts with 0.0.0.0.
        assert service["environment"] == {
            "BESU_RPC_HTTP_HOST": config["rpc-http-host"],
            "BESU_RPC_WS_HOST": config["rpc-ws-host"],
        }
        mounts = dict(v.split(":")[:2] for v in service["volumes"])
        for source, target in mounts.items():
            assert (out / source).exists()
            assert any(str(v).startswith(target) for v in config.values() if isinstance(v, str))


def test_gateways_use_their_own_node_and_one_confirmation(generated: Generated) -> None:
    members, _, out = generated(senders=("bank",))
    gateways = sorted(p.parent.name for p in (out / "gateways").glob("*/gateway.toml"))
    # Every member attests its disclosures (disclosure.made/v1), the auditor too.
    assert gateways == ["auditor", "bank", "market-regulator", "tax-bureau"]
    for name in gateways:
        config = _toml(out / "gateways" / name / "gateway.toml")
        member = members.consortium.member(name)
        assert config["chain"] == member.rpc_url and config["confirmations"] == 1
        assert ("sender_keystore" in config) == (member.sender is not None)


def test_the_example_generates_and_a_network_is_never_overwritten(tmp_path: Path) -> None:
    network = generate(load_members(EXAMPLE), tmp_path / "net")
    assert len(network.validators) == 4
    readme = (tmp_path / "net" / "README.md").read_text()
    assert "taxledger chain deploy --rpc http://198.51.100.10:8545" in readme
    assert "Besu itself was not run" in readme
    before = (tmp_path / "net" / "genesis.json").read_bytes()
    with pytest.raises(KitError, match="holds a network already; its genesis must not change"):
        generate(load_members(EXAMPLE), tmp_path / "net")
    assert (tmp_path / "net" / "genesis.json").read_bytes() == before


def test_the_command_writes_the_network_and_names_bad_usage(tmp_path: Path) -> None:
    taxledger = str(Path(sys.executable).with_name("taxledger"))
    out = tmp_path / "net"
    run = subprocess.run(
        [taxledger, "kit", "besu", "--members", str(EXAMPLE), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == (
        f"wrote the Besu network of 4 member nodes (4 validators) to {out}: chain 860311, gas "
        "limit 12,000,000"
    )
    assert (out / "nodes" / "auditor" / "config.toml").is_file()
    again = subprocess.run(
        [taxledger, "kit", "besu", "--members", str(EXAMPLE), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2
    assert again.stderr.startswith(f"error: {out} holds a network already")
    usage = subprocess.run(
        [taxledger, "kit", "besu", "--out", str(out)], capture_output=True, text=True
    )
    assert usage.returncode == 2 and "give --members FILE and --out DIR" in usage.stderr
