"""``taxledger sample``: realistic sample records as JSON lines."""

from __future__ import annotations

import click

from ledger_node.canonical import canonical_bytes
from ledger_node.cli import main
from ledger_node.records.samples import generate
from ledger_node.records.schemas import SCHEMAS


@main.command()
@click.argument("schema", type=click.Choice(sorted(SCHEMAS)))
@click.option("--count", "-n", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--seed", "-s", type=int, default=0, show_default=True, help="Same seed, same records."
)
def sample(schema: str, count: int, seed: int) -> None:
    """Print COUNT valid records of SCHEMA, one canonical JSON object per line."""
    for record in generate(schema, count, seed):
        click.echo(canonical_bytes(record).decode())
