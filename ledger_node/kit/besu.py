"""The files of a Besu QBFT network of the consortium, generated from its member list.

``generate`` writes a new network's directory once; ``change_validator`` later adds or removes
one validator. The genesis is never rewritten (every node must boot the same one): validator
changes are QBFT votes, and what the kit rewrites are the allowlists, static nodes, node
configurations and compose file. ``kit.json`` records what the directory holds.

Layout of the directory::

    README.md             the steps, the nodes, the chosen values and their sources
    genesis.json          QBFT genesis (ledger_node.kit.genesis)
    static-nodes.json     every member's enode
    compose.yaml          one Besu service per member node, from a pinned image
    kit.json              taxledger.besu-kit/v1: chain, validators, enodes
    nodes/NAME/           config.toml, key (owner-only), permissions_config.toml, data/
    gateways/NAME/        gateway.toml for the agency's gateway, against its own node
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger_node.agencies import AgencyKind
from ledger_node.chain.events import LOG_RANGE_BLOCKS
from ledger_node.kit import genesis as qbft
from ledger_node.kit.members import Consortium, KitError, Member
from ledger_node.kit.nodekeys import NodeIdentity, create_node_key, read_node_key
from ledger_node.kit.readme import render_readme

FORMAT = "taxledger.besu-kit/v1"
#: The Besu release the compose file runs (its changelog and source were read for every option
#: written here).
BESU_IMAGE = "hyperledger/besu:26.2.0"
#: What a gateway calls on its node: every JSON-RPC method of the library is ``eth_*``; NET
#: lets a monitor read the peer count. No ADMIN, DEBUG, MINER, TXPOOL, QBFT or PERM.
GATEWAY_APIS = ("ETH", "NET")
#: The operator's APIs, on a loopback-only WebSocket: QBFT validator votes (validators only)
#: and reloading the allowlists after the kit rewrote them.
VALIDATOR_OPERATOR_APIS = ("QBFT", "PERM")
NODE_OPERATOR_APIS = ("PERM",)

#: Where the compose file mounts the kit's files inside the container; the node configuration
#: names these paths, so a node run without compose needs its files at the same places.
CONTAINER_ROOT = "/opt/besu/taxledger"
#: The node's chain data lives in its own folder (``nodes/NAME/data``), beside its key and
#: allowlists: one folder per node to copy, back up and hand to the user Besu runs as.
CONTAINER_DATA = f"{CONTAINER_ROOT}/node/data"

KIT_FILE = "kit.json"
GENESIS_FILE = "genesis.json"
STATIC_NODES_FILE = "static-nodes.json"
COMPOSE_FILE = "compose.yaml"
NODE_CONFIG = "config.toml"
PERMISSIONS_FILE = "permissions_config.toml"
GATEWAY_CONFIG = "gateway.toml"


def writer_kinds() -> frozenset[AgencyKind]:
    """Kinds of agency that attest some schema, and so run a gateway."""
    from ledger_node.records.schemas import SCHEMAS

    return frozenset(kind for schema in SCHEMAS.values() for kind in schema.attesters)


@dataclass(frozen=True)
class Network:
    """A generated network: the member list it was made from and every node's identity."""

    consortium: Consortium
    validators: tuple[str, ...]
    nodes: dict[str, NodeIdentity]

    def enode(self, name: str) -> str:
        return self.nodes[name].enode(self.consortium.member(name))

    @property
    def enodes(self) -> list[str]:
        return [self.enode(m.name) for m in self.consortium.members]


def operator_call(member: Member, method: str, params: list[Any]) -> str:
    """A shell command that sends one JSON-RPC call to the member node's loopback operator
    endpoint, from the node's own host (any WebSocket JSON-RPC client does; websocat is one)."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, separators=(",", ":")
    )
    return f"echo '{body}' | websocat -n1 ws://127.0.0.1:{member.operator_port}"


@dataclass(frozen=True)
class VoteCall:
    """One validator's ``qbft_proposeValidatorVote`` call."""

    voter: Member
    #: The validator being added or removed, and whether it is added.
    address: str
    add: bool

    @property
    def command(self) -> str:
        """The shell command that casts the vote from the voter's node host."""
        return operator_call(self.voter, "qbft_proposeValidatorVote", [self.address, self.add])


