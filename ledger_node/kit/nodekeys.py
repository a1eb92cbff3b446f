"""Besu node keys: the secp256k1 key a node signs P2P handshakes and, as a validator, blocks
with. Its public key is the node's enode id; its address is the validator's address.

Besu reads the key as hex from a plain file (``node-private-key-file``), so the kit writes it
owner-only (mode 0600) and never prints it; only the enode and the address leave this module.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from coincurve import PrivateKey

from ledger_node.eip712 import address_of_public_key
from ledger_node.kit.members import KitError, Member

KEY_FILE = "key"


@dataclass(frozen=True)
class NodeIdentity:
    """The public side of a node key."""

    #: 64-byte uncompressed public key, hex without 0x: the enode id.
    node_id: str
    #: The key's address: what QBFT lists as a validator.
    address: str

    def enode(self, member: Member) -> str:
        """The node's enode URL at the member's P2P address."""
        host = f"[{member.host}]" if ":" in member.host else member.host
        return f"enode://{self.node_id}@{host}:{member.p2p_port}"


def _identity(key: PrivateKey) -> NodeIdentity:
    public = key.public_key
    return NodeIdentity(public.format(compressed=False)[1:].hex(), address_of_public_key(public))


def create_node_key(folder: Path) -> NodeIdentity:
    """Write a new node key to ``folder/key`` (owner-only; refuses to overwrite one)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / KEY_FILE
    key = PrivateKey(secrets.token_bytes(32))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KitError(f"{path} exists already; refusing to overwrite a node key") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write("0x" + key.secret.hex() + "\n")
    return _identity(key)


def read_node_key(folder: Path) -> NodeIdentity:
    """The identity of the node key in ``folder/key``."""
    path = folder / KEY_FILE
    if not path.is_file():
        raise KitError(f"node key {path} is missing; the node cannot keep its enode without it")
    if path.stat().st_mode & 0o077:
        raise KitError(f"node key {path} is readable by others; run `chmod 600 {path}`")
    text = path.read_text(encoding="ascii").strip().removeprefix("0x")
    try:
        secret = bytes.fromhex(text)
        return _identity(PrivateKey(secret))
    except ValueError:
        raise KitError(f"node key {path} does not hold a 32-byte hex key") from None
