"""API keys: ``Authorization: Bearer <key>``, stored as SHA-256 hashes with their roles.

Keys are 32 random bytes, so a plain SHA-256 is enough to make a stolen key file useless (a
slow hash defends guessable passwords, and would cost milliseconds on every request).
Lookups compare every stored hash in constant time.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from ledger_node.errors import ConfigurationError

FORMAT = "taxledger.gateway-keys/v1"
_PREFIX = "tlk_"


class Role(enum.StrEnum):
    """What an API key may do."""

    SUBMIT = "submit"
    READ = "read"
    REVOKE = "revoke"
    #: Ask other agencies for facts through this gateway (``POST /v1/exchange/queries``).
    QUERY = "query"
    #: List who saw what about a taxpayer, for its portal (``GET /v1/disclosures``).
    PORTAL = "portal"

    @classmethod
    def parse_list(cls, text: str) -> frozenset[Role]:
        """Roles from ``"submit,read"``."""
        roles = set()
        for part in text.split(","):
            name = part.strip().lower()
            try:
                roles.add(cls(name))
            except ValueError:
                allowed = ", ".join(r.value for r in cls)
                raise ConfigurationError(f"unknown role {name!r}; expected {allowed}") from None
        if not roles:
            raise ConfigurationError("give at least one role")
        return frozenset(roles)


@dataclass(frozen=True)
class ApiKey:
    """A stored key: its name, roles and hash (never the key itself)."""

    name: str
    roles: frozenset[Role]
    digest: bytes


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _read(path: Path) -> list[ApiKey]:
    if not path.is_file():
        raise ConfigurationError(
            f"API-key file {path} does not exist; create a key with "
            "`taxledger gateway keys add --config FILE --name NAME --roles submit,read`"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise ConfigurationError(f"{path} is not an API-key file (format {FORMAT!r})")
        return [
            ApiKey(
                str(k["name"]),
                frozenset(Role(r) for r in k["roles"]),
                bytes.fromhex(str(k["sha256"])),
            )
            for k in doc["keys"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"API-key file {path} is malformed: {exc}") from None


def add_key(path: Path, name: str, roles: frozenset[Role]) -> str:
    """Create a key called ``name`` with ``roles`` in the file at ``path``; return the key.

    The key is shown only here: the file keeps its hash.
    """
    keys = _read(path) if path.exists() else []
    if any(k.name == name for k in keys):
        raise ConfigurationError(f"{path} has a key called {name!r} already; pick another name")
    key = _PREFIX + secrets.token_urlsafe(32)
    keys.append(ApiKey(name, roles, _digest(key)))
    doc = {
        "format": FORMAT,
        "keys": [
            {"name": k.name, "roles": sorted(r.value for r in k.roles), "sha256": k.digest.hex()}
            for k in keys
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written to a new file and renamed, so a running gateway never reads half a file.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(doc, out, indent=2)
    tmp.replace(path)
    return key


class ApiKeyring:
    """The keys of one gateway, re-read when the key file changes (so added keys work at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime = path.stat().st_mtime_ns if path.exists() else 0
        self._keys = _read(path)
        if not self._keys:
            raise ConfigurationError(f"API-key file {path} holds no key; add one first")

    def _current(self) -> list[ApiKey]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return self._keys
        if mtime != self._mtime:
            # A broken edit keeps the last good keys rather than locking every client out.
            with self._lock, contextlib.suppress(ConfigurationError):
                self._keys, self._mtime = _read(self.path), mtime
        return self._keys

    def authenticate(self, presented: str) -> ApiKey | None:
        """The key matching ``presented``, or None."""
        digest = _digest(presented)
        found = None
        for key in self._current():
            # No early exit: the time taken does not tell which key, if any, matched.
            if hmac.compare_digest(key.digest, digest):
                found = key
        return found