@dataclass(frozen=True)
class ValidatorChange:
    """What ``add-validator`` / ``remove-validator`` did and what the validators must do."""

    network: Network
    #: The member whose node joins or leaves the validators, and its node's address.
    name: str
    address: str
    add: bool
    votes: tuple[VoteCall, ...]
    #: Votes needed: more than half of the validators before the change.
    needed: int
    new_nodes: tuple[str, ...]
    dropped_nodes: tuple[str, ...]


# -- rendering -----------------------------------------------------------------------------


def _toml(value: object) -> str:
    """A TOML value: strings use JSON's escapes, which TOML basic strings share."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _toml_lines(rows: Sequence[tuple[str, object] | str]) -> str:
    """``key=value`` lines; a bare string is a comment line (or a blank line if empty)."""
    out = []
    for row in rows:
        if isinstance(row, str):
            out.append(f"# {row}" if row else "")
        else:
            out.append(f"{row[0]}={_toml(row[1])}")
    return "\n".join(out) + "\n"


def node_config(network: Network, member: Member) -> str:
    """The Besu configuration file (``config.toml``) of the member's node."""
    node = f"{CONTAINER_ROOT}/node"
    role = "a QBFT validator" if member.name in network.validators else "not a validator"
    hosts = ["localhost", "127.0.0.1", member.rpc_host, *member.rpc_hostnames]
    operator = VALIDATOR_OPERATOR_APIS if member.name in network.validators else NODE_OPERATOR_APIS
    return _toml_lines(
        [
            f"Besu node of {member.name} ({member.kind.label}), {role}. Written by",
            "`taxledger kit besu`; the values and their sources are in the kit's README.md.",
            ("data-path", CONTAINER_DATA),
            ("genesis-file", f"{CONTAINER_ROOT}/{GENESIS_FILE}"),
            ("node-private-key-file", f"{node}/key"),
            "Validators check every block by executing it (snap sync on QBFT is early access).",
            ("sync-mode", "FULL"),
            "",
            "P2P: the address of this node's enode. Its peers are the static nodes; discovery",
            "is off, as every member node is known and allowlisted.",
            ("p2p-host", member.host),
            ("p2p-interface", member.host),
            ("p2p-port", member.p2p_port),
            ("discovery-enabled", False),
            ("static-nodes-file", f"{CONTAINER_ROOT}/{STATIC_NODES_FILE}"),
            "",
            "JSON-RPC for the agency's gateway: on the agency's own interface, with only the",
            "APIs taxledger calls (no ADMIN), and Host headers limited to these names.",
            ("rpc-http-enabled", True),
            ("rpc-http-host", member.rpc_host),
            ("rpc-http-port", member.rpc_port),
            ("rpc-http-api", list(GATEWAY_APIS)),
            ("host-allowlist", list(dict.fromkeys(hosts))),
            "taxledger's readers ask eth_getLogs for this many blocks at a time",
            "(ledger_node.chain.events.LOG_RANGE_BLOCKS): the same limit on both sides.",
            ("rpc-max-logs-range", LOG_RANGE_BLOCKS),
            "",
            "Operator APIs, on loopback only: validator votes and allowlist reloads.",
            ("rpc-ws-enabled", True),
            ("rpc-ws-host", "127.0.0.1"),
            ("rpc-ws-port", member.operator_port),
            ("rpc-ws-api", list(operator)),
            "",
            "Free gas: the genesis has a zero base fee, and no node asks a minimum price",
            "(a node with a higher one would silently drop cheaper transactions).",
            ("min-gas-price", 0),
            "",
            "Local allowlists: which nodes may connect and which accounts may send.",
            ("permissions-nodes-config-file-enabled", True),
            ("permissions-nodes-config-file", f"{node}/{PERMISSIONS_FILE}"),
            ("permissions-accounts-config-file-enabled", True),
            ("permissions-accounts-config-file", f"{node}/{PERMISSIONS_FILE}"),
        ]
    )


def permissions_config(network: Network) -> str:
    """``permissions_config.toml``: the accounts and nodes allowlists, the same on every node."""
    return _toml_lines(
        [
            "Accounts that may send transactions: the deployer and each agency's signing key",
            "(it sends governance proposals and approvals) and sender account.",
            ("accounts-allowlist", list(network.consortium.accounts)),
            "Nodes that may connect: every member's node.",
            ("nodes-allowlist", network.enodes),
        ]
    )


