"""The audit: sync, check the ledger, check the records, and report in JSON and HTML.

JSON report, format ``taxledger.audit/v1``; this docstring is its reference, and a new
field or meaning means a new format version::

    {
      "format": "taxledger.audit/v1",
      "generated_at": "2026-05-01T08:00:00Z",
      "ledger": {"chain_id", "ledger", "deployment_block", "synced_block", "head_block"},
      "sync": {"first_block", "last_block", "blocks", "events"},
      "summary": {
        "anchors", "attestations", "revocations", "governance_events",
        "bundles", "bundles_verified", "bundles_failed",
        "invoices", "invoices_consistent", "invoices_with_findings",
        "findings", "findings_by_code": {code: n}, "findings_by_severity": {severity: n}
      },
      "agencies": [{"agency_id", "name", "kind", "keys": [{"key", "from_block", "until_block"}],
                    "status": [{"block_number", "active"}]}],
      "verification": [{"file", "ok", "check", "code", "message", "schema", "kind"}],
      "findings": [{"code", "severity", "subject", "message", "facts": [fact]}],
      "invoices": [{"invoice_number", "seller", "buyer", "total", "issued_at", "red_of",
                    "consistent", "findings": [code], "timeline": [entry]}]
    }

    fact  = {"schema", "kind", "agency_id", "agency", "block_number", "tx_hash", "ref",
             "leaf"?, "file"?}
    entry = {"block_number", "timestamp", "event", "schema", "agency", "signer", "summary",
             "verdict", "fact"}

Parties are named by their identifiers: a company's USCC (public) as it is, an individual's
resident ID number masked to its region code and last four characters
(:func:`ledger_node.records.identifiers.party_label`), in both the JSON and the HTML report.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from ledger_node.audit.exchange_checks import ReadRules, check_exchange
from ledger_node.audit.findings import FINDING_CODES, Finding
from ledger_node.audit.flows import InvoiceAudit, check_flows
from ledger_node.audit.index import AuditIndex, SyncResult
from ledger_node.audit.ledger_checks import check_ledger
from ledger_node.audit.records import CheckedBundle, check_records
from ledger_node.bundle import ProofBundleV2
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import Rpc
from ledger_node.fieldtree import disclosed_values
from ledger_node.verify import Verifier
from ledger_node.verify.membership import GOVERNANCE_EVENTS, MembershipHistory

FORMAT = "taxledger.audit/v1"


@dataclass
class AuditReport:
    """Everything one audit found."""

    generated_at: int
    ledger: dict[str, Any]
    sync: SyncResult
    counts: dict[str, int]
    history: MembershipHistory
    checked: list[CheckedBundle]
    findings: list[Finding]
    invoices: list[InvoiceAudit]

    @property
    def summary(self) -> dict[str, Any]:
        failed = sum(1 for c in self.checked if not c.ok)
        consistent = sum(1 for i in self.invoices if i.consistent)
        return {
            **self.counts,
            "bundles": len(self.checked),
            "bundles_verified": len(self.checked) - failed,
            "bundles_failed": failed,
            "invoices": len(self.invoices),
            "invoices_consistent": consistent,
            "invoices_with_findings": len(self.invoices) - consistent,
            "findings": len(self.findings),
            "findings_by_code": dict(sorted(Counter(f.code for f in self.findings).items())),
            "findings_by_severity": dict(
                sorted(Counter(f.severity for f in self.findings).items())
            ),
        }

    def agencies(self) -> list[dict[str, Any]]:
        keys: dict[int, list[dict[str, Any]]] = {}
        for span in self.history.keys.values():
            keys.setdefault(span.agency_id, []).append(
                {
                    "key": span.key,
                    "from_block": span.since[0],
                    "until_block": None if span.until is None else span.until[0],
                }
            )
        return [
            {
                "agency_id": a.agency_id,
                "name": a.name,
                "kind": a.kind.label,
                "keys": sorted(keys.get(a.agency_id, []), key=lambda k: k["from_block"]),
                "status": [{"block_number": p[0], "active": active} for p, active in a.changes],
            }
            for a in sorted(self.history.agencies.values(), key=lambda a: a.agency_id)
        ]

    def to_json(self) -> dict[str, Any]:
        """The report as a ``taxledger.audit/v1`` document (see the module docstring)."""
        return {
            "format": FORMAT,
            "generated_at": _utc(self.generated_at),
            "ledger": self.ledger,
            "sync": {
                "first_block": self.sync.first,
                "last_block": self.sync.last,
                "blocks": self.sync.blocks,
                "events": self.sync.events,
            },
            "summary": self.summary,
            "agencies": self.agencies(),
            "verification": [_verdict(c) for c in self.checked],
            "findings": [f.to_json() for f in self.findings],
            "invoices": [i.to_json() for i in self.invoices],
        }

    def to_html(self) -> str:
        """The report as one self-contained HTML page: no script, font or request outside."""
        environment = jinja2.Environment(
            loader=jinja2.PackageLoader("ledger_node.audit", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        environment.filters["utc"] = _utc
        return environment.get_template("report.html.j2").render(
            report=self.to_json(), codes=FINDING_CODES
        )


def _verdict(checked: CheckedBundle) -> dict[str, Any]:
    bundle, failure = checked.bundle, checked.failure
    return {
        "file": str(checked.path),
        "ok": failure is None,
        "check": None if failure is None else failure.check,
        "code": None if failure is None else failure.code,
        "message": None if failure is None else failure.message,
        "schema": None if bundle is None else bundle.schema,
        "kind": None if bundle is None else bundle.anchor.kind,
    }


def _utc(timestamp: int | None) -> str:
    if timestamp is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def bundle_paths(records: Path) -> list[Path]:
    """Every ``*.json`` file under ``records``, sorted."""
    return sorted(p for p in records.rglob("*.json") if p.is_file())


def _is_partial(checked: CheckedBundle) -> bool:
    return isinstance(checked.bundle, ProofBundleV2) and not checked.bundle.complete


def _partial_finding(checked: CheckedBundle) -> Finding:
    assert isinstance(checked.bundle, ProofBundleV2)
    shown = ", ".join(path for path, _ in disclosed_values(checked.bundle.fields)) or "no field"
    return Finding(
        "record_partial",
        str(checked.path),
        f"{checked.path}: a partial {checked.bundle.schema} bundle showing {shown}; the "
        "cross-agency checks (三流一致, the exchange) need the whole record and were not run "
        "on it",
    )


def run_audit(
    rpc: Rpc,
    index: AuditIndex,
    *,
    records: Path | None = None,
    confirmations: int = 0,
    progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> AuditReport:
    """Sync ``index`` from ``rpc``, check the ledger and the bundles under ``records``."""
    synced = index.sync(rpc, confirmations=confirmations, progress=progress)
    history = index.membership((index.synced_block, 0))
    findings = check_ledger(index)
    checked: list[CheckedBundle] = []
    invoices: list[InvoiceAudit] = []
    if records is not None:
        verifier = Verifier(index, confirmations=confirmations, clock=clock)
        checked = check_records(verifier, index, bundle_paths(records))
        findings += [
            Finding(
                "verification_failed",
                str(c.path),
                f"{c.path}: ({c.failure.check}) {c.failure.message}",
            )
            for c in checked
            if c.failure is not None and not c.revoked
        ]
        # The cross-fact checks read whole records: a partial bundle proves what it shows,
        # and is named as not checked against the others rather than misread.
        partial = [c for c in checked if _is_partial(c)]
        findings += [_partial_finding(c) for c in partial if c.ok or c.revoked]
        whole = [c for c in checked if not _is_partial(c)]
        invoices, loose = check_flows(whole, index, history)
        findings += loose + [f for i in invoices for f in i.findings]
        rules = ReadRules(LedgerClient(rpc.w3, index.ledger, index.chain_id))
        findings += check_exchange(whole, index, history, rules.at)
        stamps = index.block_timestamps(rpc, {e.block_number for i in invoices for e in i.timeline})
        for invoice in invoices:
            invoice.timeline = [
                replace(e, timestamp=stamps.get(e.block_number)) for e in invoice.timeline
            ]
    counts = {
        "anchors": index.count("anchors"),
        "attestations": index.count("attestations"),
        "revocations": index.count("revocations"),
        "governance_events": sum(1 for _ in index.events(GOVERNANCE_EVENTS)),
    }
    ledger = {
        "chain_id": index.chain_id,
        "ledger": index.ledger,
        "deployment_block": index.deployment_block,
        "synced_block": index.synced_block,
        "head_block": index.head(),
    }
    return AuditReport(int(clock()), ledger, synced, counts, history, checked, findings, invoices)
