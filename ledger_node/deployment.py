"""The deployment file: where a consortium's ledger lives and who its founding members are.

``taxledger.deployment/v1`` is read by every gateway, the verifier and the auditor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledger_node.agencies import AgencyKind
from ledger_node.errors import ConfigurationError

FORMAT = "taxledger.deployment/v1"


@dataclass(frozen=True)
class AgencyEntry:
    """A founding member as deployed."""

    agency_id: int
    name: str
    kind: AgencyKind
    key: str


@dataclass(frozen=True)
class SchemaEntry:
    """A schema as registered on the ledger."""

    name: str
    schema_id: str
    kinds: tuple[AgencyKind, ...]
    revocable: bool


@dataclass(frozen=True)
class Deployment:
    """A deployed ledger: chain, address, the block it starts at, founders and schemas."""

    chain_id: int
    ledger: str
    deployment_block: int
    deployment_tx: str
    threshold: int
    agencies: tuple[AgencyEntry, ...]
    schemas: tuple[SchemaEntry, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not (self.ledger.startswith("0x") and len(self.ledger) == 42):
            raise ConfigurationError(f"deployment ledger address {self.ledger!r} is malformed")
        if self.ledger != self.ledger.lower():
            raise ConfigurationError("deployment addresses are lowercase hex")

    def agency(self, name_or_id: str | int) -> AgencyEntry:
        """A founding agency by name or id."""
        for entry in self.agencies:
            if name_or_id in (entry.name, entry.agency_id, str(entry.agency_id)):
                return entry
        raise ConfigurationError(f"no agency {name_or_id!r} in the deployment file")

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["format"] = FORMAT
        for entry in doc["agencies"]:
            entry["kind"] = AgencyKind(entry["kind"]).label
        for entry in doc["schemas"]:
            entry["kinds"] = [AgencyKind(k).label for k in entry["kinds"]]
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Deployment:
        if doc.get("format") != FORMAT:
            raise ConfigurationError(
                f"not a deployment file: format is {doc.get('format')!r}, expected {FORMAT!r}"
            )
        try:
            return cls(
                chain_id=int(doc["chain_id"]),
                ledger=str(doc["ledger"]),
                deployment_block=int(doc["deployment_block"]),
                deployment_tx=str(doc["deployment_tx"]),
                threshold=int(doc["threshold"]),
                agencies=tuple(
                    AgencyEntry(
                        agency_id=int(a["agency_id"]),
                        name=str(a["name"]),
                        kind=AgencyKind.parse(str(a["kind"])),
                        key=str(a["key"]),
                    )
                    for a in doc["agencies"]
                ),
                schemas=tuple(
                    SchemaEntry(
                        name=str(s["name"]),
                        schema_id=str(s["schema_id"]),
                        kinds=tuple(AgencyKind.parse(str(k)) for k in s["kinds"]),
                        revocable=bool(s["revocable"]),
                    )
                    for s in doc.get("schemas", [])
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"deployment file is malformed: {exc}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        source = Path(path)
        if not source.is_file():
            raise ConfigurationError(f"deployment file {source} does not exist")
        try:
            doc = json.loads(source.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigurationError(f"deployment file {source} is not JSON: {exc}") from None
        return cls.from_json(doc)
