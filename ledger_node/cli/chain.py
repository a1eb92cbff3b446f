"""``taxledger chain``: deploy a ledger, govern it M-of-N (membership, keys, schemas, read
policy, tag keys), and list what it holds."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ledger_node.agencies import AgencyKind
from ledger_node.cli import main
from ledger_node.cli.options import (
    chain_options,
    connect_node,
    password_options,
    read_cli_password,
)
from ledger_node.keys import LocalKey

if TYPE_CHECKING:
    from ledger_node.chain.deploy import FoundingTagKey
    from ledger_node.chain.governance import Action, Governance
    from ledger_node.chain.ledger import LedgerClient


@main.group()
def chain() -> None:
    """Deploy the ledger and govern the consortium."""


def _parse_kind(text: str, hint: str) -> AgencyKind:
    try:
        return AgencyKind.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def _parse_kinds(text: str, hint: str) -> tuple[AgencyKind, ...]:
    """Comma-separated agency kinds."""
    return tuple(sorted({_parse_kind(k, hint) for k in text.split(",") if k.strip()}))


def _parse_address(key: str, hint: str) -> str:
    """An address, or the address a keystore file declares."""
    from ledger_node.keys import keystore_address

    if not key.startswith("0x"):
        if not Path(key).is_file():
            raise click.BadParameter(
                f"{key!r} is neither an address nor a keystore file", param_hint=hint
            )
        key = keystore_address(key)
    if len(key) != 42:
        raise click.BadParameter(f"{key!r} is not a 20-byte address", param_hint=hint)
    return key.lower()


def _parse_encryption_key(text: str, hint: str) -> bytes:
    """An X25519 public key: 0x + 64 hex digits, or an encryption key file."""
    from ledger_node.keys import KeystoreError, parse_encryption_public_key

    try:
        return parse_encryption_public_key(text)
    except KeystoreError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def _parse_word(text: str, hint: str) -> bytes:
    """32 bytes as 0x + 64 hex digits."""
    try:
        value = bytes.fromhex(text.removeprefix("0x")) if text.startswith("0x") else b""
    except ValueError:
        value = b""
    if len(value) != 32:
        raise click.BadParameter(f"{text!r} is not 0x followed by 64 hex digits", param_hint=hint)
    return value


def _parse_member(text: str) -> tuple[str, AgencyKind, str, bytes]:
    """``NAME:KIND:KEY:ENCRYPTION_KEY``: KEY is an address or a keystore file, ENCRYPTION_KEY
    a public key (0x + 64 hex) or an encryption key file."""
    parts = text.split(":", 3)
    if len(parts) != 4:
        raise click.BadParameter(
            f"{text!r}: expected NAME:KIND:KEY:ENCRYPTION_KEY", param_hint="--member"
        )
    name, kind, key, encryption_key = parts
    return (
        name,
        _parse_kind(kind, "--member"),
        _parse_address(key, "--member"),
        _parse_encryption_key(encryption_key, "--member"),
    )


def _domain_id(text: str) -> bytes:
    """A tag domain by name, or by id (0x + 64 hex)."""
    from ledger_node.tagkeys import tag_domain_id

    return _parse_word(text, "--domain") if text.startswith("0x") else tag_domain_id(text)


def _parse_tag_key(text: str) -> FoundingTagKey:
    """``DOMAIN:HOLDER_KINDS:KEY_COMMITMENT``."""
    from ledger_node.chain.deploy import FoundingTagKey

    parts = text.rsplit(":", 2)
    if len(parts) != 3:
        raise click.BadParameter(
            f"{text!r}: expected DOMAIN:KIND,KIND...:0xCOMMITMENT", param_hint="--tag-key"
        )
    domain, holders, commitment = parts
    return FoundingTagKey(
        _domain_id(domain),
        _parse_kinds(holders, "--tag-key"),
        _parse_word(commitment, "--tag-key"),
    )


def _load_key(keystore: Path, password_file: Path | None, password_env: str | None) -> LocalKey:
    from ledger_node.keys import load_keystore

    return load_keystore(keystore, read_cli_password(password_file, password_env))


@chain.command("deploy")
@click.option("--rpc", required=True, envvar="TAXLEDGER_RPC", help="JSON-RPC URL of a node.")
@click.option(
    "--keystore",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Keystore of the account that pays for the deployment.",
)
@password_options
@click.option(
    "--member",
    "members",
    multiple=True,
    required=True,
    metavar="NAME:KIND:KEY:ENCRYPTION_KEY",
    help="A founding agency; KEY is an address or a keystore file, ENCRYPTION_KEY its "
    "encryption public key (0x + 64 hex) or encryption key file. Repeat per agency.",
)
@click.option(
    "--tag-key",
    "tag_keys",
    multiple=True,
    metavar="DOMAIN:KINDS:COMMITMENT",
    help="A subject-tag domain key to register: the domain, the agency kinds holding it "
    "(comma-separated) and the key's commitment. Repeat per domain.",
)
@click.option("--threshold", type=int, required=True, help="Approvals a proposal needs (M).")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the deployment file.",
)
@click.option(
    "--fund-from-node",
    is_flag=True,
    help="Development chains: fund the deployer and members from the node's own account.",
)
def deploy_command(
    rpc: str,
    keystore: Path,
    password_file: Path | None,
    password_env: str | None,
    members: tuple[str, ...],
    tag_keys: tuple[str, ...],
    threshold: int,
    out: Path,
    fund_from_node: bool,
) -> None:
    """Deploy a ledger founded by the given agencies, with the standard schemas and the
    default read policy."""
    from ledger_node.chain.deploy import Founder, default_schemas, deploy_ledger
    from ledger_node.chain.deploy import fund_from_node as fund
    from ledger_node.chain.rpc import Rpc, as_int
    from ledger_node.chain.transactions import Sender

    founders = [Founder(*member) for member in map(_parse_member, members)]
    domains = [_parse_tag_key(text) for text in tag_keys]
    deployer = _load_key(keystore, password_file, password_env)
    node = Rpc(connect_node(rpc))
    if fund_from_node:
        fund(node, [deployer.address, *(f.key for f in founders)])
    sender = Sender(node, deployer, as_int(node.request("eth_chainId", [])))
    deployment = deploy_ledger(
        node, sender, founders, default_schemas(), threshold, tag_keys=domains
    )
    deployment.save(out)
    click.echo(
        f"deployed ledger {deployment.ledger} on chain {deployment.chain_id} at block "
        f"{deployment.deployment_block}; wrote {out}"
    )


def _client(rpc: str, deployment: Path) -> LedgerClient:
    from ledger_node.chain.ledger import LedgerClient
    from ledger_node.deployment import Deployment

    return LedgerClient.from_deployment(connect_node(rpc), Deployment.load(deployment))


@chain.command("members")
@chain_options
def members_command(rpc: str, deployment: Path) -> None:
    """List member agencies: id, kind, status, current key, key history and encryption keys."""
    from ledger_node.chain.events import EventReader
    from ledger_node.deployment import Deployment

    client = _client(rpc, deployment)
    start = Deployment.load(deployment).deployment_block
    rotations: dict[int, list[str]] = {}
    for event in EventReader(client.rpc, client.address).read(start):
        if event.name == "AgencyKeyRotated":
            rotations.setdefault(event.args["agencyId"], []).append(
                f"{event.args['oldKey']} -> {event.args['newKey']} at block {event.block_number}"
            )
    threshold = client.threshold()
    agencies = client.agencies()
    click.echo(f"threshold {threshold} of {sum(a.active for a in agencies)} active agencies")
    for agency in agencies:
        status = "active" if agency.active else "suspended"
        click.echo(
            f"{agency.agency_id:>3}  {agency.name:<20} {agency.kind.label:<17} {status:<9} "
            f"{agency.key}"
        )
        for line in rotations.get(agency.agency_id, []):
            click.echo(f"       rotated {line}")
        for change in client.encryption_key_history(agency.agency_id):
            click.echo(
                f"       encryption key 0x{change.encryption_key.hex()} "
                f"from block {change.from_block}"
            )


@chain.command("directory")
@chain_options
@click.option(
    "--gateway",
    "gateways",
    multiple=True,
    required=True,
    help="NAME=URL: where a member agency's gateway answers exchange requests (repeat).",
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The file."
)
def directory_command(rpc: str, deployment: Path, gateways: tuple[str, ...], out: Path) -> None:
    """Write the consortium directory (taxledger.directory/v1) that gateways name in
    ``directory_file``: each member's gateway URL, pinned to this chain and ledger. Every
    name must be a member agency of the ledger."""
    from ledger_node.errors import LedgerValueError
    from ledger_node.exchange.directory import Directory

    urls: dict[str, str] = {}
    for item in gateways:
        name, sep, url = item.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise LedgerValueError(f"--gateway {item!r} is not NAME=URL")
        if name.strip() in urls:
            raise LedgerValueError(f"--gateway: {name.strip()} is named twice")
        urls[name.strip()] = url.strip()
    client = _client(rpc, deployment)
    members = {agency.name for agency in client.agencies()}
    strangers = sorted(set(urls) - members)
    if strangers:
        raise LedgerValueError(
            f"--gateway: {', '.join(strangers)} {'is' if len(strangers) == 1 else 'are'} not "
            f"a member of ledger {client.address} "
            f"(members: {', '.join(sorted(members))})"
        )
    directory = Directory.of(client.chain_id, client.address, urls)
    directory.save(out)
    missing = sorted(members - set(urls))
    click.echo(
        f"{out}: {len(urls)} gateway(s) of ledger {client.address} on chain {client.chain_id}"
        + (f"; no gateway for {', '.join(missing)}" if missing else "")
    )


@chain.command("read-policy")
@chain_options
@click.option("--schema", "schema_name", default=None, help="Only this schema.")
@click.option(
    "--block", type=click.IntRange(min=0), default=None, help="In force at this block [latest]."
)
@click.option("--history", is_flag=True, help="Every rule ever set, not only those in force.")
def read_policy_command(
    rpc: str, deployment: Path, schema_name: str | None, block: int | None, history: bool
) -> None:
    """List who may read which schema through the exchange, for which purposes and fields."""
    from ledger_node.audit.ledger_checks import schema_name as name_of
    from ledger_node.purposes import mask_labels
    from ledger_node.records.schemas import get_schema

    client = _client(rpc, deployment)
    at = client.block_number() if block is None else block
    schema_ids = [get_schema(schema_name).schema_id] if schema_name else client.schema_ids()
    for schema_id in schema_ids:
        rules = []
        for kind in AgencyKind:
            found = (
                client.read_rule_history(schema_id, kind)
                if history
                else [client.read_rule_at(schema_id, kind, at)]
            )
            rules += [r for r in found if r.from_block]
        click.echo(name_of(schema_id) + ("" if rules else ": readable by no one"))
        for rule in rules:
            purposes = ",".join(mask_labels(rule.purpose_mask)) or "no purpose"
            consent = "consent required" if rule.consent_required else "no consent needed"
            fields = f"fields {rule.fields}" if rule.fields else "no fields"
            click.echo(
                f"    {rule.reader_kind.label:<17} {purposes:<24} {consent:<18} {fields}  "
                f"(from block {rule.from_block})"
            )


@chain.command("tag-keys")
@chain_options
def tag_keys_command(rpc: str, deployment: Path) -> None:
    """List the subject-tag domains and every key version registered for each."""
    from ledger_node.tagkeys import domain_label

    client = _client(rpc, deployment)
    for domain_id in client.tag_domains():
        click.echo(f"{domain_label(domain_id)} (0x{domain_id.hex()})")
        for v in client.tag_key_versions(domain_id):
            holders = ",".join(k.label for k in v.holders)
            click.echo(
                f"    v{v.version}  from block {v.from_block}  held by {holders}  "
                f"commitment 0x{v.key_commitment.hex()}"
            )


@chain.group("propose")
def propose() -> None:
    """Propose a membership, schema or threshold change (counts as your approval)."""


@dataclass(frozen=True)
class _Governor:
    """An agency acting on the ledger through its own key."""

    client: LedgerClient
    key: LocalKey

    def governance(self) -> Governance:
        from ledger_node.chain.governance import Governance

        return Governance(self.client)

    def propose(self, action: Action) -> None:
        proposal_id = self.governance().propose(self.client.sender(self.key), action)
        click.echo(f"proposal {proposal_id}: {action.action_type.name.lower()} (approved by you)")


def _governor_options(fn: Callable[..., None]) -> Callable[..., None]:
    """``--rpc``, ``--deployment``, ``--keystore`` and the password options, handed to the
    command as one ``_Governor``."""

    @functools.wraps(fn)
    def command(
        rpc: str,
        deployment: Path,
        keystore: Path,
        password_file: Path | None,
        password_env: str | None,
        **options: Any,
    ) -> None:
        governor = _Governor(
            _client(rpc, deployment), _load_key(keystore, password_file, password_env)
        )
        fn(governor, **options)

    decorated = password_options(command)
    decorated = click.option(
        "--keystore",
        required=True,
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Keystore of your agency's current signing key.",
    )(decorated)
    return chain_options(decorated)


@propose.command("add-agency")
@_governor_options
@click.option("--name", required=True)
@click.option("--kind", required=True, help="tax-bureau, bank, market-regulator or auditor.")
@click.option(
    "--key", "new_key", required=True, help="The new agency's signing key (address or keystore)."
)
@click.option(
    "--encryption-key",
    required=True,
    help="The new agency's encryption public key (0x + 64 hex) or encryption key file.",
)
def propose_add(
    governor: _Governor, name: str, kind: str, new_key: str, encryption_key: str
) -> None:
    """Add an agency."""
    from ledger_node.chain.governance import Action

    governor.propose(
        Action.add_agency(
            _parse_kind(kind, "--kind"),
            _parse_address(new_key, "--key"),
            name,
            _parse_encryption_key(encryption_key, "--encryption-key"),
        )
    )


@propose.command("suspend")
@_governor_options
@click.option("--agency", "agency_id", type=int, required=True)
def propose_suspend(governor: _Governor, agency_id: int) -> None:
    """Suspend an agency: from the next block its key can no longer attest or govern."""
    from ledger_node.chain.governance import Action

    governor.propose(Action.suspend(agency_id))


@propose.command("reinstate")
@_governor_options
@click.option("--agency", "agency_id", type=int, required=True)
def propose_reinstate(governor: _Governor, agency_id: int) -> None:
    """Reinstate a suspended agency."""
    from ledger_node.chain.governance import Action

    governor.propose(Action.reinstate(agency_id))


@propose.command("rotate-key")
@_governor_options
@click.option("--agency", "agency_id", type=int, required=True)
@click.option("--key", "new_key", required=True, help="The agency's new signing key address.")
def propose_rotate(governor: _Governor, agency_id: int, new_key: str) -> None:
    """Replace an agency's signing key."""
    from ledger_node.chain.governance import Action

    governor.propose(Action.rotate_key(agency_id, new_key))


