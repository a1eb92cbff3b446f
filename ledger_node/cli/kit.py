"""``taxledger kit``: deployment kits generated from the consortium's member list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ledger_node.cli import main

if TYPE_CHECKING:
    from ledger_node.kit.besu import ValidatorChange

F = TypeVar("F", bound=Callable[..., Any])


@main.group()
def kit() -> None:
    """Deployment kits for a consortium's own network."""


def _kit_options(*, required: bool, out_help: str) -> Callable[[F], F]:
    """``--members`` and ``--out``: the member list and the network's directory."""

    def decorate(fn: F) -> F:
        fn = click.option(
            "--out",
            required=required,
            type=click.Path(file_okay=False, path_type=Path),
            help=out_help,
        )(fn)
        fn = click.option(
            "--members",
            required=required,
            type=click.Path(dir_okay=False, path_type=Path),
            help="The member list (see docs/consortium-members.toml).",
        )(fn)
        return fn

    return decorate


@kit.group("besu", invoke_without_command=True)
@_kit_options(required=False, out_help="Where to write the network's files (a new directory).")
@click.pass_context
def besu(ctx: click.Context, members: Path | None, out: Path | None) -> None:
    """A Hyperledger Besu QBFT network: genesis, node keys and configurations, allowlists,
    static nodes, compose file and README, from the member list."""
    if ctx.invoked_subcommand is not None:
        if members is not None or out is not None:
            raise click.UsageError(f"give --members and --out after {ctx.invoked_subcommand}")
        return
    if members is None or out is None:
        raise click.UsageError("give --members FILE and --out DIR")
    from ledger_node.kit.besu import generate
    from ledger_node.kit.genesis import size_gas_limit
    from ledger_node.kit.members import load_members

    consortium = load_members(members)
    network = generate(consortium, out)
    sizing = size_gas_limit(len(consortium.members), consortium.gas_limit)
    count = len(network.validators)
    click.echo(
        f"wrote the Besu network of {len(consortium.members)} member nodes ({count} "
        f"validators) to {out}: chain {consortium.chain_id}, gas limit {sizing.gas_limit:,}"
    )
    if count < 4:
        click.echo(
            f"note: {count} validator(s) tolerate no faulty validator; QBFT needs 4 to tolerate one"
        )
    click.echo(f"next: the steps in {out / 'README.md'}")


def _print_change(change: ValidatorChange) -> None:
    from ledger_node.kit.besu import operator_call

    verb = "add" if change.add else "remove"
    network = change.network
    click.echo(
        f"rewrote the allowlists, static nodes, node configurations and compose file to {verb} "
        f"{change.name} ({change.address}) as a validator; the genesis is unchanged"
    )
    for name in change.new_nodes:
        click.echo(f"new node {name}: {network.enode(name)} (its key is in nodes/{name}/key)")
    for name in change.dropped_nodes:
        click.echo(f"{name} left the member list: its node is out of every allowlist")
    click.echo(
        "1. copy static-nodes.json, compose.yaml and nodes/NAME/ to every member's node host, "
        "and on each node reload its allowlists from its operator endpoint:"
    )
    for member in network.consortium.members:
        reload = operator_call(member, "perm_reloadPermissionsFromFile", [])
        click.echo(f"   {member.name}: {reload}")
    if change.add:
        click.echo(f"2. start the node of {change.name}: docker compose up -d {change.name}")
    else:
        click.echo(f"2. keep the node of {change.name} running until the vote has taken effect")
    click.echo(
        f"3. the validator vote: at least {change.needed} of these validators make this call on "
        "their own node host (more than half of the validators must vote):"
    )
    for vote in change.votes:
        click.echo(f"   {vote.voter.name}: {vote.command}")
    click.echo(
        '4. once qbft_getValidatorsByBlockNumber ["latest"] '
        f"{'lists' if change.add else 'no longer lists'} {change.address}, each voter drops its "
        f'vote: qbft_discardValidatorVote ["{change.address}"]'
    )


@besu.command("add-validator")
@_kit_options(required=True, out_help="The network's directory.")
@click.option("--name", required=True, help="The member whose node becomes a validator.")
def add_validator(members: Path, out: Path, name: str) -> None:
    """Make a member's node a validator: update the files, print the votes to cast."""
    from ledger_node.kit.besu import change_validator
    from ledger_node.kit.members import load_members

    _print_change(change_validator(load_members(members), out, name, add=True))


@besu.command("remove-validator")
@_kit_options(required=True, out_help="The network's directory.")
@click.option("--name", required=True, help="The validator to remove.")
def remove_validator(members: Path, out: Path, name: str) -> None:
    """Remove a validator: update the files, print the votes to cast."""
    from ledger_node.kit.besu import change_validator
    from ledger_node.kit.members import load_members

    _print_change(change_validator(load_members(members), out, name, add=False))
