"""``taxledger keyring``: subject-tag domain keys, made, sealed to members and rotated.

The consortium's key custodian (the tax bureau, which holds every domain) keeps a keyring
sealed to its own encryption key; it issues each member a keyring sealed to the member's
registered encryption key, holding only the domains the ledger's holder masks give the
member's kind. No command prints or writes a domain key in plain text.
"""

from __future__ import annotations

from pathlib import Path

import click

from ledger_node.cli import main
from ledger_node.cli.options import chain_options, connect_node, password_options, read_cli_password

_ENCRYPTION_KEY = click.option(
    "--encryption-key",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Your encryption key file (`taxledger keys new --encryption`); the keyring is sealed "
    "to it.",
)
_KEYRING = click.option(
    "--keyring",
    "keyring_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Your keyring file (sealed to --encryption-key).",
)
_OUT = click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The keyring file to write (owner-only).",
)


@main.group("keyring")
def keyring_group() -> None:
    """Subject-tag domain keys: sealed (HPKE) to each member's encryption key, per domain and
    key version."""


@keyring_group.command("new")
@_ENCRYPTION_KEY
@_OUT
@click.option(
    "--domain",
    "domains",
    multiple=True,
    help="A domain to make a key for (repeatable; default: the standard domains).",
)
def new_command(encryption_key: Path, out: Path, domains: tuple[str, ...]) -> None:
    """Make a fresh key (version 1) per domain, sealed to --encryption-key, and print the
    `--tag-key` argument of `taxledger chain deploy` for each."""
    from ledger_node.agencies import AgencyKind
    from ledger_node.errors import LedgerValueError
    from ledger_node.keyring import write_keyring
    from ledger_node.keys import encryption_public_key
    from ledger_node.tagging import Keyring
    from ledger_node.tagkeys import TAG_DOMAINS, new_domain_key

    if out.exists():
        raise LedgerValueError(f"{out} exists; a keyring is never overwritten by `new`")
    names = domains or tuple(TAG_DOMAINS)
    holders: dict[str, frozenset[AgencyKind]] = {}
    for name in names:
        if name not in TAG_DOMAINS:
            raise LedgerValueError(
                f"unknown tag domain {name!r}; the domains are {', '.join(TAG_DOMAINS)}"
            )
        holders[name] = TAG_DOMAINS[name].holders
    keyring = Keyring.of({name: new_domain_key() for name in names})
    recipient = encryption_public_key(encryption_key)
    write_keyring(out, keyring, recipient, "custodian")
    for name in names:
        kinds = ",".join(sorted(k.label for k in holders[name]))
        click.echo(f"--tag-key {name}:{kinds}:0x{keyring.commitment(name, 1).hex()}")


@keyring_group.command("issue")
@_KEYRING
@_ENCRYPTION_KEY
@password_options
@chain_options
@click.option("--agency", required=True, help="The member to issue a keyring to (name).")
@_OUT
def issue_command(
    keyring_file: Path,
    encryption_key: Path,
    password_file: Path | None,
    password_env: str | None,
    rpc: str,
    deployment: Path,
    agency: str,
    out: Path,
) -> None:
    """Issue a member its keyring: every registered key version of the domains its kind
    holds (per the ledger's holder masks), sealed to its registered encryption key."""
    from ledger_node.chain.ledger import LedgerClient
    from ledger_node.deployment import Deployment
    from ledger_node.errors import LedgerValueError
    from ledger_node.keyring import issue_keyring, open_keyring, registered_on, write_keyring
    from ledger_node.keys import load_encryption_keyfile

    master = open_keyring(
        keyring_file,
        load_encryption_keyfile(encryption_key, read_cli_password(password_file, password_env)),
    )
    client = LedgerClient.from_deployment(connect_node(rpc), Deployment.load(deployment))
    member = next((a for a in client.agencies() if a.name == agency), None)
    if member is None:
        raise LedgerValueError(f"no agency named {agency!r} on ledger {client.address}")
    issued = issue_keyring(master, registered_on(client), member.kind)
    write_keyring(out, issued, member.encryption_key, member.name)
    held = ", ".join(f"{d} v{','.join(map(str, sorted(issued.keys[d])))}" for d in issued.domains)
    click.echo(f"wrote {out} for {member.name} ({member.kind.label}): {held or 'no domain'}")


@keyring_group.command("rotate")
@_KEYRING
@_ENCRYPTION_KEY
@password_options
@click.option("--domain", required=True, help="The domain whose key to rotate.")
@_OUT
def rotate_command(
    keyring_file: Path,
    encryption_key: Path,
    password_file: Path | None,
    password_env: str | None,
    domain: str,
    out: Path,
) -> None:
    """Add the next key version of a domain (old versions stay, so old tags stay
    verifiable); print the governance proposal that registers it."""
    from ledger_node.keyring import next_version, open_keyring, write_keyring
    from ledger_node.keys import load_encryption_keyfile
    from ledger_node.tagkeys import TAG_DOMAINS

    key = load_encryption_keyfile(encryption_key, read_cli_password(password_file, password_env))
    rotated, version, commitment = next_version(open_keyring(keyring_file, key), domain)
    write_keyring(out, rotated, key.public_key, "custodian")
    known = TAG_DOMAINS.get(domain)
    kinds = ",".join(sorted(k.label for k in known.holders)) if known is not None else "KINDS"
    click.echo(
        f"{domain} version {version}: taxledger chain propose register-tag-key --domain {domain} "
        f"--holders {kinds} --key-commitment 0x{commitment.hex()}"
    )


@keyring_group.command("show")
@click.argument("keyring_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def show_command(keyring_file: Path) -> None:
    """The domains and key versions a keyring file holds, without opening it."""
    import json

    from ledger_node.keyring import FORMAT, KeyringError

    try:
        document = json.loads(keyring_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise KeyringError(f"{keyring_file} is not a keyring file: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeyringError(f"{keyring_file} is not a {FORMAT} keyring file")
    click.echo(f"{document.get('agency')}: sealed to {document.get('recipient')}")
    for entry in document.get("keys", []):
        click.echo(f"  {entry.get('domain')} version {entry.get('version')}")
