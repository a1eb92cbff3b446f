"""``taxledger verify``: check proof bundles against the ledger, one verdict line per bundle."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ledger_node.cli import main
from ledger_node.cli.options import connect_node, reader_options

if TYPE_CHECKING:
    from ledger_node.verify import VerificationFailure, Verifier


#: The order of paths, cheaply: on POSIX, paths compare as their tuples of parts.
_order = (lambda path: path.parts) if os.name == "posix" else None


def bundle_files(paths: Sequence[Path]) -> Iterator[Path]:
    """The files named, with directories expanded to every ``*.json`` under them, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted((p for p in path.rglob("*.json") if p.is_file()), key=_order)
        else:
            yield path


def index_verifier(index: Path, confirmations: int = 0) -> Verifier:
    """A verifier answering from the synced audit index at ``index``; module-level, so that
    worker processes can each build their own."""
    from ledger_node.audit.index import AuditIndex
    from ledger_node.verify import Verifier

    return Verifier.from_index(AuditIndex.open(index), confirmations=confirmations)


def open_verifier(
    rpc: str | None, deployment: Path | None, index: Path | None, confirmations: int
) -> Verifier:
    """The verifier the options ask for: an index if given, else a node and deployment."""
    from ledger_node.audit.index import AuditIndex
    from ledger_node.chain.ledger import LedgerClient
    from ledger_node.deployment import Deployment
    from ledger_node.verify import Verifier
    from ledger_node.verify.view import ChainView

    if index is not None:
        store = AuditIndex.open(index)
        if deployment is not None:
            expected = Deployment.load(deployment)
            if (expected.ledger, expected.chain_id) != (store.ledger, store.chain_id):
                raise click.UsageError(
                    f"index {index} is of ledger {store.ledger} on chain {store.chain_id}, not "
                    f"the deployment's {expected.ledger} on chain {expected.chain_id}"
                )
        return Verifier.from_index(store, confirmations=confirmations)
    if rpc is None or deployment is None:
        raise click.UsageError("give --rpc and --deployment, or --index of a synced audit index")
    loaded = Deployment.load(deployment)
    client = LedgerClient.from_deployment(connect_node(rpc), loaded)
    return Verifier(ChainView(client, loaded, source=rpc), confirmations=confirmations)


@main.command("verify")
@click.argument("bundles", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@reader_options(
    deployment_help="The ledger's deployment file (with --rpc; with --index, checked against it).",
    index_help="A SQLite index synced by `taxledger audit`: verify from it, without a node.",
    confirmations_help="Blocks required on top of a bundle's block.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    help="Worker processes verifying from --index (default: one per CPU for 1,000 bundles "
    "or more, else 1).",
)
def verify_command(
    bundles: tuple[Path, ...],
    rpc: str | None,
    deployment: Path | None,
    index: Path | None,
    confirmations: int,
    jobs: int,
) -> None:
    """Check proof BUNDLES (files, or directories of *.json) against the ledger.

    Prints ``OK: FILE`` or ``FAIL: FILE: (N) REASON`` per bundle, N being the first check
    that failed: (0) well-formed, (1) record valid, (2) hashes recompute, (3) proof reaches
    the root, (4) on chain as stated, (5) signature, (6) signer's key at that block,
    (7) agency active and allowed, (8) not revoked or expired, (9) confirmations.
    Exits 0 only if every bundle passes.
    """
    from ledger_node.cli.parallel import (
        PARALLEL_THRESHOLD,
        default_processes,
        verify_in_processes,
    )

    if jobs > 1 and index is None:
        raise click.UsageError("--jobs needs --index: worker processes read a synced index")
    verifier = open_verifier(rpc, deployment, index, confirmations)
    paths = list(bundle_files(bundles))
    if jobs == 0:
        many = index is not None and len(paths) >= PARALLEL_THRESHOLD
        jobs = default_processes() if many else 1
    verdicts: Iterator[VerificationFailure | None]
    if jobs > 1:
        assert index is not None
        factory = functools.partial(index_verifier, index, confirmations)
        verdicts = verify_in_processes(factory, paths, processes=jobs)
    else:
        verdicts = verifier.verify_many(paths)
    failed = 0
    # Verdicts come in the order of the paths, from one process or several alike.
    for path, failure in zip(paths, verdicts, strict=True):
        if failure is not None:
            failed += 1
            click.echo(f"FAIL: {path}: ({failure.check}) {failure.message}")
        else:
            click.echo(f"OK: {path}")
    if failed:
        raise SystemExit(1)
