"""``taxledger demo`` and ``taxledger testnet``: the whole story in one command, and a local
testnet with a process per agency."""

from __future__ import annotations

from pathlib import Path

import click

from ledger_node.cli import main


@main.command("demo")
@click.option("--rpc", default=None, help="Run on a JSON-RPC node instead of the embedded chain.")
@click.option(
    "--testnet",
    "testnet_dir",
    default=None,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Run over HTTP against the gateways of `taxledger testnet up --dir DIR`.",
)
@click.option(
    "--invoices",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="About this many invoices (at least 600, for every planted pattern to have its own).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where to write deployment.json, bundles/ and the reports.",
)
def demo_command(rpc: str | None, testnet_dir: Path | None, invoices: int, out: Path) -> None:
    """Found a consortium, run its agencies' gateways, submit a scenario with planted
    problems, audit it, and check the audit found exactly what was planted."""
    from ledger_node.demo.run import run_demo

    if rpc is not None and testnet_dir is not None:
        raise click.UsageError("give --rpc or --testnet, not both")
    result = run_demo(out, invoices=invoices, rpc=rpc, testnet=testnet_dir)
    summary = result.summary
    click.echo("")
    click.echo(
        f"audit: {summary['bundles_verified']}/{summary['bundles']} records verified, "
        f"{summary['invoices_consistent']}/{summary['invoices']} invoices consistent, "
        f"{summary['findings']} finding(s)"
    )
    for code, subject, what in result.planted:
        mark = "FOUND " if (code, subject, what) not in result.missed else "MISSED"
        click.echo(f"  {mark} {what:<42} {code:<20} {subject}")
    for code, subject in result.unexpected:
        click.echo(f"  EXTRA  {'not planted':<42} {code:<20} {subject}")
    risk = result.risk
    click.echo("")
    click.echo(
        f"risk: {risk.summary['hits']} indicator hit(s) on {risk.summary['flagged']} of "
        f"{risk.summary['taxpayers']} taxpayers; the top {len(risk.top)} are "
        f"{'exactly' if not (risk.missed or risk.unexpected) else 'not'} the "
        f"{len(risk.expected)} the planted patterns must flag"
    )
    for taxpayer in sorted(risk.missed):
        click.echo(f"  MISSED taxpayer {taxpayer}")
    for taxpayer in risk.unexpected:
        click.echo(f"  EXTRA  taxpayer {taxpayer}")
    for pattern, code in risk.missed_indicators:
        click.echo(f"  MISSED indicator {code} of {pattern}")
    click.echo("")
    click.echo(
        f"wrote {out / 'deployment.json'}, {out / 'bundles'}/, {out / 'report.html'}, "
        f"{out / 'report.json'}, {out / 'risk.html'}, {out / 'risk.json'}"
    )
    if not result.ok:
        click.echo("FAIL: the findings differ from the planted problems", err=True)
        raise SystemExit(1)
    click.echo(
        f"OK: the audit found all {len(result.planted)} planted problems and nothing else; "
        f"the risk report ranks exactly the {len(risk.expected)} flagged taxpayers at the top"
    )


@main.group("testnet")
def testnet() -> None:
    """A local testnet: a node process and one gateway process per agency."""


@testnet.command("up")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--node", type=click.Choice(["anvil", "hardhat"]), default="anvil", show_default=True)
@click.option(
    "--base-port",
    type=click.IntRange(1024, 65_000),
    default=None,
    help="The node listens on this port and the gateways on the next ones [default: free ports].",
)
def testnet_up_command(directory: Path, node: str, base_port: int | None) -> None:
    """Start the node, deploy, start the gateways, write DIR/testnet.json; on an existing
    DIR, start again whatever of it is not running (the same chain, outboxes and ports)."""
    from ledger_node.demo.testnet import testnet_up

    doc = testnet_up(directory, node=node, base_port=base_port, echo=click.echo)
    click.echo(f"testnet up; wrote {directory / 'testnet.json'} (RPC {doc['rpc']})")
    click.echo(f"run the demo over HTTP: taxledger demo --testnet {directory}")


@testnet.command("down")
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
)
def testnet_down_command(directory: Path) -> None:
    """Stop everything `testnet up` started (DIR stays: `testnet up` resumes it)."""
    from ledger_node.demo.testnet import testnet_down

    stopped = testnet_down(directory)
    click.echo(f"stopped {len(stopped)} process(es)")
