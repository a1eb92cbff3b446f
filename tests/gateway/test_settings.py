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
from ledger_node.errors import ConfigurationError


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


@pytest.mark.parametrize(
    ("secret", "content", "message"),
    [
        ("consortium.key", None, "consortium key file .* does not exist"),
        ("consortium.key", "changethis", "default placeholder"),
        ("consortium.key", "ab" * 16 + "", "it must be at least 32 bytes"),
        ("consortium.key", "00" * 32, "is not random"),
        ("consortium.key", "not hex at all", "must hold the key as hex"),
        ("api-keys.json", None, "API-key file .* does not exist"),
        ("password", "changeme\n", "default placeholder"),
        ("password", "short\n", "at least 8 characters"),
    ],
)
def test_refuses_missing_or_weak_secrets(
    config: Path, chain: Chain, secret: str, content: str | None, message: str
) -> None:
    """In-process: the same check ``serve`` runs first (a subprocess case follows)."""
    if secret == "password":  # the chain's password file is shared: point at a copy
        path = config.parent / "password"
        text = config.read_text().replace(str(chain.directory / "password"), str(path))
        config.write_text(text)
    else:
        path = config.parent / secret
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        build_gateway(load_settings(config))


def test_serve_exits_with_the_reason_and_no_traceback(config: Path) -> None:
    (config.parent / "consortium.key").write_text("changethis")
    result = serve(config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: consortium key file ")
    assert "default placeholder" in result.stderr


def test_refuses_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('agency = "bank"\nbatch_size = 0\n')
    result = serve(path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for field in ("batch_size", "keystore", "database", "api_keys", "consortium_key_file"):
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
