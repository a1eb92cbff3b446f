"""The demo, start to finish: found a consortium, run its agencies' gateways, submit the
scenario, plant its problems, export every proof bundle, audit, and compare what the audit
found with what was planted."""

from __future__ import annotations

import json
import secrets
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import httpx

from ledger_node.chain.deploy import (
    STANDARD_MEMBERS,
    FoundedConsortium,
    found_consortium,
    fund_from_node,
)
from ledger_node.chain.errors import LedgerUnknownSigner
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import EMBEDDED, Rpc, connect
from ledger_node.demo.agencies import DemoError, GatewayHandle, remote_gateways, write_bundle
from ledger_node.demo.exchange import exchange_story
from ledger_node.demo.risk import RiskCheck, check_risk
from ledger_node.demo.scenario import (
    DemoScenario,
    Planted,
    Submission,
    build_scenario,
    tamper,
)
from ledger_node.deployment import Deployment
from ledger_node.exchange.directory import Directory
from ledger_node.keys import EncryptionKey, LocalKey
from ledger_node.localnode import free_port
from ledger_node.private_files import private_directory
from ledger_node.tagging import Keyring

#: The agencies that run gateways (the auditor only reads).
GATEWAY_AGENCIES = ("tax-bureau", "bank", "market-regulator")
Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """What the audit found against what was planted."""

    planted: list[tuple[str, str, str]]
    missed: list[tuple[str, str, str]]
    unexpected: list[tuple[str, str]]
    summary: dict[str, Any]
    risk: RiskCheck

    @property
    def ok(self) -> bool:
        return not self.missed and not self.unexpected and self.risk.ok


def _issue_keyrings(w3: Any, founded: FoundedConsortium, out: Path) -> dict[str, Keyring]:
    """Each agency's keyring, issued as a consortium does: sealed to the encryption key it
    registered (files under ``out/keys``), then opened with its own key."""
    from ledger_node.keyring import open_keyring, provision_agencies

    password = secrets.token_urlsafe(24)
    files = provision_agencies(
        LedgerClient.from_deployment(w3, founded.deployment),
        Keyring.of(founded.tag_keys),
        founded.encryption_keys,
        private_directory(out / "keys"),
        password,
    )
    return {
        name: open_keyring(keyring, founded.encryption_keys[name])
        for name, (_, keyring) in files.items()
    }


@contextmanager
def local_gateways(
    w3: Any,
    deployment: Deployment,
    keys: dict[str, LocalKey],
    encryption_keys: dict[str, EncryptionKey],
    out: Path,
    keyrings: dict[str, Keyring],
) -> Iterator[dict[str, GatewayHandle]]:
    """The agencies' gateways served by this process on loopback ports, each with its own
    outbox and keyring, all on one chain (the embedded chain lives in this process); they ask
    each other through the exchange over loopback HTTP, found in ``out/directory.json``."""
    from gateway.apikeys import Role, add_key
    from gateway.app import create_app
    from gateway.connection import for_deployment
    from gateway.server import serve_in_thread
    from gateway.settings import GatewaySettings

    ports = {name: free_port() for name in GATEWAY_AGENCIES}
    directory = out / "directory.json"
    Directory.loopback(deployment.chain_id, deployment.ledger, ports).save(directory)
    with ExitStack() as stack:
        handles = {}
        for name in GATEWAY_AGENCIES:
            folder = out / "gateways" / name
            folder.mkdir(parents=True, exist_ok=True)
            api_keys = folder / "api-keys.json"
            api_key = add_key(api_keys, "demo", frozenset(Role))
            settings = GatewaySettings.model_validate(
                {
                    "agency": name,
                    # The chain is handed over already connected with the agency's key, so
                    # no keystore or password is read in this process.
                    "keystore": folder / "unused-keystore.json",
                    "password_env": "TAXLEDGER_DEMO_UNUSED",
                    "database": folder / "outbox.sqlite",
                    "api_keys": api_keys,
                    "directory_file": directory,
                    "batch_size": 500,
                    "batch_interval_ms": 200,
                    "confirmations": 1,
                }
            )
            ledger = LedgerClient.from_deployment(w3, deployment)
            app = create_app(
                settings,
                chain=for_deployment(ledger, deployment, name, keys[name]),
                keyring=keyrings[name],
                encryption_key=encryption_keys[name],
            )
            url = stack.enter_context(serve_in_thread(app, settings, ports[name]))
            client = stack.enter_context(httpx.Client(base_url=url, timeout=120))
            handles[name] = GatewayHandle(name, client, api_key)
        yield handles


