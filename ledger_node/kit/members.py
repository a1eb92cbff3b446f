"""The consortium's member list (``members.toml``): the one input of the Besu kit.

Every member agency runs a node; the member list says which nodes are QBFT validators, where
each node listens, and which accounts the agency signs and pays with. Only addresses are in
it: each agency creates its own keys (``taxledger keys new``) and hands over their addresses.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger_node.agencies import AgencyKind
from ledger_node.errors import ConfigurationError

#: Member names name directories and compose services, and are stored on chain at founding;
#: up to 31 bytes a name fits one storage slot, which the deployment gas bound assumes.
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,29}[a-z0-9])?")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

#: Chain ids of public networks and of development nodes' defaults: a consortium chain that
#: reused one would accept transactions signed for that other chain.
RESERVED_CHAIN_IDS = {
    1: "Ethereum mainnet",
    5: "Goerli",
    10: "OP Mainnet",
    56: "BNB Smart Chain",
    137: "Polygon",
    1337: "development nodes' default",
    17000: "Holesky",
    31337: "anvil's and Hardhat's default",
    560048: "Hoodi",
    11155111: "Sepolia",
}
#: EIP-2294's bound, the largest chain id every signer handles.
MAX_CHAIN_ID = 2**53 - 1

DEFAULT_P2P_PORT = 30303
DEFAULT_RPC_PORT = 8545
DEFAULT_OPERATOR_PORT = 8546


class KitError(ConfigurationError):
    """The member list or the kit's directory cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Member:
    """One member agency and its node."""

    name: str
    kind: AgencyKind
    validator: bool
    #: IP address other members' nodes connect to (the enode's host), and the port.
    host: str
    p2p_port: int
    #: The agency's own interface its gateway reaches the node's JSON-RPC on, and the port.
    rpc_host: str
    rpc_port: int
    #: Loopback-only WebSocket port of the node's operator APIs (QBFT votes, allowlist reload).
    operator_port: int
    #: Address of the agency's signing key (EIP-712 signatures; it also sends governance).
    signing_key: str
    #: Address of a separate account that pays for the gateway's transactions, if any.
    sender: str | None
    #: Extra names the agency's gateway may use for the node in its URL (``Host`` header).
    rpc_hostnames: tuple[str, ...] = ()

    @property
    def accounts(self) -> tuple[str, ...]:
        """Every account of the agency that sends transactions."""
        return (self.signing_key,) if self.sender is None else (self.signing_key, self.sender)

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC URL of the agency's node, as its gateway and ``chain deploy`` use it."""
        host = f"[{self.rpc_host}]" if ":" in self.rpc_host else self.rpc_host
        return f"http://{host}:{self.rpc_port}"


@dataclass(frozen=True)
class Consortium:
    """The whole member list."""

    chain_id: int
    deployer: str
    members: tuple[Member, ...]
    #: A larger block gas limit than the kit derives, if the consortium wants one.
    gas_limit: int | None = None

    @property
    def validators(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.validator)

    def member(self, name: str) -> Member:
        """The member called ``name``."""
        for member in self.members:
            if member.name == name:
                return member
        known = ", ".join(m.name for m in self.members)
        raise KitError(f"no member {name!r} in the member list; its members are {known}")

    @property
    def accounts(self) -> tuple[str, ...]:
        """Every account that sends transactions: the deployer and each agency's accounts."""
        return (self.deployer, *(a for m in self.members for a in m.accounts))


