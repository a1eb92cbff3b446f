"""Helpers of the kit's tests: member lists on disk with the keys behind their addresses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger_node.keys import LocalKey
from ledger_node.kit.members import Consortium, load_members

PASSWORD = "kit-test-password"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "consortium-members.toml"


@dataclass
class MemberList:
    """A member list on disk and the private keys behind its addresses."""

    path: Path
    keys: dict[str, LocalKey] = field(default_factory=dict)

    @property
    def consortium(self) -> Consortium:
        return load_members(self.path)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def write_member_list(path: Path, network: dict[str, Any], members: list[dict[str, Any]]) -> Path:
    """Write a member list: a [network] table and one [[member]] table per member."""
    lines = ["[network]", *(f"{k} = {_toml_value(v)}" for k, v in network.items())]
    for member in members:
        lines += ["", "[[member]]", *(f"{k} = {_toml_value(v)}" for k, v in member.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
