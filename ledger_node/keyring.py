"""Keyring files: an agency's subject-tag domain keys, sealed to its encryption key.

A keyring file (``taxledger.keyring/v1``, JSON, owner-only) holds one HPKE envelope
(RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode, from the
``cryptography`` package) per domain key version, each sealed to the X25519 encryption key the
agency registered on the ledger, with ``info = "taxledger.tag-key/v1" ‖ domain id ‖
uint32_be(version)`` so that an envelope opens only as the key it was sealed as. No domain key
is ever written in plain text: the file an agency is handed *is* its keyring, and only its
encryption key's private half opens it.

Who gets which key is the ledger's to say: :func:`issue_keyring` seals, for one member, the
key versions of exactly the domains whose on-chain holder mask names the member's kind, and
only keys whose commitment the ledger registered. A rotation is governance registering a
domain's next version (:func:`next_version` makes the key and its commitment); keyrings then
get the new version beside the old ones, so tags made under an old version stay verifiable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from ledger_node.agencies import AgencyKind
from ledger_node.chain.ledger import LedgerClient
from ledger_node.errors import ConfigurationError
from ledger_node.keys import EncryptionKey
from ledger_node.private_files import write_private
from ledger_node.tagging import Keyring
from ledger_node.tagkeys import domain_label, key_commitment, new_domain_key, tag_domain_id

FORMAT: Final = "taxledger.keyring/v1"
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
_INFO: Final = b"taxledger.tag-key/v1"


class KeyringError(ConfigurationError):
    """A keyring file is missing, malformed, not this agency's, or holds a key the ledger did
    not register."""


@dataclass(frozen=True)
class KeyVersion:
    """A domain key version as the ledger registers it: domain name, version, holder kinds
    and the key's commitment (see :class:`ledger_node.chain.ledger.TagKeyVersion`)."""

    domain: str
    version: int
    holders: frozenset[AgencyKind]
    commitment: bytes


def _info(domain: str, version: int) -> bytes:
    return _INFO + tag_domain_id(domain) + version.to_bytes(4, "big")


def seal_key(recipient: bytes, domain: str, version: int, key: bytes) -> bytes:
    """One domain key version sealed to the X25519 public key ``recipient`` (32 bytes)."""
    return _SUITE.encrypt(key, X25519PublicKey.from_public_bytes(recipient), _info(domain, version))


def seal_keyring(keyring: Keyring, recipient: bytes, agency: str) -> dict[str, Any]:
    """The keyring document of ``keyring``'s keys sealed to ``recipient``, for ``agency``."""
    return {
        "format": FORMAT,
        "agency": agency,
        "recipient": "0x" + recipient.hex(),
        "keys": [
            {
                "domain": domain,
                "version": version,
                "envelope": "0x" + seal_key(recipient, domain, version, key).hex(),
            }
            for domain in keyring.domains
            for version, key in sorted(keyring.keys[domain].items())
        ],
    }


def write_keyring(path: Path, keyring: Keyring, recipient: bytes, agency: str) -> Path:
    """Seal ``keyring`` to ``recipient`` and write it to ``path``, owner-only."""
    document = seal_keyring(keyring, recipient, agency)
    return write_private(path, json.dumps(document, indent=2) + "\n")


