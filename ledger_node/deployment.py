"""The deployment file: where a consortium's ledger lives and who its founding members are.

``taxledger.deployment/v2`` is read by every gateway, the verifier and the auditor. It is
parsed by a pydantic model, so a malformed file is refused with the path of the bad field; a
``taxledger.deployment/v1`` file belongs to the earlier ledger contract (before per-agency
facts and encryption keys) and is refused with the advice to redeploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from ledger_node.agencies import AgencyKind
from ledger_node.errors import ConfigurationError

FORMAT = "taxledger.deployment/v2"
#: Formats of earlier ledger contracts, which this library cannot read.
RETIRED_FORMATS = frozenset({"taxledger.deployment/v1"})

_ADDRESS = r"^0x[0-9a-f]{40}$"
_WORD = r"^0x[0-9a-f]{64}$"


@dataclass(frozen=True)
class AgencyEntry:
    """A founding member as deployed: ids count from 1, keys are lowercase ``0x`` hex, the
    encryption key is the agency's X25519 public key (32 bytes)."""

    agency_id: int
    name: str
    kind: AgencyKind
    key: str
    encryption_key: str


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

    def agency(self, name_or_id: str | int) -> AgencyEntry:
        """A founding agency by name or id."""
        for entry in self.agencies:
            if name_or_id in (entry.name, entry.agency_id, str(entry.agency_id)):
                return entry
        raise ConfigurationError(f"no agency {name_or_id!r} in the deployment file")

    def to_json(self) -> dict[str, Any]:
        """The file's JSON document."""
        return _DeploymentFile(
            format="taxledger.deployment/v2",
            chain_id=self.chain_id,
            ledger=self.ledger,
            deployment_block=self.deployment_block,
            deployment_tx=self.deployment_tx,
            threshold=self.threshold,
            agencies=[
                _AgencyModel(
                    agency_id=a.agency_id,
                    name=a.name,
                    kind=a.kind,
                    key=a.key,
                    encryption_key=a.encryption_key,
                )
                for a in self.agencies
            ],
            schemas=[
                _SchemaModel(
                    name=s.name, schema_id=s.schema_id, kinds=list(s.kinds), revocable=s.revocable
                )
                for s in self.schemas
            ],
        ).model_dump(mode="json")

    @classmethod
    def from_json(cls, doc: object, source: str = "deployment file") -> Deployment:
        """Parse a deployment document; :class:`ConfigurationError` names the bad field."""
        if not isinstance(doc, dict):
            raise ConfigurationError(f"{source} is malformed: not a JSON object")
        found = doc.get("format")
        if found in RETIRED_FORMATS:
            raise ConfigurationError(
                f"{source} is {found}, written for an earlier ledger contract; deploy a new "
                f"ledger with `taxledger chain deploy` (it writes {FORMAT})"
            )
        try:
            model = _DeploymentFile.model_validate(doc)
        except ValidationError as exc:
            raise ConfigurationError(f"{source} is malformed: {_first_problem(exc)}") from None
        return cls(
            chain_id=model.chain_id,
            ledger=model.ledger,
            deployment_block=model.deployment_block,
            deployment_tx=model.deployment_tx,
            threshold=model.threshold,
            agencies=tuple(
                AgencyEntry(a.agency_id, a.name, a.kind, a.key, a.encryption_key)
                for a in model.agencies
            ),
            schemas=tuple(
                SchemaEntry(s.name, s.schema_id, tuple(s.kinds), s.revocable) for s in model.schemas
            ),
        )

    def save(self, path: str | Path) -> None:
        """Write the deployment file."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        """Read and parse the deployment file at ``path``."""
        source = Path(path)
        if not source.is_file():
            raise ConfigurationError(f"deployment file {source} does not exist")
        try:
            doc = json.loads(source.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigurationError(f"deployment file {source} is not JSON: {exc}") from None
        return cls.from_json(doc, f"deployment file {source}")


def _first_problem(exc: ValidationError) -> str:
    """``field.path: message`` of the first error, and how many more there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where or 'document'}: {message}{more}"


def _kind(value: object) -> AgencyKind:
    if isinstance(value, AgencyKind):
        return value
    if not isinstance(value, str):
        raise ValueError("an agency kind is a string such as 'tax-bureau'")
    return AgencyKind.parse(value)


class _Model(BaseModel):
    # Strict: a file is written by `taxledger chain deploy`, so a string where a number
    # belongs is a damaged file, not something to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _AgencyModel(_Model):
    agency_id: Annotated[int, Field(ge=1)]
    name: Annotated[str, Field(min_length=1)]
    kind: AgencyKind
    key: Annotated[str, Field(pattern=_ADDRESS)]
    encryption_key: Annotated[str, Field(pattern=_WORD)]

    @field_validator("kind", mode="plain")
    @classmethod
    def _parse_kind(cls, value: object) -> AgencyKind:
        return _kind(value)

    @field_serializer("kind")
    def _kind_label(self, kind: AgencyKind) -> str:
        return kind.label

    @field_validator("encryption_key")
    @classmethod
    def _nonzero(cls, value: str) -> str:
        if int(value, 16) == 0:
            raise ValueError("an encryption key must not be zero")
        return value


class _SchemaModel(_Model):
    name: Annotated[str, Field(min_length=1)]
    schema_id: Annotated[str, Field(pattern=_WORD)]
    kinds: list[AgencyKind]
    revocable: bool

    @field_validator("kinds", mode="plain")
    @classmethod
    def _parse_kinds(cls, value: object) -> list[AgencyKind]:
        if not isinstance(value, list) or not value:
            raise ValueError("kinds is a non-empty list of agency kinds")
        return [_kind(v) for v in value]

    @field_serializer("kinds")
    def _kind_labels(self, kinds: list[AgencyKind]) -> list[str]:
        return [kind.label for kind in kinds]


class _DeploymentFile(_Model):
    format: Literal["taxledger.deployment/v2"]
    chain_id: Annotated[int, Field(ge=1)]
    ledger: Annotated[str, Field(pattern=_ADDRESS)]
    deployment_block: Annotated[int, Field(ge=0)]
    deployment_tx: Annotated[str, Field(pattern=_WORD)]
    threshold: Annotated[int, Field(ge=1)]
    agencies: Annotated[list[_AgencyModel], Field(min_length=1)]
    schemas: list[_SchemaModel] = []

    @model_validator(mode="after")
    def _ids_in_order(self) -> _DeploymentFile:
        ids = [a.agency_id for a in self.agencies]
        if ids != list(range(1, len(ids) + 1)):
            raise ValueError("agencies must be listed by id, counting from 1")
        return self
