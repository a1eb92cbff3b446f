"""``taxledger contracts``: build the shipped contract artifacts, or check they are current."""

from __future__ import annotations

from pathlib import Path

import click

from ledger_node.cli import main


@main.group()
def contracts() -> None:
    """Compile the Solidity contracts into the artifacts the package ships."""


@contracts.command("build")
@click.option("--check", is_flag=True, help="Exit 1 if the committed artifacts are stale.")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The checkout (default: found from the current directory).",
)
def build_command(check: bool, root: Path | None) -> None:
    """Compile with the pinned solc and write ledger_node/contracts/artifacts/."""
    from ledger_node.contracts.build import build, find_project_root
    from ledger_node.contracts.build import check as check_artifacts

    checkout = find_project_root(root)
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
