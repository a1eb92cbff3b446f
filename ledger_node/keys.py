"""Agency and sender keys: encrypted keystore files (Web3 Secret Storage) and in-memory signers;
agency encryption keys (X25519, for HPKE) in encrypted PKCS#8 files.

A private key never leaves this module in plain text: it is not printed, logged, stored
unencrypted or shown by ``repr``. Key files are created owner-only (0600), and the folders
created for them too (0700).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path
from typing import IO

from coincurve import PrivateKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from eth_account import Account

from ledger_node.eip712 import address_of_public_key, sign_digest
from ledger_node.errors import ConfigurationError

_MIN_PASSWORD = 8
#: scrypt's cost parameter N for new keystores: Web3 Secret Storage's standard 2**18 (about a
#: second and 256 MB to open, which is the point: it makes guessing a stolen file's password
#: slow).
KEYSTORE_SCRYPT_N = 1 << 18


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

    def to_keystore(self, password: str, *, scrypt_n: int = KEYSTORE_SCRYPT_N) -> dict[str, object]:
        """This key encrypted as a Web3 Secret Storage document.

        ``scrypt_n`` below :data:`KEYSTORE_SCRYPT_N` makes a document that is cheap to open,
        and as cheap to attack: only for throwaway keys in tests, which open keystores in
        dozens of processes. Nothing in taxledger passes it; the file records its cost, so
        opening needs no option.
        """
        if scrypt_n < 2 or scrypt_n & (scrypt_n - 1):
            raise KeystoreError(f"scrypt_n must be a power of two above 1, not {scrypt_n}")
        document: dict[str, object] = Account.encrypt(
            self._key.secret, password, kdf="scrypt", iterations=scrypt_n
        )
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


def _create_private_file(path: str | Path) -> IO[str]:
    """``path`` opened for writing as a new owner-only file (its new folders owner-only too)."""
    target = Path(path)
    if target.exists():
        raise KeystoreError(f"{target} exists already; refusing to overwrite a key")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")


def new_keystore(path: str | Path, password: str, *, scrypt_n: int = KEYSTORE_SCRYPT_N) -> LocalKey:
    """Create a new key and write it encrypted to ``path`` (which must not exist);
    ``scrypt_n``: see :meth:`LocalKey.to_keystore` (tests only)."""
    key = LocalKey.generate()
    with _create_private_file(path) as out:
        json.dump(key.to_keystore(password, scrypt_n=scrypt_n), out)
    return key


def load_keystore(path: str | Path, password: str) -> LocalKey:
    """Decrypt the keystore at ``path``."""
    source = Path(path)
    if not source.is_file():
        raise KeystoreError(f"keystore {source} does not exist")
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except ValueError:
        raise KeystoreError(
            f"keystore {source} is not JSON; give the file `taxledger keys new` wrote"
        ) from None
    try:
        secret = Account.decrypt(document, password)
    except (KeyError, TypeError, AttributeError):
        raise KeystoreError(
            f"{source} is not a keystore (Web3 Secret Storage); give the file `taxledger keys "
            "new` wrote"
        ) from None
    except ValueError:
        raise KeystoreError(
            f"wrong password for keystore {source}; give the password it was created with"
        ) from None
    return LocalKey(bytes(secret))


def keystore_address(path: str | Path) -> str:
    """The address a keystore file declares, read without decrypting it."""
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
        address = bytes.fromhex(str(document["address"]).lower().removeprefix("0x"))
    except (OSError, ValueError, KeyError, TypeError):
        raise KeystoreError(
            f"{source} is not a keystore (a JSON file with an address); create one with "
            "`taxledger keys new`"
        ) from None
    if len(address) != 20:
        raise KeystoreError(f"keystore {source} declares no 20-byte address")
    return "0x" + address.hex()


# -- encryption keys ---------------------------------------------------------------------------

_PEM_BLOCK = re.compile(
    r"-----BEGIN (?P<label>[A-Z ]+)-----\n[A-Za-z0-9+/=\n]+-----END (?P=label)-----\n?"
)
_PUBLIC_LABEL = "PUBLIC KEY"
_PRIVATE_LABEL = "ENCRYPTED PRIVATE KEY"


class EncryptionKey:
    """An agency's X25519 key pair (RFC 7748), held in memory: other agencies encrypt to its
    public key what they disclose to it (HPKE, RFC 9180)."""

    __slots__ = ("_key", "public_key")

    def __init__(self, private_key: X25519PrivateKey) -> None:
        self._key = private_key
        #: The 32-byte public key, as the member registry holds it.
        self.public_key: bytes = private_key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> EncryptionKey:
        """A fresh random key pair."""
        return cls(X25519PrivateKey.generate())

    def private_key(self) -> X25519PrivateKey:
        """The private key, for decryption (HPKE); never to be written out unencrypted."""
        return self._key

    @property
    def public_hex(self) -> str:
        """The public key as ``0x`` + 64 hex digits."""
        return "0x" + self.public_key.hex()

    def to_pem(self, password: str) -> str:
        """The key file's text: the public key in the clear (so a deployment can read it without
        the password), then the private key as PKCS#8 encrypted with ``password``."""
        public = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password.encode()),
        )
        return public.decode() + private.decode()

    def __repr__(self) -> str:
        return f"EncryptionKey({self.public_hex})"


