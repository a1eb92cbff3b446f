"""``taxledger gateway``: run an agency's gateway, and manage its API keys."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from ledger_node.cli import main

_CONFIG = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The gateway's TOML or JSON settings file.",
)


@main.group()
def gateway() -> None:
    """An agency's gateway: accepts records, anchors them, serves receipts and proofs."""


@gateway.command("serve")
@_CONFIG
def serve(config: Path) -> None:
    """Run the gateway until stopped; refuses to start with a missing or weak secret."""
    from gateway.app import create_app, settle_process
    from gateway.server import serve as serve_app
    from gateway.settings import get_settings

    settings = get_settings(config)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    settle_process()
    serve_app(app, settings)


@gateway.group("keys")
def keys() -> None:
    """API keys of a gateway (stored hashed; shown once when created)."""


@keys.command("add")
@_CONFIG
@click.option("--name", required=True, help="Who the key is for, e.g. invoicing-system.")
@click.option(
    "--roles", required=True, help="Comma-separated: submit, read, revoke (e.g. submit,read)."
)
def keys_add(config: Path, name: str, roles: str) -> None:
    """Create an API key and print it; only its hash is kept."""
    from gateway.apikeys import Role, add_key
    from gateway.settings import load_settings

    settings = load_settings(config)
    key = add_key(settings.api_keys, name, Role.parse_list(roles))
    click.echo(key)
    click.echo(
        f"API key {name!r} ({roles}) added to {settings.api_keys}; it is shown only now",
        err=True,
    )