@propose.command("set-encryption-key")
@_governor_options
@click.option("--agency", "agency_id", type=int, required=True)
@click.option(
    "--encryption-key",
    required=True,
    help="The agency's new encryption public key (0x + 64 hex) or encryption key file.",
)
def propose_encryption_key(governor: _Governor, agency_id: int, encryption_key: str) -> None:
    """Replace an agency's encryption key, from the block after the proposal is executed."""
    from ledger_node.chain.governance import Action

    key = _parse_encryption_key(encryption_key, "--encryption-key")
    governor.propose(Action.set_encryption_key(agency_id, key))


@propose.command("set-read-policy")
@_governor_options
@click.option(
    "--schema", "schema_name", required=True, help="The schema, e.g. credit.tax-rating/v1."
)
@click.option("--reader", required=True, help="The reading agencies' kind, e.g. bank.")
@click.option(
    "--purposes",
    default="",
    help="Comma-separated purposes, e.g. credit-assessment; empty (with --no-access) for none.",
)
@click.option("--fields", default="", help="Fields disclosed: comma-separated paths, or '*'.")
@click.option("--consent-required", is_flag=True, help="The taxpayer's consent must be cited.")
@click.option("--no-access", is_flag=True, help="Withdraw every purpose: the kind reads nothing.")
def propose_read_policy(
    governor: _Governor,
    schema_name: str,
    reader: str,
    purposes: str,
    fields: str,
    consent_required: bool,
    no_access: bool,
) -> None:
    """Set what agencies of one kind may read of one schema through the exchange."""
    from ledger_node.chain.governance import Action
    from ledger_node.policy import NO_ACCESS, ReadRule
    from ledger_node.purposes import Purpose
    from ledger_node.records.schemas import get_schema

    if no_access == bool(purposes):
        raise click.UsageError("give --purposes (and --fields), or --no-access")
    rule = (
        NO_ACCESS
        if no_access
        else ReadRule(
            frozenset(Purpose.parse(p) for p in purposes.split(",") if p.strip()),
            consent_required,
            fields,
        )
    )
    governor.propose(
        Action.set_read_policy(
            get_schema(schema_name).schema_id, _parse_kind(reader, "--reader"), rule
        )
    )


