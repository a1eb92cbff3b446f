"""Gateway settings: a TOML or JSON file, overridden by ``TAXLEDGER_GATEWAY_*`` variables.

Relative paths in the file are relative to the file. Secrets are not settings: the file names
where they live (keystore password file or variable, encryption key file, keyring file, API-key
file), and :func:`load_secrets` reads them and refuses missing, default or weak ones.
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ledger_node.chain.rpc import EMBEDDED
from ledger_node.errors import ConfigurationError
from ledger_node.exchange.messages import MAX_FACTS
from ledger_node.keyring import encryption_key_path, keyring_path, open_keyring
from ledger_node.keys import (
    EncryptionKey,
    LocalKey,
    load_encryption_keyfile,
    load_keystore,
    read_password,
)
from ledger_node.tagging import Keyring

ENV_PREFIX = "TAXLEDGER_GATEWAY_"
#: Placeholder secrets shipped in examples; a gateway holding one of them must not start.
DEFAULT_SECRETS = frozenset({"changethis", "changeme", "password", "secret", "taxledger"})
_PATH_FIELDS = (
    "keystore",
    "password_file",
    "sender_keystore",
    "sender_password_file",
    "deployment",
    "database",
    "api_keys",
    "keyring",
    "consortium_key_file",
    "encryption_key_file",
    "encryption_password_file",
    "directory_file",
)


class GatewaySettings(BaseSettings):
    """One agency gateway's settings."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    agency: str = Field(description="The agency's name or id in the deployment file.")
    keystore: Path = Field(description="Encrypted keystore of the agency's signing key.")
    password_file: Path | None = Field(None, description="File whose first line is the password.")
    password_env: str | None = Field(None, description="Variable holding the keystore password.")
    sender_keystore: Path | None = Field(
        None, description="Keystore of the account paying gas (default: the agency key)."
    )
    sender_password_file: Path | None = None
    sender_password_env: str | None = None
    chain: str = Field(
        EMBEDDED,
        description="The node's JSON-RPC URL ('embedded' only for a gateway that the process "
        "founding an in-process chain hands its ledger, as the demo does).",
    )
    deployment: Path | None = Field(None, description="Deployment file (RPC chains only).")
    database: Path = Field(description="SQLite outbox file.")
    batch_size: int = Field(10_000, ge=1, le=100_000, description="Most records per root.")
    batch_interval_ms: int = Field(
        1_000, ge=10, le=3_600_000, description="Longest a record waits before its batch is cut."
    )
    confirmations: int = Field(2, ge=1, le=1_000, description="Blocks until a batch is final.")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65_535)
    api_keys: Path = Field(description="API-key file (see `taxledger gateway keys add`).")
    keyring: Path | None = Field(
        None,
        description="The agency's keyring file (taxledger.keyring/v1): its subject-tag domain "
        "keys, sealed to its encryption key (see `taxledger keyring issue`).",
    )
    consortium_key_file: Path | None = Field(
        None,
        description="No longer read: subject tags are keyed per domain (keyring). A config "
        "that still names it is refused with what to do.",
    )
    encryption_key_file: Path | None = Field(
        None,
        description="The agency's X25519 encryption key file (`taxledger keys new "
        "--encryption`), whose public key the member registry holds: it opens the keyring "
        "and the answers of other agencies through the exchange.",
    )
    encryption_password_file: Path | None = Field(
        None, description="Password of the encryption key file (default: the keystore's)."
    )
    encryption_password_env: str | None = None
    directory_file: Path | None = Field(
        None,
        description="The consortium directory (taxledger.directory/v1): each member's gateway "
        "URL, where exchange requests are sent.",
    )
    exchange_page_facts: int = Field(
        MAX_FACTS,
        ge=1,
        le=MAX_FACTS,
        description="Most facts one exchange answer holds; a subject with more is answered in "
        "pages, each its own request and disclosure record.",
    )
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024, description="Largest request body.")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description="FULL: a 202 survives power loss (an fsync per group commit). NORMAL: "
        "it survives a crash of the gateway, not of the machine; for disks with slow fsync.",
    )
    rpc_timeout: float = Field(
        4.0,
        gt=0,
        le=120,
        description="Seconds one JSON-RPC call to the node may take; a node slower than "
        "that counts as hung (/healthz turns degraded within about this plus two seconds).",
    )
    header_timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds a client has to send a request's headers."
    )
    body_timeout: float = Field(
        30.0,
        gt=0,
        le=3_600,
        description="Seconds the gateway waits, in all, for a request's body to arrive.",
    )
    workers: int = Field(
        2,
        ge=0,
        le=64,
        description="Processes that parse and check bulk requests (0: a thread of the "
        "gateway does); about one per core the gateway may use.",
    )
    log_level: str = "info"

    @model_validator(mode="after")
    def _check_sources(self) -> Self:
        if self.consortium_key_file is not None:
            raise ValueError(
                "consortium_key_file is no longer used: subject tags are keyed per domain. Ask "
                "the consortium for this agency's keyring (`taxledger keyring issue`) and set "
                "keyring and encryption_key_file instead; keep the old key only to verify v1 "
                "bundles (`taxledger verify --consortium-key-file`)"
            )
        if self.password_file is None and self.password_env is None:
            raise ValueError("give password_file or password_env for the agency keystore")
        if self.chain == EMBEDDED and self.deployment is not None:
            raise ValueError(
                "deployment is for an RPC chain; a gateway on the embedded chain is handed its "
                "ledger by the process that founded it"
            )
        if self.chain != EMBEDDED and self.deployment is None:
            raise ValueError(f"chain {self.chain!r} needs a deployment file")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment overrides them.
        return env_settings, init_settings


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML or JSON file, with relative paths made absolute."""
    if not path.is_file():
        raise ConfigurationError(f"gateway config {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        doc: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except ValueError as exc:
        raise ConfigurationError(f"gateway config {path} is not valid: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigurationError(f"gateway config {path} must hold a table of settings")
    # The agency's settings may sit at the top level or under [gateway].
    values = dict(doc.get("gateway", doc))
    for name in _PATH_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = str(path.parent / Path(values[name]).expanduser())
    return values


def write_member_config(
    folder: Path,
    agency: str,
    *,
    keys: Path,
    chain: str,
    deployment: Path,
    port: int,
    directory_file: Path | None = None,
    **overrides: Any,
) -> Path:
    """Write ``folder/gateway.toml`` for ``agency``'s gateway in a consortium whose member
    files are in ``keys`` (its keystore ``AGENCY.json`` and their ``password``, its keyring
    and encryption key file where :func:`ledger_node.keyring.provision_agencies` writes
    them), with its outbox and API keys in ``folder``, asking the others through
    ``directory_file``; ``overrides`` replace or add settings. What a testnet, the tests and
    the benchmarks start their gateways with."""
    settings: dict[str, Any] = {
        "agency": agency,
        "keystore": str(keys / f"{agency}.json"),
        "password_file": str(keys / "password"),
        "chain": chain,
        "deployment": str(deployment),
        "database": str(folder / "outbox.sqlite"),
        "api_keys": str(folder / "api-keys.json"),
        "keyring": str(keyring_path(keys, agency)),
        "encryption_key_file": str(encryption_key_path(keys, agency)),
        "port": port,
    }
    if directory_file is not None:
        settings["directory_file"] = str(directory_file)
    settings.update(overrides)
    config = folder / "gateway.toml"
    # JSON's strings, numbers and booleans are TOML's too.
    config.write_text(
        "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in settings.items()),
        encoding="utf-8",
    )
    return config


def load_settings(path: Path) -> GatewaySettings:
    """Settings from ``path`` and the environment; a ConfigurationError names each bad field."""
    try:
        return GatewaySettings(**read_config_file(path))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"gateway config {path}: {problems}") from None


@functools.cache
def get_settings(path: Path) -> GatewaySettings:
    """The settings of the config file ``path``, read once per process.

    Tests override them by calling ``get_settings.cache_clear()`` or by passing settings to
    :func:`gateway.app.create_app` directly.
    """
    return load_settings(path)


@dataclass(frozen=True)
class Secrets:
    """The secrets a gateway needs, read and checked."""

    agency_key: LocalKey
    sender_key: LocalKey
    keyring: Keyring
    encryption_key: EncryptionKey


def _password(file: Path | None, env: str | None, what: str) -> str:
    password = read_password(file=file, env=env)
    if password.lower() in DEFAULT_SECRETS:
        source = file if file is not None else f"${env}"
        raise ConfigurationError(
            f"the {what} password from {source} is a default placeholder; set a real one"
        )
    return password


def load_secrets(settings: GatewaySettings) -> Secrets:
    """Read and check every secret, refusing default or weak ones; the cheap checks run
    before the (deliberately slow) keystore decryption."""
    if settings.keyring is None or settings.encryption_key_file is None:
        raise ConfigurationError(
            "a gateway needs keyring (its subject-tag keys, issued with `taxledger keyring "
            "issue`) and encryption_key_file (the key file that keyring is sealed to)"
        )
    password = _password(settings.password_file, settings.password_env, "agency keystore")
    sender_password = None
    if settings.sender_keystore is not None:
        file, env = settings.sender_password_file, settings.sender_password_env
        if file is None and env is None:
            file, env = settings.password_file, settings.password_env
        sender_password = _password(file, env, "sender keystore")
    encryption_password = password
    if settings.encryption_password_file or settings.encryption_password_env:
        encryption_password = _password(
            settings.encryption_password_file, settings.encryption_password_env, "encryption key"
        )
    encryption_key = load_encryption_keyfile(settings.encryption_key_file, encryption_password)
    keyring = open_keyring(settings.keyring, encryption_key)
    agency_key = load_keystore(settings.keystore, password)
    sender_key = agency_key
    if settings.sender_keystore is not None and sender_password is not None:
        sender_key = load_keystore(settings.sender_keystore, sender_password)
    return Secrets(agency_key, sender_key, keyring, encryption_key)
