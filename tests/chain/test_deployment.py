"""The deployment file (taxledger.deployment/v2): what it holds, and one clear error per bad
field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger_node.agencies import AgencyKind
from ledger_node.deployment import AgencyEntry, Deployment, SchemaEntry
from ledger_node.errors import ConfigurationError

GOOD = Deployment(
    chain_id=31337,
    ledger="0x" + "ab" * 20,
    deployment_block=7,
    deployment_tx="0x" + "cd" * 32,
    threshold=2,
    agencies=(
        AgencyEntry(1, "tax-bureau", AgencyKind.TAX_BUREAU, "0x" + "11" * 20, "0x" + "21" * 32),
        AgencyEntry(2, "bank", AgencyKind.BANK, "0x" + "12" * 20, "0x" + "22" * 32),
    ),
    schemas=(SchemaEntry("payment.settled/v1", "0x" + "33" * 32, (AgencyKind.BANK,), True),),
)


def test_round_trips_through_its_file(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    GOOD.save(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "taxledger.deployment/v2"
    assert doc["agencies"][1] == {
        "agency_id": 2,
        "name": "bank",
        "kind": "bank",
        "key": "0x" + "12" * 20,
        "encryption_key": "0x" + "22" * 32,
    }
    assert doc["schemas"][0]["kinds"] == ["bank"]
    assert Deployment.load(path) == GOOD


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.pop(key)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_drop("chain_id"), "chain_id: Field required"),
        (_set("chain_id", "31337"), "chain_id: Input should be a valid integer"),
        (_set("ledger", "0xABAB"), "ledger: String should match pattern '^0x[0-9a-f]{40}$'"),
        (_set("threshold", 0), "threshold: Input should be greater than or equal to 1"),
        (
            _set("agencies.1.encryption_key", "0x" + "00" * 32),
            "agencies[1].encryption_key: an encryption key must not be zero",
        ),
        (
            _set("agencies.0.encryption_key", "0x1234"),
            "agencies[0].encryption_key: String should match pattern '^0x[0-9a-f]{64}$'",
        ),
        (_set("agencies.0.kind", "pirate"), "agencies[0].kind: unknown agency"),
        (_set("agencies.1.agency_id", 5), "document: agencies must be listed by id, counting"),
        (_set("agencies", []), "agencies: List should have at least 1 item"),
        (_set("schemas.0.kinds", []), "schemas[0].kinds: kinds is a non-empty list"),
        (_set("surprise", True), "surprise: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_file_names_the_field(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    doc = copy.deepcopy(GOOD.to_json())
    change(doc)
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigurationError) as caught:
        Deployment.load(path)
    assert str(caught.value).startswith(f"deployment file {path} is malformed: {message}")
    assert "\n" not in str(caught.value)


def test_a_missing_encryption_key_is_named(tmp_path: Path) -> None:
    doc = GOOD.to_json()
    del doc["agencies"][0]["encryption_key"]
    with pytest.raises(
        ConfigurationError,
        match=r"^deployment file is malformed: agencies\[0\]\.encryption_key: Field required$",
    ):
        Deployment.from_json(doc)


def test_every_problem_is_counted_but_one_is_shown() -> None:
    doc = GOOD.to_json()
    del doc["chain_id"]
    del doc["threshold"]
    with pytest.raises(ConfigurationError, match=r"chain_id: Field required \(and 1 more"):
        Deployment.from_json(doc)


def test_a_v1_file_is_refused_with_the_advice_to_redeploy(tmp_path: Path) -> None:
    doc = GOOD.to_json() | {"format": "taxledger.deployment/v1"}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigurationError) as caught:
        Deployment.load(path)
    assert str(caught.value) == (
        f"deployment file {path} is taxledger.deployment/v1, written for an earlier ledger "
        "contract; deploy a new ledger with `taxledger chain deploy` (it writes "
        "taxledger.deployment/v2)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "is not JSON"),
        ("[1, 2]", "is malformed: not a JSON object"),
        ('{"format": "something/v9"}', "is malformed: format: Input should be"),
    ],
)
def test_not_a_deployment_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=f"^deployment file {path} {message}"):
        Deployment.load(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        Deployment.load(tmp_path / "nowhere.json")
