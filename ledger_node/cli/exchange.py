"""``taxledger exchange``: ask another agency for the facts about a subject, through one's
own gateway, which signs the request, opens the sealed answer and verifies every fact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ledger_node.cli import main
from ledger_node.errors import ConfigurationError, Error


@main.group()
def exchange() -> None:
    """The exchange between agencies."""


def _api_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read API-key file {path}: {exc.strerror}") from None
    if not key:
        raise ConfigurationError(f"API-key file {path} is empty; put the gateway API key in it")
    return key


@exchange.command("query")
@click.option("--gateway", "url", required=True, help="Your agency's gateway URL.")
@click.option(
    "--api-key-file",
    type=click.Path(path_type=Path),
    required=True,
    help="File holding an API key of your gateway with the query role.",
)
@click.option("--provider", required=True, help="The agency asked, by name.")
@click.option("--taxpayer", help="The subject: a taxpayer's USCC.")
@click.option("--invoice", help="The subject: a 20-digit invoice number.")
@click.option("--schema", "schemas", multiple=True, required=True, help="A schema wanted.")
@click.option("--purpose", required=True, help="Why you read (e.g. credit-assessment).")
@click.option("--consent", help="Commitment (0x…) of the taxpayer's consent.granted fact.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the verified proof bundles.",
)
def query(
    url: str,
    api_key_file: Path,
    provider: str,
    taxpayer: str | None,
    invoice: str | None,
    schemas: tuple[str, ...],
    purpose: str,
    consent: str | None,
    out: Path,
) -> None:
    """Ask PROVIDER for the facts about a taxpayer or an invoice; write each verified bundle
    to OUT and print ``OK: SCHEMA COMMITMENT FILE`` per fact, ``FAIL: #I: (N) REASON`` per
    bundle that failed check N, ``WITHHELD: SCHEMA COMMITMENT (CODE) REASON`` per fact the
    provider holds but did not show. Exit 0 only if every bundle verified."""
    if (taxpayer is None) == (invoice is None):
        raise click.UsageError("give the subject as exactly one of --taxpayer or --invoice")
    body: dict[str, object] = {"provider": provider, "schemas": list(schemas), "purpose": purpose}
    body["taxpayer" if taxpayer is not None else "invoice"] = taxpayer or invoice
    if consent is not None:
        body["consent"] = consent.lower()
    headers = {"Authorization": f"Bearer {_api_key(api_key_file)}"}
    failed = False
    # An answer holds a page of facts; each further page is asked for (and disclosed) anew.
    while True:
        answer = _ask(url, body, headers)
        out.mkdir(parents=True, exist_ok=True)
        for fact in answer["facts"]:
            name = f"{fact['schema'].replace('/', '-')}-{fact['commitment'][2:18]}.json"
            path = out / name
            path.write_text(json.dumps(fact["bundle"], indent=2) + "\n", encoding="utf-8")
            click.echo(f"OK: {fact['schema']} {fact['commitment']} {path}")
        for failure in answer["failed"]:
            click.echo(f"FAIL: #{failure['index']}: ({failure['check']}) {failure['message']}")
        for withheld in answer.get("withheld", []):
            click.echo(
                f"WITHHELD: {withheld['schema']} {withheld['commitment']} ({withheld['code']}) "
                f"{withheld['message']}"
            )
        failed = failed or bool(answer["failed"])
        if answer.get("next") is None:
            break
        body["after"] = answer["next"]
    if failed:
        raise SystemExit(1)


def _ask(url: str, body: dict[str, object], headers: dict[str, str]) -> dict[str, Any]:
    """The gateway's answer to one query; a one-line Error if there is none."""
    import httpx

    try:
        response = httpx.post(
            f"{url.rstrip('/')}/v1/exchange/queries", json=body, headers=headers, timeout=60
        )
    except httpx.HTTPError as exc:
        raise Error(
            f"gateway {url} did not answer ({type(exc).__name__}); check --gateway and that the "
            "gateway runs"
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict):
        error = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(error, dict):
            raise Error(f"{error.get('code')}: {error.get('message')}")
        raise Error(f"gateway {url} answered HTTP {response.status_code}; check --gateway")
    return answer