def compose_file(network: Network) -> str:
    """``compose.yaml``: one Besu service per member node, from the pinned image.

    Each service uses the host's network, so the node binds the agency's own addresses from
    the member list. The image sets ``BESU_RPC_HTTP_HOST`` and ``BESU_RPC_WS_HOST`` to 0.0.0.0,
    and Besu's environment variables override its configuration file: the service sets them
    back to the configuration's values.
    """
    lines = [
        "# Besu nodes of the consortium, written by `taxledger kit besu`. Each agency starts its",
        "# own on its own host: docker compose up -d NAME",
        "services:",
    ]
    for member in network.consortium.members:
        role = "validator" if member.name in network.validators else "member node"
        lines += [
            f"  {member.name}:  # {role}",
            f"    image: {BESU_IMAGE}",
            "    network_mode: host",
            "    restart: unless-stopped",
            f'    command: ["--config-file={CONTAINER_ROOT}/node/{NODE_CONFIG}"]',
            "    environment:",
            f'      BESU_RPC_HTTP_HOST: "{member.rpc_host}"',
            '      BESU_RPC_WS_HOST: "127.0.0.1"',
            "    volumes:",
            f"      - ./{GENESIS_FILE}:{CONTAINER_ROOT}/{GENESIS_FILE}:ro",
            f"      - ./{STATIC_NODES_FILE}:{CONTAINER_ROOT}/{STATIC_NODES_FILE}:ro",
            f"      - ./nodes/{member.name}:{CONTAINER_ROOT}/node",
        ]
    return "\n".join(lines) + "\n"


def gateway_config(member: Member) -> str:
    """A ``gateway.toml`` for the agency's gateway, against its own node, with one
    confirmation: a QBFT block is final once added, so the block that holds a batch is all
    the confirmation it needs."""
    rows: list[tuple[str, object] | str] = [
        f"Gateway of {member.name}, next to its own node. Put the files named here beside it:",
        "its keystores and password file, the deployment file of `taxledger chain deploy`,",
        "the API keys (`taxledger gateway keys add`), its encryption key file and the keyring",
        "issued to it (`taxledger keyring issue`), sealed to that key.",
        ("agency", member.name),
        ("chain", member.rpc_url),
        ("deployment", "deployment.json"),
        "QBFT blocks are final once added: the block that holds a batch is its confirmation.",
        ("confirmations", 1),
        ("keystore", f"{member.name}.keystore.json"),
        ("password_file", f"{member.name}.password"),
    ]
    if member.sender is not None:
        rows += [
            "Transactions are paid by the agency's sender account.",
            ("sender_keystore", f"{member.name}-sender.keystore.json"),
        ]
    rows += [
        ("database", "outbox.sqlite"),
        ("api_keys", "api-keys.json"),
        ("keyring", f"{member.name}.keyring.json"),
        ("encryption_key_file", f"{member.name}.encryption.pem"),
        "Where the other members' gateways answer exchange requests (`taxledger chain directory`).",
        ("directory_file", "directory.json"),
        ("host", "127.0.0.1"),
        ("port", 8080),
    ]
    return _toml_lines(rows)


# -- the directory ---------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_network(network: Network, out: Path) -> None:
    """Every file but the genesis and the node keys, from ``network``."""
    consortium = network.consortium
    _write(out / STATIC_NODES_FILE, json.dumps(network.enodes, indent=2) + "\n")
    permissions = permissions_config(network)
    writers = writer_kinds()
    for member in consortium.members:
        folder = out / "nodes" / member.name
        _write(folder / NODE_CONFIG, node_config(network, member))
        _write(folder / PERMISSIONS_FILE, permissions)
        if member.kind in writers:
            _write(out / "gateways" / member.name / GATEWAY_CONFIG, gateway_config(member))
    _write(out / COMPOSE_FILE, compose_file(network))
    sizing = qbft.size_gas_limit(len(consortium.members), consortium.gas_limit)
    _write(out / "README.md", render_readme(network, sizing, writers))
    state = {
        "format": FORMAT,
        "chain_id": consortium.chain_id,
        "deployer": consortium.deployer,
        "genesis_sha256": _digest(out / GENESIS_FILE),
        "validators": list(network.validators),
        "nodes": {
            name: {"enode": network.enode(name), "address": identity.address}
            for name, identity in network.nodes.items()
        },
    }
    _write(out / KIT_FILE, json.dumps(state, indent=2) + "\n")


