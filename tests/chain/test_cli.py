"""``taxledger keys`` and ``taxledger chain`` run as real processes against a real anvil."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ledger_node.chain.governance import Governance
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import connect
from ledger_node.deployment import Deployment
from ledger_node.keys import (
    KEYSTORE_SCRYPT_N,
    KeystoreError,
    encryption_public_key,
    keystore_address,
    load_encryption_keyfile,
    load_keystore,
    new_encryption_keyfile,
    new_keystore,
)
from ledger_node.localnode import LocalNode
from ledger_node.records.schemas import SCHEMAS

PASSWORD = "correct horse battery staple"
#: The scrypt cost of the keystores the library makes here: each command is a process that
#: opens one, and at the standard cost that alone is seconds a process.
TEST_SCRYPT_N = 1 << 10


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ledger_node", *args], capture_output=True, text=True, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"taxledger {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """Signing keystores (cheap to open: :data:`TEST_SCRYPT_N`), and encryption key files named
    ``<agency>-enc``, made through the library (the commands that make them are tested on their
    own: each process costs seconds)."""
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    made = {}
    for name in ("deployer", "tax", "bank", "amr", "bank-new"):
        new_keystore(tmp_path / f"{name}.json", PASSWORD, scrypt_n=TEST_SCRYPT_N)
        made[name] = tmp_path / f"{name}.json"
    for name in ("tax", "bank", "amr", "bank-new"):
        new_encryption_keyfile(tmp_path / f"{name}-enc.pem", PASSWORD)
        made[f"{name}-enc"] = tmp_path / f"{name}-enc.pem"
    return made


def test_encryption_keys_are_encrypted_owner_only_and_never_printed(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD)
    target = tmp_path / "keys" / "enc.pem"
    out = cli(
        "keys", "new", "--encryption", "--out", str(target), "--password-file", str(tmp_path / "pw")
    )
    key = load_encryption_keyfile(target, PASSWORD)
    assert out.stdout.strip() == key.public_hex
    assert cli("keys", "public-key", str(target)).stdout.strip() == key.public_hex
    secret = key.private_key().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    text = target.read_text()
    assert secret.hex() not in out.stdout + out.stderr + text
    assert "ENCRYPTED PRIVATE KEY" in text and "BEGIN PRIVATE KEY" not in text
    assert secret.hex() not in repr(key)
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.parent.stat().st_mode & 0o777 == 0o700
    with pytest.raises(KeystoreError, match=f"wrong password for encryption key file {target}"):
        load_encryption_keyfile(target, "not the password")


def test_keys_new_never_prints_or_stores_the_private_key(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text(PASSWORD)
    out = cli(
        "keys", "new", "--out", str(tmp_path / "k.json"), "--password-file", str(tmp_path / "pw")
    )
    key = load_keystore(tmp_path / "k.json", PASSWORD)
    assert out.stdout.strip() == key.address == keystore_address(tmp_path / "k.json")
    # The command makes keystores at the standard cost (tests' cheap ones are the library's).
    kdf = json.loads((tmp_path / "k.json").read_text())["crypto"]
    assert kdf["kdf"] == "scrypt" and kdf["kdfparams"]["n"] == KEYSTORE_SCRYPT_N == 1 << 18
    with pytest.raises(KeystoreError, match="scrypt_n must be a power of two above 1, not 1000"):
        key.to_keystore(PASSWORD, scrypt_n=1000)
    assert cli("keys", "address", str(tmp_path / "k.json")).stdout.strip() == key.address
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
        f"tax-bureau:tax-bureau:{keys['tax']}:{keys['tax-enc']}",
        "--member",
        f"bank:bank:{keys['bank']}:{keys['bank-enc']}",
        "--member",
        f"market-regulator:market-regulator:{keys['amr']}:{public_key(keys['amr-enc'])}",
        "--tag-key",
        f"taxpayer-credit:tax-bureau,bank:0x{'c1' * 32}",
        "--threshold",
        "2",
        "--out",
        str(deployment),
        "--fund-from-node",
    )
    doc = json.loads(deployment.read_text())
    assert doc["format"] == "taxledger.deployment/v2"
    assert [a["name"] for a in doc["agencies"]] == ["tax-bureau", "bank", "market-regulator"]
    assert [a["encryption_key"] for a in doc["agencies"]] == [
        public_key(keys[f"{n}-enc"]) for n in ("tax", "bank", "amr")
    ]
    assert len(doc["schemas"]) == len(SCHEMAS) and doc["threshold"] == 2

    chain = ["--rpc", anvil.url, "--deployment", str(deployment)]
    new_bank = keystore_address(keys["bank-new"])
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

    # The registry: encryption keys, read policy and tag keys, each changed M-of-N.
    new_enc = public_key(keys["bank-new-enc"])
    out = cli(
        "chain",
        "propose",
        "set-encryption-key",
        *chain,
        "--keystore",
        str(keys["tax"]),
        *pw,
        "--agency",
        "2",
        "--encryption-key",
        str(keys["bank-new-enc"]),
    )
    assert out.stdout.startswith("proposal 2: set_encryption_key")
    read_policy = [
        *("chain", "propose", "set-read-policy", *chain, "--keystore", str(keys["tax"]), *pw),
        *("--schema", "payment.settled/v1", "--reader", "bank", "--fields", "amount,value_date"),
    ]
    out = cli(*read_policy, "--purposes", "credit-assessment", "--consent-required")
    assert out.stdout.startswith("proposal 3: set_read_policy")
    out = cli(
        "chain",
        "propose",
        "register-tag-key",
        *chain,
        "--keystore",
        str(keys["tax"]),
        *pw,
        "--domain",
        "taxpayer-credit",
        "--holders",
        "tax-bureau",
        "--key-commitment",
        "0x" + "c2" * 32,
    )
    assert out.stdout.startswith("proposal 4: register_tag_key")
    # Approved and executed through the library (the commands ran above): each command is a
    # process that costs seconds.
    client = LedgerClient.from_deployment(connect(anvil.url), Deployment.load(deployment))
    amr = client.sender(load_keystore(keys["amr"], PASSWORD))
    for proposal in (2, 3, 4):
        Governance(client).approve(amr, proposal)
        Governance(client).execute(amr, proposal)
    members = cli("chain", "members", *chain).stdout
    assert f"bank                 bank              active    {new_bank}" in members
    assert "rotated" in members
    assert f"encryption key {public_key(keys['bank-enc'])} from block" in members
    assert f"encryption key {new_enc} from block" in members
    policy = cli("chain", "read-policy", *chain, "--schema", "payment.settled/v1").stdout
    assert policy.splitlines()[0] == "payment.settled/v1"
    assert (
        "bank              credit-assessment        consent required   fields amount,value_date"
        in (policy)
    )
    assert "tax-bureau        tax-administration       no consent needed  fields *" in policy
    # Rules are per reader kind: the auditor's holds though no auditor is a member yet.
    decisions = cli("chain", "read-policy", *chain, "--schema", "credit.bank-decision/v1").stdout
    assert decisions.splitlines()[1].startswith("    auditor           audit   ")
    assert len(decisions.splitlines()) == 2
    tag_keys = cli("chain", "tag-keys", *chain).stdout.splitlines()
    assert tag_keys[0].startswith("taxpayer-credit (0x")
    assert "v1  from block" in tag_keys[1] and "held by tax-bureau,bank" in tag_keys[1]
    assert tag_keys[1].endswith("commitment 0x" + "c1" * 32)
    assert "v2  from block" in tag_keys[2] and "held by tax-bureau  " in tag_keys[2]

    # Bad input is one line on stderr, and nothing is proposed.
    refused = cli(*read_policy, "--purposes", "lending", check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: unknown purpose 'lending'; expected one of tax-administration, "
        "credit-assessment, market-supervision, audit, taxpayer-portal"
    ]
    proposals = cli("chain", "proposals", *chain).stdout
    assert "rotate_key        executed" in proposals
    assert "proposal 5" not in proposals


def public_key(path: Path) -> str:
    return "0x" + encryption_public_key(path).hex()
