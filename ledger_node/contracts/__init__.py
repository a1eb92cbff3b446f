"""The compiled contracts, shipped with the package so that no compiler is needed at run time."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ledger_node.errors import ConfigurationError

#: Contracts whose artifacts ship with the package.
SHIPPED_CONTRACTS = ("TaxLedger",)


@dataclass(frozen=True)
class Artifact:
    """ABI and bytecode of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes


def artifact_path(name: str) -> resources.abc.Traversable:
    """Where the shipped artifact of contract ``name`` lies inside the package."""
    return resources.files(__package__).joinpath("artifacts", f"{name}.json")


@functools.cache
def load_artifact(name: str) -> Artifact:
    """Load the shipped artifact of contract ``name``."""
    path = artifact_path(name)
    if not path.is_file():
        raise ConfigurationError(
            f"no compiled artifact for contract {name!r}; run `taxledger contracts build`"
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(
        name=doc["contractName"],
        abi=doc["abi"],
        bytecode=bytes.fromhex(doc["bytecode"].removeprefix("0x")),
        deployed_bytecode=bytes.fromhex(doc["deployedBytecode"].removeprefix("0x")),
    )
