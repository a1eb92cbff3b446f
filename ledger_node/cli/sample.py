"""``taxledger sample``: realistic sample records as JSON lines.

``taxledger sample SCHEMA`` prints independent valid records of one schema;
``taxledger sample market`` prints a whole generated market (every schema, records that
agree with each other) as the items of a gateway bulk request, with problems planted by
name on request and their ground truth written to a file.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import click

from ledger_node.canonical import canonical_bytes
from ledger_node.cli import main
from ledger_node.records.samples import generate
from ledger_node.records.schemas import SCHEMAS

MARKET = "market"


@main.command()
@click.argument("schema", type=click.Choice([MARKET, *sorted(SCHEMAS)]))
@click.option("--count", "-n", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--seed", "-s", type=int, default=0, show_default=True, help="Same seed, same records."
)
@click.option(
    "--invoices",
    type=click.IntRange(min=20),
    default=1000,
    show_default=True,
    help="market: about this many invoices.",
)
@click.option(
    "--plant",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="market: plant this named problem (repeatable; see the error for the names).",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    help="market: write the planted problems' ground truth to this JSON file.",
)
def sample(
    schema: str, count: int, seed: int, invoices: int, patterns: tuple[str, ...], truth: Path | None
) -> None:
    """Print COUNT valid records of SCHEMA, one canonical JSON object per line; or, for
    SCHEMA "market", a generated market as {"schema", "id", "record"} lines."""
    if schema != MARKET:
        if patterns or truth:
            raise click.UsageError("--plant and --truth apply to the market only")
        for record in generate(schema, count, seed):
            click.echo(canonical_bytes(record).decode())
        return
    # Imported here: a market pulls in the generator and the demo's record ids.
    from ledger_node.demo.scenario import record_id
    from ledger_node.records.economy import generate_market
    from ledger_node.records.patterns import plant

    # Importing the risk patterns registers them by name beside the audit's.
    importlib.import_module("ledger_node.risk.patterns")

    market = generate_market(seed, invoices=invoices)
    try:
        planted = plant(market, patterns, seed)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    for name, records in market.records.items():
        for record in records:
            item = {"schema": name, "id": record_id(name, record), "record": record}
            click.echo(canonical_bytes(item).decode())
    if truth is not None:
        doc = {
            "revocations": [
                {"schema": s, "id": record_id(s, r), "reason": why}
                for s, r, why in market.revocations
            ],
            "planted": [
                {
                    "pattern": t.pattern,
                    "finding": t.finding,
                    "subject": t.subject,
                    "what": t.what,
                    "taxpayers": list(t.taxpayers),
                    "invoices": list(t.invoices),
                    "indicators": list(t.indicators),
                    "flagged": list(t.flagged),
                }
                for t in planted
            ],
        }
        truth.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