def new_encryption_keyfile(path: str | Path, password: str) -> EncryptionKey:
    """Create a new encryption key pair and write it to ``path`` (which must not exist)."""
    key = EncryptionKey.generate()
    with _create_private_file(path) as out:
        out.write(key.to_pem(password))
    return key


def _pem_blocks(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise KeystoreError(f"encryption key file {path} does not exist")
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        text = ""
    blocks = {m["label"]: m[0].encode() for m in _PEM_BLOCK.finditer(text)}
    if set(blocks) != {_PUBLIC_LABEL, _PRIVATE_LABEL}:
        raise KeystoreError(
            f"{path} is not an encryption key file (a PEM public key and an encrypted PKCS#8 "
            "private key); create one with `taxledger keys new --encryption`"
        )
    return blocks


def _x25519_public(pem: bytes, path: Path) -> bytes:
    try:
        public = serialization.load_pem_public_key(pem)
    except ValueError:
        public = None
    if not isinstance(public, X25519PublicKey):
        raise KeystoreError(f"the public key in {path} is not an X25519 key")
    return public.public_bytes_raw()


def encryption_public_key(path: str | Path) -> bytes:
    """The 32-byte public key of an encryption key file, read without the password."""
    source = Path(path)
    return _x25519_public(_pem_blocks(source)[_PUBLIC_LABEL], source)


def load_encryption_keyfile(path: str | Path, password: str) -> EncryptionKey:
    """Decrypt the encryption key file at ``path``; its public part must match the private."""
    source = Path(path)
    blocks = _pem_blocks(source)
    try:
        private = serialization.load_pem_private_key(blocks[_PRIVATE_LABEL], password.encode())
    except ValueError:
        raise KeystoreError(f"wrong password for encryption key file {source}") from None
    if not isinstance(private, X25519PrivateKey):
        raise KeystoreError(f"the private key in {source} is not an X25519 key")
    key = EncryptionKey(private)
    if _x25519_public(blocks[_PUBLIC_LABEL], source) != key.public_key:
        raise KeystoreError(
            f"the public key written in {source} is not its private key's; the file was altered"
        )
    return key


def parse_encryption_public_key(text: str) -> bytes:
    """An encryption public key given as ``0x`` + 64 hex digits or as an encryption key file."""
    if text.startswith("0x"):
        try:
            raw = bytes.fromhex(text[2:])
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise KeystoreError(f"{text!r} is not a 32-byte key (0x followed by 64 hex digits)")
        if not any(raw):
            raise KeystoreError("an encryption key must not be zero")
        return raw
    return encryption_public_key(text)
