"""Agency and sender keys: encrypted keystore files (Web3 Secret Storage) and in-memory signers.

A private key never leaves this module in plain text: it is not printed, logged, stored
unencrypted or shown by ``repr``.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from coincurve import PrivateKey
from eth_account import Account

from ledger_node.eip712 import address_of_public_key, sign_digest
from ledger_node.errors import ConfigurationError

_MIN_PASSWORD = 8


class KeystoreError(ConfigurationError):
    """A keystore or its password cannot be used."""


class LocalKey:
    """A secp256k1 key held in memory, able to sign digests."""

    __slots__ = ("_key", "address")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise KeystoreError("a private key is 32 bytes")
        self._key = PrivateKey(secret)
        #: Lowercase 0x address of the key.
        self.address: str = address_of_public_key(self._key.public_key)

    @classmethod
    def generate(cls) -> LocalKey:
        """A fresh random key."""
        return cls(secrets.token_bytes(32))

    def sign_digest(self, digest: bytes) -> bytes:
        """65-byte ``r || s || v`` signature of a 32-byte digest."""
        return sign_digest(self._key, digest)

    def sign_recoverable(self, digest: bytes) -> tuple[int, int, int]:
        """``(y_parity, r, s)`` of a signature over ``digest``, for transactions."""
        raw = self._key.sign_recoverable(digest, hasher=None)
        return raw[64], int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big")

    def to_keystore(self, password: str) -> dict[str, object]:
        """This key encrypted as a Web3 Secret Storage document."""
        document: dict[str, object] = Account.encrypt(self._key.secret, password)
        return document

    def __repr__(self) -> str:
        return f"LocalKey({self.address})"


def read_password(*, file: str | Path | None = None, env: str | None = None) -> str:
    """The keystore password from a file (first line) or an environment variable."""
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise KeystoreError(f"password file {path} does not exist")
        password = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    elif env is not None:
        if env not in os.environ:
            raise KeystoreError(
                f"environment variable {env} holding the keystore password is not set"
            )
        password = os.environ[env]
    else:
        raise KeystoreError("give the keystore password through a file or an environment variable")
    if len(password) < _MIN_PASSWORD:
        raise KeystoreError(f"the keystore password must have at least {_MIN_PASSWORD} characters")
    return password


def new_keystore(path: str | Path, password: str) -> LocalKey:
    """Create a new key and write it encrypted to ``path`` (which must not exist)."""
    target = Path(path)
    if target.exists():
        raise KeystoreError(f"{target} exists already; refusing to overwrite a key")
    key = LocalKey.generate()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(key.to_keystore(password), out)
    return key


def load_keystore(path: str | Path, password: str) -> LocalKey:
    """Decrypt the keystore at ``path``."""
    source = Path(path)
    if not source.is_file():
        raise KeystoreError(f"keystore {source} does not exist")
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except ValueError:
        raise KeystoreError(f"keystore {source} is not JSON") from None
    try:
        secret = Account.decrypt(document, password)
    except ValueError:
        raise KeystoreError(f"wrong password for keystore {source}") from None
    return LocalKey(bytes(secret))


def keystore_address(path: str | Path) -> str:
    """The address a keystore file declares, read without decrypting it."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return "0x" + str(document["address"]).lower().removeprefix("0x")
