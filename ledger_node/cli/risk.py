"""``taxledger risk``: the credit + risk analysis of the facts an auditor holds."""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from ledger_node.cli import main
from ledger_node.cli.options import reader_options


@main.command("risk")
@reader_options(
    deployment_help="The ledger's deployment file (with --rpc: sync the index first).",
    index_help="The SQLite audit index [default: audit-index.sqlite next to the deployment "
    "file]; alone, an index synced before.",
    confirmations_help="Count only blocks with this many blocks on top.",
)
@click.option(
    "--records",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="A directory of proof bundles (searched recursively): the facts to analyse.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the dashboard (HTML) here.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report (taxledger.risk/v1) here.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Thresholds and weights [default: the packaged risk.toml].",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day the analysis speaks for (unpaid invoices age until it) [default: today].",
)
def risk_command(
    rpc: str | None,
    deployment: Path | None,
    index: Path | None,
    confirmations: int,
    records: Path,
    report_path: Path | None,
    json_path: Path | None,
    config_path: Path | None,
    as_of: datetime.datetime | None,
) -> None:
    """Score the taxpayers in the verified facts under --records: the risk indicators, a
    score with its evidence per taxpayer, its supervision tier, ranked. Needs a synced audit
    index: --index DB alone, or --rpc and --deployment to sync it first."""
    from ledger_node.audit.index import AuditIndex
    from ledger_node.audit.report import bundle_paths
    from ledger_node.chain.rpc import Rpc, connect
    from ledger_node.deployment import Deployment
    from ledger_node.records.clock import now
    from ledger_node.risk.config import load_config
    from ledger_node.risk.run import run_risk

    if report_path is None and json_path is None:
        raise click.UsageError("give --report FILE.html and/or --json FILE.json")
    if (rpc is None) != (deployment is None):
        raise click.UsageError("give --rpc and --deployment together (or --index alone)")
    if rpc is None and index is None:
        raise click.UsageError("give --rpc and --deployment, or --index of a synced audit index")
    config = load_config(config_path)
    node = None
    if rpc is not None and deployment is not None:
        loaded = Deployment.load(deployment)
        store = AuditIndex.create_or_open(index or deployment.parent / "audit-index.sqlite", loaded)
        node = Rpc(connect(rpc))
        store.sync(node, confirmations=confirmations)
    else:
        assert index is not None
        store = AuditIndex.open(index)
    try:
        report = run_risk(
            store,
            node,
            bundle_paths(records),
            config,
            as_of.date() if as_of is not None else now().date,
            confirmations=confirmations,
        )
    finally:
        store.close()
    if json_path is not None:
        json_path.write_bytes(report.to_json_bytes())
    if report_path is not None:
        report_path.write_text(report.to_html(), encoding="utf-8")
    source, summary = report.source, report.summary
    tiers = ", ".join(f"{tier} {n}" for tier, n in reversed(summary["tiers"].items()))
    click.echo(
        f"{source['verified']}/{source['bundles']} records verified ({source['revoked']} "
        f"revoked, {source['failed']} failed); {summary['hits']} indicator hit(s) on "
        f"{summary['flagged']} of {summary['taxpayers']} taxpayers; tiers: {tiers}"
    )
    for entry in report.ranking[:10]:
        click.echo(
            f"  {entry['rank']:>3}. {entry['taxpayer']}  {entry['tier']:<10} score "
            f"{entry['score']:>4}  {', '.join(p['indicator'] for p in entry['points'])}"
        )
