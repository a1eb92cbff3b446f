"""``taxledger bench``: taxledger and the Ethereum Attestation Service side by side on one
anvil, in one run (see :mod:`ledger_node.benchmarks.run`)."""

from __future__ import annotations

import json

import click

from ledger_node.cli import main


@main.command("bench")
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

    from ledger_node.benchmarks.run import DEFAULT_GAS_LIMIT, BenchOptions, run

    limit = gas_limit or DEFAULT_GAS_LIMIT
    options = BenchOptions.quick(limit) if quick else BenchOptions(gas_limit=limit)
    if seconds is not None:
        options = dataclasses.replace(options, seconds=seconds)
    figures = run(options, say=lambda line: click.echo(line, err=as_json))
    if as_json:
        click.echo(json.dumps(figures, sort_keys=True))
    if figures["errors"]:
        raise SystemExit(1)