def open_keyring(
    path: Path, key: EncryptionKey, *, registered: Iterable[KeyVersion] | None = None
) -> Keyring:
    """Open the keyring file at ``path`` with the agency's encryption key. With
    ``registered`` (the ledger's key versions), every key must match its registered
    commitment."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyringError(
            f"keyring file {path} does not exist; have it issued with `taxledger keyring issue`"
        ) from None
    except (OSError, ValueError) as exc:
        raise KeyringError(f"keyring file {path} is not readable JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeyringError(f"{path} is not a {FORMAT} keyring file")
    if document.get("recipient") != key.public_hex:
        raise KeyringError(
            f"keyring file {path} is sealed to {document.get('recipient')}, not to this "
            f"agency's encryption key {key.public_hex}: have a keyring issued to this key"
        )
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise KeyringError(f"keyring file {path}: keys must be a list")
    keys: dict[str, dict[int, bytes]] = {}
    for index, entry in enumerate(entries):
        domain, version, envelope = _entry(path, index, entry)
        try:
            opened = _SUITE.decrypt(envelope, key.private_key(), _info(domain, version))
        except (InvalidTag, ValueError):
            raise KeyringError(
                f"keyring file {path}: the envelope of {domain} version {version} does not "
                "open with this agency's key (altered, or sealed as another key)"
            ) from None
        keys.setdefault(domain, {})[version] = opened
    keyring = Keyring(keys)
    if registered is not None:
        check_registered(keyring, registered)
    return keyring


def _entry(path: Path, index: int, entry: object) -> tuple[str, int, bytes]:
    where = f"keyring file {path}: keys[{index}]"
    if not isinstance(entry, dict) or set(entry) != {"domain", "version", "envelope"}:
        raise KeyringError(f"{where} must have domain, version and envelope")
    domain, version, envelope = entry["domain"], entry["version"], entry["envelope"]
    if not isinstance(domain, str) or type(version) is not int or version < 1:
        raise KeyringError(f"{where}: a domain name and a version from 1")
    if not isinstance(envelope, str) or not envelope.startswith("0x"):
        raise KeyringError(f"{where}: the envelope must be 0x-prefixed hex")
    try:
        return domain, version, bytes.fromhex(envelope[2:])
    except ValueError:
        raise KeyringError(f"{where}: the envelope must be 0x-prefixed hex") from None


def check_registered(keyring: Keyring, registered: Iterable[KeyVersion]) -> None:
    """Every key of ``keyring`` must be a version the ledger registered, with its commitment."""
    known = {(v.domain, v.version): v.commitment for v in registered}
    for domain in keyring.domains:
        for version in keyring.keys[domain]:
            commitment = known.get((domain, version))
            if commitment is None:
                raise KeyringError(
                    f"the keyring holds {domain} version {version}, which the ledger has not "
                    "registered (propose it with `taxledger chain propose register-tag-key`)"
                )
            if keyring.commitment(domain, version) != commitment:
                raise KeyringError(
                    f"the keyring's key for {domain} version {version} is not the one the "
                    "ledger registered (its commitment differs)"
                )


def issue_keyring(master: Keyring, registered: Sequence[KeyVersion], kind: AgencyKind) -> Keyring:
    """The keys an agency of ``kind`` is to hold: of every registered version whose holders
    include ``kind``, the key from ``master`` (checked against its commitment)."""
    check_registered(master, registered)
    keys: dict[str, dict[int, bytes]] = {}
    for version in registered:
        if kind in version.holders and master.holds(version.domain, version.version):
            keys.setdefault(version.domain, {})[version.version] = master.key(
                version.domain, version.version
            )
    return Keyring(keys)


def next_version(keyring: Keyring, domain: str) -> tuple[Keyring, int, bytes]:
    """A fresh key for ``domain``'s next version: the keyring with it, the version, and the
    commitment governance registers (``Action.register_tag_key``)."""
    version = keyring.current(domain)[0] + 1 if domain in keyring.keys else 1
    key = new_domain_key()
    return (
        keyring.with_key(domain, version, key),
        version,
        key_commitment(tag_domain_id(domain), key),
    )


def registered_on(client: LedgerClient) -> list[KeyVersion]:
    """Every key version of every subject-tag domain the ledger has registered."""
    return [
        KeyVersion(domain_label(v.domain_id), v.version, frozenset(v.holders), v.key_commitment)
        for domain_id in client.tag_domains()
        for v in client.tag_key_versions(domain_id)
    ]


def keyring_path(directory: Path, agency: str) -> Path:
    """Where :func:`issue_keyrings` writes an agency's keyring."""
    return directory / f"{agency}.keyring.json"


def issue_keyrings(
    client: LedgerClient, master: Keyring, directory: Path, agencies: Iterable[str] | None = None
) -> dict[str, Path]:
    """Issue each member agency (or those named) its keyring file in ``directory``: the
    domains its kind holds, sealed to the encryption key the ledger registered for it."""
    registered = registered_on(client)
    wanted = None if agencies is None else set(agencies)
    paths = {}
    for agency in client.agencies():
        if wanted is not None and agency.name not in wanted:
            continue
        issued = issue_keyring(master, registered, agency.kind)
        paths[agency.name] = write_keyring(
            keyring_path(directory, agency.name), issued, agency.encryption_key, agency.name
        )
    return paths


def encryption_key_path(directory: Path, agency: str) -> Path:
    """Where :func:`provision_agencies` writes an agency's encryption key file."""
    return directory / f"{agency}.encryption.pem"


def provision_agencies(
    client: LedgerClient,
    master: Keyring,
    encryption_keys: Mapping[str, EncryptionKey],
    directory: Path,
    password: str,
) -> dict[str, tuple[Path, Path]]:
    """For a consortium founded in this process (a testnet, a test, a benchmark): each
    agency's encryption key file (encrypted with ``password``) and its keyring, in
    ``directory``; ``(encryption key file, keyring file)`` by agency."""
    for name, key in encryption_keys.items():
        write_private(encryption_key_path(directory, name), key.to_pem(password))
    keyrings = issue_keyrings(client, master, directory, encryption_keys)
    return {name: (encryption_key_path(directory, name), keyrings[name]) for name in keyrings}