#: What a demo writes under its output directory; a new run replaces exactly these.
DEMO_OUTPUTS = (
    "bundles",
    "gateways",
    "audit-index.sqlite",
    "deployment.json",
    "directory.json",
    "keys",
    "report.html",
    "report.json",
    "risk.html",
    "risk.json",
)


def _clear_previous(out: Path) -> None:
    """Remove an earlier demo's files (and nothing else) so a run starts clean."""
    for name in DEMO_OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _submit(items: list[Submission], gateways: dict[str, GatewayHandle], echo: Echo) -> None:
    total = len(items)
    with click.progressbar(length=total, label="submitting records", file=sys.stderr) as bar:
        order: list[Submission] = items
        start = 0
        while start < total:
            agency = order[start].agency
            end = start
            while end < total and order[end].agency == agency:
                end += 1
            gateways[agency].submit(order[start:end], bar.update)
            start = end
    counts = Counter(s.agency for s in items)
    echo("submitted " + ", ".join(f"{n} to the {a}" for a, n in counts.items()))


def _forge(
    w3: Any,
    rpc: Rpc,
    deployment: Deployment,
    scene: DemoScenario,
    bundles: Path,
    template: Path,
    echo: Echo,
) -> None:
    """A key that is not a member's signs a rating; the ledger refuses it, and the forger's
    bundle — pointing at a real transaction, its tags made with keys of its own — is written
    where an auditor would find it."""
    from ledger_node.anchoring import AnchoredBatch, commit_for_bundle
    from ledger_node.eip712 import BatchRequest
    from ledger_node.merkle import MerkleTree
    from ledger_node.records.validation import validate
    from ledger_node.tagkeys import DEFAULT_TAG_DOMAINS, new_domain_key

    stranger = LocalKey.generate()
    fund_from_node(rpc, [stranger.address])
    ledger = LedgerClient.from_deployment(w3, deployment)
    own_keys = Keyring.of({d.name: new_domain_key() for d in DEFAULT_TAG_DOMAINS})
    committed = commit_for_bundle(
        validate(scene.forged.schema, scene.forged.record), consortium_key=None, keyring=own_keys
    )
    tree = MerkleTree([committed.leaf])
    prepared = ledger.prepare_anchor(
        stranger, schema_id=committed.validated.schema.schema_id, root=tree.root, count=1
    )
    try:
        ledger.submit(ledger.sender(stranger), prepared)
    except LedgerUnknownSigner as exc:
        echo(f"a write signed by a non-member key was refused by the ledger: {exc}")
    else:
        raise DemoError("the ledger accepted a write signed by a non-member key")
    assert isinstance(prepared.request, BatchRequest)
    real = json.loads(template.read_bytes())["anchor"]
    forged = AnchoredBatch(
        chain_id=deployment.chain_id,
        ledger=deployment.ledger,
        agency_id=1,
        signer=stranger.address,
        request=prepared.request,
        signature=prepared.signature,
        tx_hash=bytes.fromhex(real["tx_hash"][2:]),
        block_number=int(real["block_number"]),
    )
    bundle = forged.bundle_v2(committed, tree.proof(0))
    write_bundle(bundles, scene.forged.agency, scene.forged.record_id, bundle.to_json().encode())


def _export(scene: DemoScenario, gateways: dict[str, GatewayHandle], bundles: Path) -> None:
    everything = scene.submissions + scene.late
    with click.progressbar(
        length=len(everything), label="exporting proof bundles", file=sys.stderr
    ) as bar:
        for item in everything:
            raw = gateways[item.agency].proof(item.record_id)
            write_bundle(bundles, item.agency, item.record_id, raw)
            bar.update(1)
    agency, record_id = scene.tampered
    path = bundles / agency / f"{record_id}.json"
    doc = json.loads(path.read_bytes())
    # Each edited field's value in the bundle's field tree; its salt and digest left alone.
    members = [m for m in doc["fields"]["members"] if "key" in m]
    edited = tamper({m["key"]: m.get("value") for m in members})
    for member in members:
        if "value" in member:
            member["value"] = edited[member["key"]]
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _compare(
    scene: DemoScenario, exchanged: list[Planted], report: Any, risk: RiskCheck
) -> DemoResult:
    found: list[tuple[str, str]] = []
    for finding in report.findings:
        subject = finding.subject
        if finding.code == "verification_failed":
            subject = Path(subject).stem
        found.append((finding.code, subject))
    planted = [(p.code, p.subject, p.what) for p in [*scene.planted, *exchanged]]
    expected = {(code, subject) for code, subject, _ in planted}
    missed = [p for p in planted if (p[0], p[1]) not in found]
    unexpected = [f for f in found if f not in expected]
    return DemoResult(planted, missed, unexpected, report.summary, risk)


