"""``taxledger gateway serve`` refuses missing, default or weak secrets, saying which and why;
``taxledger gateway keys add`` prints a key once and stores its hash."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from gateway_harness import TAXLEDGER, Chain, write_config

from gateway.apikeys import Role, add_key
from gateway.app import build_gateway
from gateway.settings import load_settings
from ledger_node.agencies import AgencyKind
from ledger_node.errors import ConfigurationError
from ledger_node.keyring import issue_keyring, registered_on, write_keyring
from ledger_node.tagging import Keyring


def serve(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAXLEDGER, "gateway", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def config(chain: Chain, tmp_path: Path) -> Path:
    path = write_config(tmp_path, chain, "tax-bureau", 0)
    add_key(tmp_path / "api-keys.json", "ops", frozenset({Role.READ}))
    return path


def _own_copy(config: Path, chain: Chain, name: str) -> Path:
    """Point ``config`` at a copy of the chain's shared file ``name``, to change it alone."""
    shared = chain.directory / name
    path = config.parent / name
    path.write_bytes(shared.read_bytes())
    config.write_text(config.read_text().replace(str(shared), str(path)))
    return path


def _altered_envelope(path: Path) -> None:
    document = json.loads(path.read_text())
    envelope = document["keys"][0]["envelope"]
    document["keys"][0]["envelope"] = envelope[:-2] + ("00" if envelope[-2:] != "00" else "01")
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("secret", "change", "message"),
    [
        ("tax-bureau.keyring.json", None, "keyring file .* does not exist"),
        ("tax-bureau.keyring.json", "bank", "is sealed to 0x.*not to this agency's encryption key"),
        ("tax-bureau.keyring.json", "altered", "does not open with this agency's key"),
        ("tax-bureau.encryption.pem", None, "encryption key file .* does not exist"),
        ("api-keys.json", None, "API-key file .* does not exist"),
        ("password", "changeme\n", "default placeholder"),
        ("password", "short\n", "at least 8 characters"),
    ],
)
def test_refuses_missing_or_weak_secrets(
    config: Path, chain: Chain, secret: str, change: str | None, message: str
) -> None:
    """In-process: the same check ``serve`` runs first (a subprocess case follows)."""
    path = config.parent / secret if secret == "api-keys.json" else _own_copy(config, chain, secret)
    if change is None:
        path.unlink()
    elif change == "bank":
        path.write_bytes((chain.directory / "bank.keyring.json").read_bytes())
    elif change == "altered":
        _altered_envelope(path)
    else:
        path.write_text(change)
    with pytest.raises(ConfigurationError, match=message):
        build_gateway(load_settings(config))


def test_refuses_a_keyring_without_a_domain_its_records_need(config: Path, chain: Chain) -> None:
    """A keyring sealed to the tax bureau but holding only the bank's domains."""
    client = chain.ledger
    bank_keys = issue_keyring(
        Keyring.of(chain.consortium.tag_keys), registered_on(client), AgencyKind.BANK
    )
    path = _own_copy(config, chain, "tax-bureau.keyring.json")
    write_keyring(path, bank_keys, chain.consortium.encryption_keys["tax-bureau"].public_key, "x")
    with pytest.raises(ConfigurationError, match="tagged in domain invoice: this keyring holds"):
        build_gateway(load_settings(config))


def test_refuses_a_key_the_ledger_did_not_register(config: Path, chain: Chain) -> None:
    forged = Keyring.of({**chain.consortium.tag_keys, "invoice": bytes(range(32))})
    path = _own_copy(config, chain, "tax-bureau.keyring.json")
    write_keyring(path, forged, chain.consortium.encryption_keys["tax-bureau"].public_key, "x")
    with pytest.raises(ConfigurationError, match="invoice version 1 is not the one the ledger"):
        build_gateway(load_settings(config))


def test_an_old_config_with_a_consortium_key_is_refused_with_what_to_do(config: Path) -> None:
    (config.parent / "consortium.key").write_text("ab" * 32)
    config.write_text(config.read_text() + 'consortium_key_file = "consortium.key"\n')
    result = serve(config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "consortium_key_file is no longer used: subject tags are keyed per domain" in (
        result.stderr
    )
    assert "taxledger keyring issue" in result.stderr


def test_serve_exits_with_the_reason_and_no_traceback(config: Path, chain: Chain) -> None:
    _own_copy(config, chain, "tax-bureau.keyring.json").unlink()
    result = serve(config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: keyring file ")


def test_refuses_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('agency = "bank"\nbatch_size = 0\n')
    result = serve(path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for field in ("batch_size", "keystore", "database", "api_keys"):
        assert field in result.stderr


def test_keys_add_prints_the_key_once(config: Path) -> None:
    result = subprocess.run(
        [TAXLEDGER, "gateway", "keys", "add", "--config", str(config), "--name", "erp",
         "--roles", "submit,read"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    key = result.stdout.strip()
    stored = json.loads((config.parent / "api-keys.json").read_text())
    (entry,) = [k for k in stored["keys"] if k["name"] == "erp"]
    assert entry["roles"] == ["read", "submit"]
    assert entry["sha256"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (config.parent / "api-keys.json").read_text()


def test_serve_on_the_embedded_chain_says_what_to_do(config: Path) -> None:
    text = "".join(
        line + "\n"
        for line in config.read_text().splitlines()
        if not line.startswith(("chain =", "deployment ="))
    )
    config.write_text(text)
    result = serve(config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "error: the embedded chain lives inside one process, so a gateway process cannot share it"
    )
