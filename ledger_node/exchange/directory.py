"""The consortium directory: where each member agency's gateway answers exchange requests.

A ``taxledger.directory/v1`` JSON file, named in each gateway's settings
(``directory_file``), pinned to one chain and ledger so a directory of another consortium
is refused::

    {"format": "taxledger.directory/v1", "chain_id": 31337, "ledger": "0x…",
     "gateways": {"tax-bureau": "https://tax.example:8443", "bank": "https://…"}}

It says where to send a request, not whom to trust: a provider authenticates a requester by
its signature against the chain, and a requester verifies every answer against the chain.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from ledger_node.errors import ConfigurationError

FORMAT: Final = "taxledger.directory/v1"


@dataclass(frozen=True)
class Directory:
    """Gateway URLs by agency name, for one ledger."""

    chain_id: int
    ledger: str
    gateways: dict[str, str]

    @classmethod
    def loopback(cls, chain_id: int, ledger: str, ports: dict[str, int]) -> Directory:
        """The directory of gateways on this machine, each at its loopback port (the demo,
        the testnet, tests and benchmarks)."""
        return cls(
            chain_id, ledger, {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        )

    @classmethod
    def of(cls, chain_id: int, ledger: str, gateways: dict[str, str]) -> Directory:
        """A directory whose every gateway URL is http(s) with a host; ConfigurationError
        naming the first that is not. Trailing slashes are dropped."""
        for name, url in gateways.items():
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigurationError(
                    f"the gateway URL of {name} ({url!r}) is not http(s)://HOST[:PORT]"
                )
        return cls(chain_id, ledger.lower(), {k: v.rstrip("/") for k, v in gateways.items()})

    def url_of(self, agency: str) -> str:
        """The gateway URL of ``agency``; ConfigurationError if the directory has none."""
        try:
            return self.gateways[agency]
        except KeyError:
            known = ", ".join(sorted(self.gateways)) or "none"
            raise ConfigurationError(
                f"the consortium directory lists no gateway for {agency!r} (it lists {known}); "
                "add the agency's gateway URL to the directory file"
            ) from None

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "chain_id": self.chain_id,
            "ledger": self.ledger,
            "gateways": dict(sorted(self.gateways.items())),
        }

    def save(self, path: Path) -> None:
        """Write the directory to ``path``, replacing any file there atomically: a gateway
        reading it, or a write cut short, never sees half a directory."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as out:
                out.write(json.dumps(self.to_json(), indent=2) + "\n")
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, *, chain_id: int, ledger: str) -> Directory:
        """Read ``path``; refuse a directory of another chain or ledger."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"consortium directory {path} does not exist") from None
        except ValueError as exc:
            raise ConfigurationError(f"consortium directory {path} is not JSON: {exc}") from None
        if type(doc) is not dict or doc.get("format") != FORMAT:
            raise ConfigurationError(f"{path} is not a {FORMAT} file")
        gateways = doc.get("gateways")
        if type(gateways) is not dict or not all(
            type(k) is str and type(v) is str for k, v in gateways.items()
        ):
            raise ConfigurationError(f"{path}: gateways must map agency names to URLs")
        if doc.get("chain_id") != chain_id or str(doc.get("ledger", "")).lower() != ledger.lower():
            raise ConfigurationError(
                f"consortium directory {path} is for ledger {doc.get('ledger')} on chain "
                f"{doc.get('chain_id')}, not {ledger} on chain {chain_id}"
            )
        try:
            return cls.of(chain_id, ledger, gateways)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{path}: {exc}") from None