def run_demo(
    out: Path,
    *,
    invoices: int = 1000,
    rpc: str | None = None,
    testnet: Path | None = None,
    echo: Echo = click.echo,
) -> DemoResult:
    """Run the whole demo, writing its files under ``out``."""
    from ledger_node.audit.index import AuditIndex
    from ledger_node.audit.report import run_audit

    # The scenario first: a market too small for it is refused before anything is written.
    scene = build_scenario(invoices)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    bundles = out / "bundles"
    echo(
        f"scenario: {len(scene.submissions)} records ({invoices} invoices with payments, "
        f"registrations, ratings and loan decisions), {len(scene.planted)} planted problems"
    )
    with ExitStack() as stack:
        if testnet is not None:
            doc = json.loads((testnet / "testnet.json").read_text(encoding="utf-8"))
            w3 = connect(doc["rpc"])
            deployment = Deployment.load(doc["deployment"])
            gateways = stack.enter_context(remote_gateways(doc["gateways"]))
            deployment.save(out / "deployment.json")
            echo(f"using the testnet in {testnet}: node {doc['rpc']}, ledger {deployment.ledger}")
        else:
            w3 = connect(rpc or EMBEDDED)
            founded = found_consortium(Rpc(w3), STANDARD_MEMBERS)
            deployment = founded.deployment
            deployment.save(out / "deployment.json")
            keyrings = _issue_keyrings(w3, founded, out)
            echo(
                f"founded the consortium on {'the embedded chain' if rpc is None else rpc}: "
                f"ledger {deployment.ledger}, {len(deployment.agencies)} agencies, "
                f"threshold {deployment.threshold}"
            )
            gateways = stack.enter_context(
                local_gateways(w3, deployment, founded.keys, founded.encryption_keys, out, keyrings)
            )
            echo("gateways running: " + ", ".join(gateways))
        rpc_client = Rpc(w3)

        def tick() -> None:
            # The embedded chain makes a block only for a transaction; one more block lets
            # anchored batches reach their confirmation.
            if rpc_client.embedded:
                rpc_client.request("evm_mine", [])

        # Facts attested late come once every other fact is final, in later blocks.
        submitted: list[Submission] = []
        for batch in (scene.submissions, scene.late):
            _submit(batch, gateways, echo)
            submitted += batch
            for name in GATEWAY_AGENCIES:
                total = sum(1 for s in submitted if s.agency == name)
                gateways[name].wait_final(total, 600, tick)
        echo("every record anchored and final")
        for agency, record_id, reason in scene.revocations:
            gateways[agency].revoke(record_id, reason)
            gateways[agency].wait_status(record_id, "revoked", 120, tick)
            echo(f"{agency} revoked {record_id} ({reason})")
        story = exchange_story(scene, gateways, echo)
        exchanged = [*story.disclosed, *((d.agency, d.record_id) for d in story.decisions)]
        for agency, exchanged_id in exchanged:
            gateways[agency].wait_status(exchanged_id, "final", 120, tick)
        echo(f"{len(story.disclosed)} disclosure records anchored and final")
        _export(scene, gateways, bundles)
        for agency, exchanged_id in exchanged:
            write_bundle(bundles, agency, exchanged_id, gateways[agency].proof(exchanged_id))
        template = bundles / scene.tampered[0] / f"{scene.tampered[1]}.json"
        _forge(w3, rpc_client, deployment, scene, bundles, template, echo)
        written = len(scene.submissions) + len(scene.late) + 1 + len(exchanged)
        echo(f"wrote {written} proof bundles under {bundles}")

    index = AuditIndex.create_or_open(out / "audit-index.sqlite", deployment)
    try:
        with click.progressbar(length=1, label="auditing", file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            report = run_audit(Rpc(w3), index, records=bundles, progress=progress)
        risk = check_risk(scene, index, Rpc(w3), bundles, out)
    finally:
        index.close()
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n", "utf-8")
    (out / "report.html").write_text(report.to_html(), encoding="utf-8")
    return _compare(scene, story.planted, report, risk)
