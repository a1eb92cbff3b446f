"""``taxledger keys`` and ``taxledger chain`` run as real processes against a real anvil."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_node.localnode import LocalNode
from ledger_node.records.schemas import SCHEMAS

PASSWORD = "correct horse battery staple"


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ledger_node", *args], capture_output=True, text=True, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"taxledger {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    made = {}
    for name in ("deployer", "tax", "bank", "amr", "bank-new"):
        path = tmp_path / f"{name}.json"
        out = cli("keys", "new", "--out", str(path), "--password-file", str(tmp_path / "pw"))
        address = out.stdout.strip()
        assert address.startswith("0x") and len(address) == 42
        assert cli("keys", "address", str(path)).stdout.strip() == address
        made[name] = path
    return made


def test_keys_new_never_prints_or_stores_the_private_key(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD)
    out = cli(
        "keys", "new", "--out", str(tmp_path / "k.json"), "--password-file", str(tmp_path / "pw")
    )
    from ledger_node.keys import load_keystore

    key = load_keystore(tmp_path / "k.json", PASSWORD)
    secret = key._key.secret.hex()
    assert secret not in out.stdout + out.stderr
    assert secret not in (tmp_path / "k.json").read_text()
    assert secret not in repr(key)
    refused = cli(
        "keys",
        "new",
        "--out",
        str(tmp_path / "k.json"),
        "--password-file",
        str(tmp_path / "pw"),
        check=False,
    )
    assert refused.returncode == 2
    assert "refusing to overwrite" in refused.stderr


def test_weak_or_missing_password_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("short")
    proc = cli(
        "keys",
        "new",
        "--out",
        str(tmp_path / "k.json"),
        "--password-file",
        str(tmp_path / "pw"),
        check=False,
    )
    assert proc.returncode == 2 and "at least 8 characters" in proc.stderr
    proc = cli(
        "keys",
        "new",
        "--out",
        str(tmp_path / "k.json"),
        "--password-env",
        "TAXLEDGER_TEST_UNSET",
        check=False,
    )
    assert proc.returncode == 2 and "TAXLEDGER_TEST_UNSET" in proc.stderr


def test_deploy_and_govern_from_the_command_line(
    anvil: LocalNode, keys: dict[str, Path], tmp_path: Path
) -> None:
    pw = ["--password-file", str(tmp_path / "pw")]
    deployment = tmp_path / "deployment.json"
    cli(
        "chain",
        "deploy",
        "--rpc",
        anvil.url,
        "--keystore",
        str(keys["deployer"]),
        *pw,
        "--member",
        f"tax-bureau:tax-bureau:{keys['tax']}",
        "--member",
        f"bank:bank:{keys['bank']}",
        "--member",
        f"market-regulator:market-regulator:{keys['amr']}",
        "--threshold",
        "2",
        "--out",
        str(deployment),
        "--fund-from-node",
    )
    doc = json.loads(deployment.read_text())
    assert doc["format"] == "taxledger.deployment/v1"
    assert [a["name"] for a in doc["agencies"]] == ["tax-bureau", "bank", "market-regulator"]
    assert len(doc["schemas"]) == len(SCHEMAS) and doc["threshold"] == 2

    chain = ["--rpc", anvil.url, "--deployment", str(deployment)]
    new_bank = cli("keys", "address", str(keys["bank-new"])).stdout.strip()
    out = cli(
        "chain",
        "propose",
        "rotate-key",
        *chain,
        "--keystore",
        str(keys["bank"]),
        *pw,
        "--agency",
        "2",
        "--key",
        new_bank,
    )
    assert out.stdout.startswith("proposal 1: rotate_key")
    refused = cli(
        "chain", "execute", *chain, "--keystore", str(keys["bank"]), *pw, "1", check=False
    )
    assert refused.returncode == 2
    assert (
        "ConsortiumInsufficientApprovals(proposalId=1, approvals=1, threshold=2)" in refused.stderr
    )
    cli("chain", "approve", *chain, "--keystore", str(keys["tax"]), *pw, "1")
    out = cli("chain", "execute", *chain, "--keystore", str(keys["amr"]), *pw, "1")
    assert "AgencyKeyRotated" in out.stdout
    members = cli("chain", "members", *chain).stdout
    assert f"bank                 bank              active    {new_bank}" in members
    assert "rotated" in members
    assert "rotate_key        executed" in cli("chain", "proposals", *chain).stdout
