"""The developer commands: ``taxledger bench`` (taxledger and the Ethereum Attestation Service
side by side on one anvil, see :mod:`taxledger_dev.benchmarks.run`) and ``taxledger contracts
build`` (the shipped contract artifacts). They join ``taxledger`` through the
``taxledger.commands`` entry points."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("bench")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object of figures on stdout; the running account goes to stderr.",
)
@click.option(
    "--quick", is_flag=True, help="30 s write windows and smaller verify/sync/gateway runs."
)
@click.option(
    "--gas-limit",
    type=click.IntRange(min=1_000_000),
    default=None,
    help="Block gas limit of the anvil node, the same for both sides [default: 100,000,000].",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=1.0),
    default=None,
    help="Length of each records/s window (default 60, or 30 with --quick).",
)
def bench(as_json: bool, quick: bool, gas_limit: int | None, seconds: float | None) -> None:
    """Measure taxledger against EAS on one anvil (--block-time 1): gas per attestation and
    per record, records/s, and for taxledger a gateway end to end, verify/s and audit sync.

    A phase of taxledger's own figures that fails is reported (``errors`` in the JSON) and
    the run goes on; the exit status is then 1."""
    import dataclasses

    from taxledger_dev.benchmarks.run import DEFAULT_GAS_LIMIT, BenchOptions, run

    limit = gas_limit or DEFAULT_GAS_LIMIT
    options = BenchOptions.quick(limit) if quick else BenchOptions(gas_limit=limit)
    if seconds is not None:
        options = dataclasses.replace(options, seconds=seconds)
    figures = run(options, say=lambda line: click.echo(line, err=as_json))
    if as_json:
        click.echo(json.dumps(figures, sort_keys=True))
    if figures["errors"]:
        raise SystemExit(1)


@click.group()
def contracts() -> None:
    """Compile the Solidity contracts into the artifacts the package ships."""


@contracts.command("build")
@click.option("--check", is_flag=True, help="Exit 1 if the committed artifacts are stale.")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The checkout (default: the one this package runs from, or above the current folder).",
)
def build_command(check: bool, root: Path | None) -> None:
    """Compile with the pinned solc and write ledger_node/contracts/artifacts/."""
    from ledger_node.checkout import project_root
    from taxledger_dev.build import build
    from taxledger_dev.build import check as check_artifacts

    checkout = project_root(root)
    out_dir = checkout / "ledger_node" / "contracts" / "artifacts"
    if check:
        result = check_artifacts(checkout, out_dir)
        if not result.ok:
            click.echo(
                f"FAIL: stale artifacts: {', '.join(result.stale)}; "
                "run `taxledger contracts build` and commit them",
                err=True,
            )
            raise SystemExit(1)
        click.echo("OK: artifacts match a fresh compile")
        return
    for path in build(checkout, out_dir):
        click.echo(f"wrote {path.relative_to(checkout)}")
