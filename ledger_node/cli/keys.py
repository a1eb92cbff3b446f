"""``taxledger keys``: create agency signing keys (encrypted keystore files) and encryption
keys (X25519, encrypted PKCS#8 files)."""

from __future__ import annotations

from pathlib import Path

import click

from ledger_node.cli import main
from ledger_node.cli.options import password_options, read_cli_password


@main.group()
def keys() -> None:
    """Agency keys: signing keys in encrypted keystore files (Web3 Secret Storage), encryption
    keys in encrypted PKCS#8 files."""


@keys.command("new")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Key file to create (refuses to overwrite).",
)
@password_options
@click.option(
    "--encryption",
    is_flag=True,
    help="Make an encryption key pair (X25519, for what other agencies disclose to yours) "
    "instead of a signing key.",
)
def new_command(
    out: Path, password_file: Path | None, password_env: str | None, encryption: bool
) -> None:
    """Create a key; print only its address (signing key) or public key (encryption key).
    The private key is never shown."""
    from ledger_node.keys import new_encryption_keyfile, new_keystore

    password = read_cli_password(password_file, password_env)
    if encryption:
        click.echo(new_encryption_keyfile(out, password).public_hex)
    else:
        click.echo(new_keystore(out, password).address)


@keys.command("address")
@click.argument("keystore", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def address_command(keystore: Path) -> None:
    """Print the address of a keystore without decrypting it."""
    from ledger_node.keys import keystore_address

    click.echo(keystore_address(keystore))


@keys.command("public-key")
@click.argument("keyfile", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def public_key_command(keyfile: Path) -> None:
    """Print the public key of an encryption key file without decrypting it."""
    from ledger_node.keys import encryption_public_key

    click.echo("0x" + encryption_public_key(keyfile).hex())