def _field(table: dict[str, Any], key: str, where: str, kind: type, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise KitError(f"{where}: {key} is missing")
        return default
    value = table[key]
    # TOML booleans are not integers here, though Python's bool is an int.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise KitError(f"{where}: {key} must be a {kind.__name__}, not {value!r}")
    return value


def _address(table: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = _field(table, key, where, str, ... if required else None)
    if value is None:
        return None
    if not _ADDRESS.fullmatch(value):
        raise KitError(f"{where}: {key} {value!r} is not a 0x-prefixed 20-byte hex address")
    return str(value).lower()


def _ip(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = _field(table, key, where, str, ... if default is None else default)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise KitError(
            f"{where}: {key} {value!r} is not an IP address; Besu's enode URLs and node "
            "allowlists match peers by IP address"
        ) from None


def _port(table: dict[str, Any], key: str, where: str, default: int) -> int:
    value = _field(table, key, where, int, default)
    if not 1 <= value <= 65_535:
        raise KitError(f"{where}: {key} {value} is not a TCP port (1 to 65535)")
    return int(value)


def _member(table: Any, index: int) -> Member:
    where = f"member #{index + 1}"
    if not isinstance(table, dict):
        raise KitError(f"{where} must be a table ([[member]])")
    allowed = {
        "name",
        "kind",
        "validator",
        "host",
        "p2p_port",
        "rpc_host",
        "rpc_port",
        "operator_port",
        "signing_key",
        "sender",
        "rpc_hostnames",
    }
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise KitError(f"{where}: unknown field(s) {', '.join(unknown)}")
    name = _field(table, "name", where, str)
    if not _NAME.fullmatch(name):
        raise KitError(
            f"{where}: name {name!r} must be 1 to 31 lowercase letters, digits or inner hyphens"
        )
    where = f"member {name!r}"
    try:
        kind = AgencyKind.parse(_field(table, "kind", where, str))
    except ValueError as exc:
        raise KitError(f"{where}: {exc}") from None
    host = _ip(table, "host", where)
    hostnames = _field(table, "rpc_hostnames", where, list, [])
    if not all(isinstance(h, str) and h for h in hostnames):
        raise KitError(f"{where}: rpc_hostnames must be a list of host names")
    member = Member(
        name=name,
        kind=kind,
        validator=_field(table, "validator", where, bool),
        host=host,
        p2p_port=_port(table, "p2p_port", where, DEFAULT_P2P_PORT),
        rpc_host=_ip(table, "rpc_host", where, host),
        rpc_port=_port(table, "rpc_port", where, DEFAULT_RPC_PORT),
        operator_port=_port(table, "operator_port", where, DEFAULT_OPERATOR_PORT),
        signing_key=str(_address(table, "signing_key", where)),
        sender=_address(table, "sender", where, required=False),
        rpc_hostnames=tuple(hostnames),
    )
    if member.sender == member.signing_key:
        raise KitError(f"{where}: sender is the signing key; leave sender out instead")
    if member.operator_port == member.rpc_port and member.rpc_host in ("127.0.0.1", "::1"):
        raise KitError(f"{where}: operator_port and rpc_port are both {member.rpc_port}")
    return member


def parse_members(doc: dict[str, Any], source: str = "the member list") -> Consortium:
    """A :class:`Consortium` from a parsed member list; every problem is a :class:`KitError`."""
    network = doc.get("network")
    if not isinstance(network, dict):
        raise KitError(f"{source}: a [network] table with chain_id and deployer is missing")
    chain_id = _field(network, "chain_id", "[network]", int)
    if not 1 <= chain_id <= MAX_CHAIN_ID:
        raise KitError(f"[network]: chain_id {chain_id} must be between 1 and {MAX_CHAIN_ID}")
    if chain_id in RESERVED_CHAIN_IDS:
        raise KitError(
            f"[network]: chain_id {chain_id} is {RESERVED_CHAIN_IDS[chain_id]}'s; pick an id no "
            "other chain uses, or transactions signed for one chain replay on the other"
        )
    gas_limit = _field(network, "gas_limit", "[network]", int, None)
    tables = doc.get("member")
    if not isinstance(tables, list) or not tables:
        raise KitError(f"{source}: no [[member]] tables")
    members = tuple(_member(t, i) for i, t in enumerate(tables))
    consortium = Consortium(
        chain_id=chain_id,
        deployer=str(_address(network, "deployer", "[network]")),
        members=members,
        gas_limit=gas_limit,
    )
    _check_unique(consortium)
    if not consortium.validators:
        raise KitError(f"{source}: no member is a validator; QBFT needs at least one")
    return consortium


def _check_unique(consortium: Consortium) -> None:
    owners: dict[object, str] = {}

    def claim(key: object, what: str, owner: str) -> None:
        if key in owners:
            raise KitError(f"{what} is used twice: by {owners[key]} and by {owner}")
        owners[key] = owner

    claim(consortium.deployer, f"address {consortium.deployer}", "the deployer")
    for m in consortium.members:
        owner = f"member {m.name!r}"
        claim(("name", m.name), f"the name {m.name!r}", owner)
        claim((m.host, m.p2p_port), f"P2P address {m.host}:{m.p2p_port}", owner)
        for address in m.accounts:
            claim(address, f"address {address}", owner)


def load_members(path: Path) -> Consortium:
    """Read and check the member list at ``path``."""
    if not path.is_file():
        raise KitError(f"member list {path} does not exist")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise KitError(f"member list {path} is not valid TOML: {exc}") from None
    return parse_members(doc, str(path))
