"""``taxledger keys``: create agency keys in encrypted keystore files."""

from __future__ import annotations

from pathlib import Path

import click

from ledger_node.cli import main
from ledger_node.cli.options import password_options, read_cli_password


@main.group()
def keys() -> None:
    """Agency signing keys, kept in encrypted keystore files (Web3 Secret Storage)."""


@keys.command("new")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keystore file to create (refuses to overwrite).",
)
@password_options
def new_command(out: Path, password_file: Path | None, password_env: str | None) -> None:
    """Create a key; print only its address. The private key is never shown."""
    from ledger_node.keys import new_keystore

    key = new_keystore(out, read_cli_password(password_file, password_env))
    click.echo(key.address)


@keys.command("address")
@click.argument("keystore", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def address_command(keystore: Path) -> None:
    """Print the address of a keystore without decrypting it."""
    from ledger_node.keys import keystore_address

    click.echo(keystore_address(keystore))
