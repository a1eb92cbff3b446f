"""``taxledger chain``: deploy a ledger, and govern its membership M-of-N."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ledger_node.agencies import AgencyKind
from ledger_node.cli import main
from ledger_node.cli.options import chain_options, password_options, read_cli_password
from ledger_node.keys import LocalKey

if TYPE_CHECKING:
    from ledger_node.chain.governance import Action, Governance
    from ledger_node.chain.ledger import LedgerClient


@main.group()
def chain() -> None:
    """Deploy the ledger and govern the consortium."""


def _parse_member(text: str) -> tuple[str, AgencyKind, str]:
    """``NAME:KIND:KEY`` where KEY is an address or a keystore file."""
    from ledger_node.keys import keystore_address

    parts = text.split(":", 2)
    if len(parts) != 3:
        raise click.BadParameter(f"{text!r}: expected NAME:KIND:ADDRESS_OR_KEYSTORE")
    name, kind_text, key = parts
    try:
        kind = AgencyKind.parse(kind_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if not key.startswith("0x"):
        if not Path(key).is_file():
            raise click.BadParameter(f"{key!r} is neither an address nor a keystore file")
        key = keystore_address(key)
    if len(key) != 42:
        raise click.BadParameter(f"{key!r} is not a 20-byte address")
    return name, kind, key.lower()


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
    metavar="NAME:KIND:KEY",
    help="A founding agency; KEY is an address or a keystore file. Repeat per agency.",
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
    threshold: int,
    out: Path,
    fund_from_node: bool,
) -> None:
    """Deploy a ledger founded by the given agencies, with the standard schemas."""
    from ledger_node.chain.deploy import Founder, default_schemas, deploy_ledger
    from ledger_node.chain.deploy import fund_from_node as fund
    from ledger_node.chain.rpc import Rpc, as_int, connect
    from ledger_node.chain.transactions import Sender

    founders = [Founder(name, kind, key) for name, kind, key in map(_parse_member, members)]
    deployer = _load_key(keystore, password_file, password_env)
    node = Rpc(connect(rpc))
    if fund_from_node:
        fund(node, [deployer.address, *(f.key for f in founders)])
    sender = Sender(node, deployer, as_int(node.request("eth_chainId", [])))
    deployment = deploy_ledger(node, sender, founders, default_schemas(), threshold)
    deployment.save(out)
    click.echo(
        f"deployed ledger {deployment.ledger} on chain {deployment.chain_id} at block "
        f"{deployment.deployment_block}; wrote {out}"
    )


def _client(rpc: str, deployment: Path) -> LedgerClient:
    from ledger_node.chain.ledger import LedgerClient
    from ledger_node.chain.rpc import connect
    from ledger_node.deployment import Deployment

    return LedgerClient.from_deployment(connect(rpc), Deployment.load(deployment))


@chain.command("members")
@chain_options
def members_command(rpc: str, deployment: Path) -> None:
    """List member agencies: id, kind, status, current key and key history."""
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
@click.option("--key", "new_key", required=True, help="The new agency's signing key address.")
def propose_add(governor: _Governor, name: str, kind: str, new_key: str) -> None:
    """Add an agency."""
    from ledger_node.chain.governance import Action

    try:
        parsed = AgencyKind.parse(kind)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--kind") from None
    governor.propose(Action.add_agency(parsed, new_key, name))


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