def generate(consortium: Consortium, out: Path) -> Network:
    """Write a new network's directory ``out``: node keys, genesis and every node's files."""
    if (out / KIT_FILE).exists() or (out / GENESIS_FILE).exists():
        raise KitError(
            f"{out} holds a network already; its genesis must not change once nodes run it: "
            "use `taxledger kit besu add-validator` / `remove-validator`, or choose a new --out"
        )
    evm_version = qbft.contracts_evm_version()
    nodes = {m.name: create_node_key(out / "nodes" / m.name) for m in consortium.members}
    validators = tuple(m.name for m in consortium.validators)
    doc = qbft.build_genesis(consortium, [nodes[name].address for name in validators], evm_version)
    _write(out / GENESIS_FILE, json.dumps(doc, indent=2) + "\n")
    network = Network(consortium, validators, nodes)
    _write_network(network, out)
    return network


def load_state(out: Path) -> dict[str, Any]:
    """``kit.json`` of a generated directory, checked against its genesis."""
    path = out / KIT_FILE
    if not path.is_file():
        raise KitError(f"{out} holds no network ({KIT_FILE} missing); generate one first")
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if state.get("format") != FORMAT:
        raise KitError(f"{path} is not a {FORMAT} file")
    genesis = out / GENESIS_FILE
    if not genesis.is_file() or _digest(genesis) != state["genesis_sha256"]:
        raise KitError(
            f"{genesis} is missing or differs from the genesis the kit wrote; every node must "
            "boot the same genesis, so restore it before changing validators"
        )
    return state


def change_validator(consortium: Consortium, out: Path, name: str, *, add: bool) -> ValidatorChange:
    """Add (``add``) or remove validator ``name``: rewrite the directory's files from the
    member list (new members get node keys, departed members leave the allowlists) and return
    the votes the current validators must cast."""
    state = load_state(out)
    if consortium.chain_id != state["chain_id"] or consortium.deployer != state["deployer"]:
        raise KitError(
            f"the member list names chain {consortium.chain_id} and deployer "
            f"{consortium.deployer}, {out} holds chain {state['chain_id']} with deployer "
            f"{state['deployer']}: the genesis cannot change"
        )
    current = tuple(state["validators"])
    listed = {m.name for m in consortium.members}
    if add and name in current:
        raise KitError(f"{name} is a validator already")
    if not add and name not in current:
        raise KitError(f"{name} is not a validator; the validators are {', '.join(current)}")
    if add and not consortium.member(name).validator:
        raise KitError(f"{name} has validator = false in the member list; set it to true")
    if not add and name in listed and consortium.member(name).validator:
        raise KitError(f"{name} has validator = true in the member list; set it to false")
    if not add and len(current) == 1:
        raise KitError(f"{name} is the only validator; QBFT cannot run without one")
    validators = (*current, name) if add else tuple(v for v in current if v != name)
    wanted = {m.name for m in consortium.validators}
    if wanted != set(validators):
        others = sorted(wanted.symmetric_difference(validators) - {name})
        raise KitError(
            f"the member list also changes validator(s) {', '.join(others)}; change one "
            "validator at a time"
        )
    nodes: dict[str, NodeIdentity] = {}
    known = [m for m in consortium.members if m.name in state["nodes"]]
    for member in known:
        folder = out / "nodes" / member.name
        nodes[member.name] = read_node_key(folder)
        if f"//{nodes[member.name].node_id}@" not in state["nodes"][member.name]["enode"]:
            raise KitError(
                f"{folder / 'key'} is not the key of {member.name}'s enode in {KIT_FILE}; "
                "restore the node's own key: its peers allow only that one"
            )
    # New members' keys are made only once every check has passed.
    new_nodes = [m.name for m in consortium.members if m.name not in state["nodes"]]
    for new in new_nodes:
        nodes[new] = create_node_key(out / "nodes" / new)
    nodes = {m.name: nodes[m.name] for m in consortium.members}
    address = nodes[name].address if add else str(state["nodes"][name]["address"])
    network = Network(consortium, validators, nodes)
    _write_network(network, out)
    voters = [consortium.member(v) for v in current if v != name and v in listed]
    votes = tuple(VoteCall(voter, address, add) for voter in voters)
    dropped = tuple(n for n in state["nodes"] if n not in listed)
    return ValidatorChange(
        network, name, address, add, votes, len(current) // 2 + 1, tuple(new_nodes), dropped
    )