@propose.command("register-tag-key")
@_governor_options
@click.option("--domain", required=True, help="The tag domain's name (or 0x id).")
@click.option("--holders", required=True, help="Comma-separated agency kinds holding the key.")
@click.option("--key-commitment", required=True, help="The key's commitment (0x + 64 hex).")
def propose_tag_key(governor: _Governor, domain: str, holders: str, key_commitment: str) -> None:
    """Register the next key version of a subject-tag domain (a rotation keeps old versions)."""
    from ledger_node.chain.governance import Action

    governor.propose(
        Action.register_tag_key(
            _domain_id(domain),
            _parse_kinds(holders, "--holders"),
            _parse_word(key_commitment, "--key-commitment"),
        )
    )


@propose.command("set-threshold")
@_governor_options
@click.argument("threshold", type=int)
def propose_threshold(governor: _Governor, threshold: int) -> None:
    """Change the number of approvals a proposal needs."""
    from ledger_node.chain.governance import Action

    governor.propose(Action.set_threshold(threshold))


@chain.command("approve")
@_governor_options
@click.argument("proposal_id", type=int)
def approve_command(governor: _Governor, proposal_id: int) -> None:
    """Approve a proposal as your agency."""
    governor.governance().approve(governor.client.sender(governor.key), proposal_id)
    click.echo(f"approved proposal {proposal_id}")


@chain.command("execute")
@_governor_options
@click.argument("proposal_id", type=int)
def execute_command(governor: _Governor, proposal_id: int) -> None:
    """Execute a proposal that has enough approvals (any funded key may send it)."""
    events = governor.governance().execute(governor.client.sender(governor.key), proposal_id)
    click.echo(f"executed proposal {proposal_id}: {', '.join(e.name for e in events)}")


@chain.command("proposals")
@chain_options
def proposals_command(rpc: str, deployment: Path) -> None:
    """List proposals with their approvals and whether they were executed."""
    from ledger_node.chain.governance import Governance

    gov = Governance(_client(rpc, deployment))
    for proposal_id in range(1, gov.proposal_count() + 1):
        p = gov.proposal(proposal_id)
        state = "executed" if p.executed else "open"
        approvers = ",".join(str(a) for a in p.approvers)
        click.echo(
            f"{proposal_id:>3}  {p.action.action_type.name.lower():<17} {state:<8} "
            f"proposer {p.proposer}  approvals [{approvers}]  block {p.created_block}"
        )
