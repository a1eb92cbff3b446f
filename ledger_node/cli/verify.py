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
    from ledger_node.bundle import ProofBundleV2
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


def index_verifier(
    index: Path,
    confirmations: int = 0,
    consortium_key: bytes | None = None,
    reasons: dict[bytes, str] | None = None,
) -> Verifier:
    """A verifier answering from the synced audit index at ``index``; module-level, so that
    worker processes can each build their own."""
    from ledger_node.audit.index import AuditIndex
    from ledger_node.verify import Verifier

    verifier = Verifier.from_index(
        AuditIndex.open(index), confirmations=confirmations, consortium_key=consortium_key
    )
    verifier.reasons.update(reasons or {})
    return verifier


def read_revocation_reasons(path: Path | None) -> dict[bytes, str]:
    """The revocation reasons in ``path``: a JSON list of ``{"reason", "reason_salt"}``, as a
    gateway's ``GET /v1/records/{id}`` shows each revocation."""
    import json

    from ledger_node.errors import LedgerValueError
    from ledger_node.verify.verifier import revocation_reasons

    if path is None:
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        pairs = [(e["reason"], bytes.fromhex(e["reason_salt"].removeprefix("0x"))) for e in entries]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LedgerValueError(
            f'{path} must be a JSON list of {{"reason", "reason_salt"}} objects: {exc}'
        ) from None
    if any(len(salt) != 32 for _, salt in pairs):
        raise LedgerValueError(f"{path}: every reason_salt is 32 bytes (0x + 64 hex)")
    return revocation_reasons(pairs)


def read_consortium_key(path: Path | None) -> bytes | None:
    """The v1 subject-tag key in the hex file at ``path`` (None if no path)."""
    from ledger_node.errors import ConfigurationError

    if path is None:
        return None
    try:
        key = bytes.fromhex(path.read_text(encoding="utf-8").strip().removeprefix("0x"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the consortium key in {path}: {exc}") from None
    if len(key) < 32:
        raise ConfigurationError(f"the consortium key in {path} is shorter than 32 bytes")
    return key


def open_verifier(
    rpc: str | None,
    deployment: Path | None,
    index: Path | None,
    confirmations: int,
    consortium_key: bytes | None = None,
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
        return Verifier.from_index(
            store, confirmations=confirmations, consortium_key=consortium_key
        )
    if rpc is None or deployment is None:
        raise click.UsageError("give --rpc and --deployment, or --index of a synced audit index")
    loaded = Deployment.load(deployment)
    client = LedgerClient.from_deployment(connect_node(rpc), loaded)
    return Verifier(
        ChainView(client, loaded, source=rpc),
        confirmations=confirmations,
        consortium_key=consortium_key,
    )


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
@click.option(
    "--consortium-key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The v1 subject-tag key (hex): with it, a v1 bundle's tags are recomputed from its "
    "record and must match (v2 bundles commit their tags).",
)
@click.option(
    "--revocation-reasons",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Revocation reasons you hold: a JSON list of {reason, reason_salt} from the gateway's "
    "record view; a revoked fact whose salted reason matches one is reported with its text.",
)
def verify_command(
    bundles: tuple[Path, ...],
    rpc: str | None,
    deployment: Path | None,
    index: Path | None,
    confirmations: int,
    jobs: int,
    consortium_key_file: Path | None,
    revocation_reasons: Path | None,
) -> None:
    """Check proof BUNDLES (files, or directories of *.json) against the ledger.

    Bundles may be taxledger.proof/v1 or v2, whole or partial (`taxledger disclose`).
    Prints ``OK: FILE`` or ``FAIL: FILE: (N) REASON`` per bundle, N being the first check
    that failed: (0) well-formed, (1) record valid, (2) hashes recompute (for v2: each shown
    field, the field tree, the subject tags; for v1 with the key: the tags), (3) proof reaches
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
    key = read_consortium_key(consortium_key_file)
    reasons = read_revocation_reasons(revocation_reasons)
    verifier = open_verifier(rpc, deployment, index, confirmations, key)
    verifier.reasons.update(reasons)
    paths = list(bundle_files(bundles))
    if jobs == 0:
        many = index is not None and len(paths) >= PARALLEL_THRESHOLD
        jobs = default_processes() if many else 1
    verdicts: Iterator[VerificationFailure | None]
    if jobs > 1:
        assert index is not None
        factory = functools.partial(index_verifier, index, confirmations, key, reasons)
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


@main.command("disclose")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--fields",
    required=True,
    help="Comma-separated field paths to show, e.g. seller.tax_id,total or "
    "settles[].invoice_number (name[] is every item, name[N] item N, * everything).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the partial bundle.",
)
def disclose_command(bundle: Path, fields: str, out: Path) -> None:
    """Derive from a taxledger.proof/v2 BUNDLE one that shows only the named fields.

    The partial bundle keeps the subject tags, the proof and the anchor, shows each named
    field with its own salt, and stands for every other field by a digest that no guess of
    its value can be checked against. `taxledger verify` checks it like a full bundle.
    """
    from ledger_node.bundle import ProofBundleV2, load_bundle
    from ledger_node.errors import LedgerValueError, ProofBundleError
    from ledger_node.fieldtree import parse_field_paths

    paths = parse_field_paths(fields)
    try:
        loaded = load_bundle(bundle)
    except OSError as exc:
        raise LedgerValueError(f"cannot read {bundle}: {exc.strerror}") from None
    except ProofBundleError as exc:
        raise ProofBundleError(f"{bundle} is not a proof bundle: {exc}") from None
    if not isinstance(loaded, ProofBundleV2):
        raise ProofBundleError(
            f"{bundle} is a taxledger.proof/v1 bundle: its record is committed whole, so no "
            "part of it can be shown alone; ask its gateway for a taxledger.proof/v2 bundle"
        )
    partial = loaded.disclose(paths)
    partial.save(out)
    shown = ", ".join(p for p, _ in disclosed_fields(partial)) or "no field"
    click.echo(f"wrote {out}: {shown}")


def disclosed_fields(bundle: ProofBundleV2) -> list[tuple[str, object]]:
    """``(path, value)`` of each field a v2 bundle shows."""
    from ledger_node.fieldtree import disclosed_values

    return [(path, node.value) for path, node in disclosed_values(bundle.fields)]
