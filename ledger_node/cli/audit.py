"""``taxledger audit``: sync the ledger into an index, check it and the records given, report;
``taxledger audit provenance``: every fact about one invoice or taxpayer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import orjson

from ledger_node.cli import main
from ledger_node.cli.options import (
    connect_node,
    password_options,
    read_cli_password,
    reader_options,
)


class _Progress:
    """A progress bar on stderr that starts once the number of blocks is known."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(
                length=total, label="syncing blocks", file=sys.stderr, show_pos=True
            )
            self._bar.__enter__()
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


@main.group("audit", invoke_without_command=True)
@reader_options(
    deployment_help="The ledger's deployment file.",
    index_help="The SQLite index to sync [default: audit-index.sqlite next to the deployment "
    "file].",
    confirmations_help="Sync and accept only blocks with this many blocks on top.",
)
@click.option(
    "--records",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A directory of proof bundles (searched recursively) to verify and cross-check.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the HTML report here.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the JSON report (taxledger.audit/v1) here.",
)
@click.pass_context
def audit(
    ctx: click.Context,
    rpc: str | None,
    deployment: Path | None,
    records: Path | None,
    report_path: Path | None,
    json_path: Path | None,
    index: Path | None,
    confirmations: int,
) -> None:
    """Audit the ledger: sync its events into a local index (incrementally), check that
    every write and revocation was authorised and every membership change approved, verify
    the records given and cross-check each invoice against payments and registrations
    (三流一致). Exits 1 if any error-level finding was made.
    """
    if ctx.invoked_subcommand is not None:
        return
    if rpc is None or deployment is None:
        raise click.UsageError("taxledger audit needs --rpc and --deployment")
    if report_path is None and json_path is None:
        raise click.UsageError("give --report FILE.html and/or --json FILE.json")
    from ledger_node.audit.index import AuditIndex
    from ledger_node.audit.report import run_audit
    from ledger_node.chain.rpc import Rpc
    from ledger_node.deployment import Deployment

    loaded = Deployment.load(deployment)
    store = AuditIndex.create_or_open(index or deployment.parent / "audit-index.sqlite", loaded)
    progress = _Progress()
    try:
        report = run_audit(
            Rpc(connect_node(rpc)),
            store,
            records=records,
            confirmations=confirmations,
            progress=progress,
        )
    finally:
        progress.close()
        store.close()
    if json_path is not None:
        json_path.write_bytes(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
    if report_path is not None:
        report_path.write_text(report.to_html(), encoding="utf-8")
    summary = report.summary
    click.echo(
        f"synced blocks {report.sync.first}..{report.sync.last} ({report.sync.events} events); "
        f"{summary['bundles_verified']}/{summary['bundles']} records verified, "
        f"{summary['invoices_consistent']}/{summary['invoices']} invoices consistent, "
        f"{summary['findings']} finding(s)"
    )
    if summary["findings_by_severity"].get("error"):
        raise SystemExit(1)


def _subject_key_options(fn: Any) -> Any:
    """``--keyring``/``--encryption-key`` (with the password options) and
    ``--consortium-key-file``: the keys a subject named by its identifier is tagged with."""
    fn = click.option(
        "--consortium-key-file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help="File holding the consortium's v1 subject-tag key (hex), to tag --invoice/"
        "--taxpayer as v1 records did and to prove the tags of v1 bundles (without it, only "
        "v2 bundles' committed tags count).",
    )(fn)
    fn = password_options(fn)
    fn = click.option(
        "--encryption-key",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help="The encryption key file the keyring is sealed to (with --password-file/-env).",
    )(fn)
    return click.option(
        "--keyring",
        "keyring_file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        default=None,
        help="Your keyring file: --invoice/--taxpayer are looked up under their tag in every "
        "domain and key version it holds.",
    )(fn)


def _identifier_tags(
    kind: str,
    identifier: str,
    keyring_file: Path | None,
    encryption_key: Path | None,
    password_file: Path | None,
    password_env: str | None,
    consortium_key: bytes | None,
) -> list[bytes]:
    """Every tag of ``identifier`` under the keys given: each domain and key version of the
    keyring, and the v1 consortium key's tag."""
    from ledger_node.keyring import open_keyring
    from ledger_node.keys import load_encryption_keyfile
    from ledger_node.subject import subject_tag
    from ledger_node.tagging import identifier_tags

    if consortium_key is None and keyring_file is None:
        raise click.UsageError(
            "--invoice and --taxpayer need --keyring (with --encryption-key) or "
            "--consortium-key-file"
        )
    tags: list[bytes] = []
    if keyring_file is not None:
        if encryption_key is None:
            raise click.UsageError("--keyring needs --encryption-key, the key it is sealed to")
        keyring = open_keyring(
            keyring_file,
            load_encryption_keyfile(encryption_key, read_cli_password(password_file, password_env)),
        )
        tags += [t.tag for t in identifier_tags(keyring, kind, identifier)]
    if consortium_key is not None:
        tags.append(subject_tag(consortium_key, kind, identifier))
    return tags


@audit.command("provenance")
@click.option(
    "--index",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="A SQLite index synced by `taxledger audit`.",
)
@click.option("--tag", default=None, help="The subject tag (0x + 64 hex).")
@click.option("--invoice", default=None, help="An invoice number (needs keys: see below).")
@click.option("--taxpayer", default=None, help="A taxpayer's USCC (needs keys: see below).")
@_subject_key_options
@click.option(
    "--records",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Proof bundles to include: those carrying the tag join the timeline.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def provenance_command(
    index: Path,
    tag: str | None,
    invoice: str | None,
    taxpayer: str | None,
    keyring_file: Path | None,
    encryption_key: Path | None,
    password_file: Path | None,
    password_env: str | None,
    consortium_key_file: Path | None,
    records: Path | None,
    as_json: bool,
) -> None:
    """Every fact about one subject, in chain order: who attested it, at which block, and
    what revoked or superseded it. Give --tag, or --invoice/--taxpayer with a keyring (tags
    per domain) or the v1 consortium key."""
    from ledger_node.audit.index import AuditIndex
    from ledger_node.audit.records import check_records, provenance, sort_timeline
    from ledger_node.audit.report import bundle_paths
    from ledger_node.cli.verify import read_consortium_key
    from ledger_node.verify import Verifier

    chosen = [x for x in (tag, invoice, taxpayer) if x is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --tag, --invoice or --taxpayer")
    key = read_consortium_key(consortium_key_file)
    subjects: list[bytes] = []
    if tag is not None:
        if not (tag.startswith("0x") and len(tag) == 66):
            raise click.BadParameter("a tag is 0x followed by 64 hex digits", param_hint="--tag")
        subjects.append(bytes.fromhex(tag[2:]))
    else:
        kind, identifier = ("invoice", invoice) if invoice is not None else ("taxpayer", taxpayer)
        assert identifier is not None
        subjects = _identifier_tags(
            kind, identifier, keyring_file, encryption_key, password_file, password_env, key
        )
    store = AuditIndex.open(index)
    checked = (
        check_records(Verifier.from_index(store, consortium_key=key), store, bundle_paths(records))
        if records is not None
        else []
    )
    entries = sort_timeline(e for subject in subjects for e in provenance(store, subject, checked))
    shown = ", ".join("0x" + s.hex() for s in subjects)
    if as_json:
        doc = {
            "subject": "0x" + subjects[0].hex(),
            "subjects": ["0x" + s.hex() for s in subjects],
            "timeline": [e.to_json() for e in entries],
        }
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"provenance of {shown}: {len(entries)} entr(y/ies)")
    for e in entries:
        click.echo(f"block {e.block_number}  {e.event:<10} {e.agency} ({e.signer})")
        click.echo(f"    {e.summary}" + (f"  [{e.verdict}]" if e.verdict else ""))


@audit.command("disclosures")
@reader_options(
    deployment_help="The ledger's deployment file.",
    index_help="A SQLite index synced by `taxledger audit` (instead of --rpc).",
    confirmations_help="Accept only disclosures with this many blocks on top.",
)
@click.option(
    "--records",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="Proof bundles (searched recursively): the disclosure.made facts among them count.",
)
@click.option("--invoice", default=None, help="An invoice number.")
@click.option("--taxpayer", default=None, help="A taxpayer's USCC.")
@_subject_key_options
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def disclosures_command(
    rpc: str | None,
    deployment: Path | None,
    index: Path | None,
    confirmations: int,
    records: Path,
    invoice: str | None,
    taxpayer: str | None,
    keyring_file: Path | None,
    encryption_key: Path | None,
    password_file: Path | None,
    password_env: str | None,
    consortium_key_file: Path | None,
    as_json: bool,
) -> None:
    """Every disclosure of facts about one taxpayer or invoice: who asked, who answered,
    when, for what purpose, under which consent, each proven against the chain. A bundle
    that fails verification is listed as FAIL with its check; exit 1 if any did."""
    from ledger_node.audit.disclosures import disclosures_about
    from ledger_node.audit.report import bundle_paths
    from ledger_node.bundle import load_bundle
    from ledger_node.cli.verify import open_verifier, read_consortium_key
    from ledger_node.errors import LedgerValueError
    from ledger_node.records.schemas import DISCLOSURE_MADE
    from ledger_node.verify import VerificationFailure

    if (invoice is None) == (taxpayer is None):
        raise click.UsageError("give exactly one of --invoice or --taxpayer")
    kind, identifier = ("invoice", invoice) if invoice is not None else ("taxpayer", taxpayer)
    assert identifier is not None
    key = read_consortium_key(consortium_key_file)
    subjects = _identifier_tags(
        kind, identifier, keyring_file, encryption_key, password_file, password_env, key
    )
    wanted = {"0x" + subject.hex() for subject in subjects}
    verifier = open_verifier(rpc, deployment, index, confirmations, consortium_key=key)
    names = {}
    if deployment is not None:
        from ledger_node.deployment import Deployment

        names = {a.agency_id: a.name for a in Deployment.load(deployment).agencies}
    verified, failed = [], []
    for path in bundle_paths(records):
        try:
            bundle = load_bundle(path)
        except (LedgerValueError, OSError):
            continue  # not a bundle at all: `taxledger verify` reports those
        if bundle.schema != DISCLOSURE_MADE or bundle.record.get("subject_tag") not in wanted:
            continue
        try:
            verified.append(verifier.verify(bundle))
        except VerificationFailure as exc:
            failed.append((path, exc))
    entries = disclosures_about(verified, subjects, lambda i: names.get(i, f"agency {i}"))
    if as_json:
        doc = {
            "subjects": sorted(wanted),
            "disclosures": [e.to_json() for e in entries],
            "failed": [{"file": str(p), "check": f.check, "message": f.message} for p, f in failed],
        }
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(f"disclosures about {', '.join(sorted(wanted))}: {len(entries)}")
        for entry in entries:
            click.echo(entry.line())
        for path, problem in failed:
            click.echo(f"FAIL: {path}: ({problem.check}) {problem.message}")
    if failed:
        raise SystemExit(1)
