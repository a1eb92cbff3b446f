"""The demo's risk part: analyse the exported bundles, write the dashboard, and check that
the taxpayers ranked at the top are exactly those the planted patterns must flag."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ledger_node.audit.index import AuditIndex
from ledger_node.audit.report import bundle_paths
from ledger_node.chain.rpc import Rpc
from ledger_node.demo.scenario import DemoScenario
from ledger_node.records.clock import now
from ledger_node.risk.config import load_config
from ledger_node.risk.run import run_risk


@dataclass(frozen=True)
class RiskCheck:
    """The taxpayers the risk report ranks at the top (every one with a hit) against those
    the planted patterns must flag, and the indicators expected but not seen."""

    expected: frozenset[str]
    top: tuple[str, ...]
    missed_indicators: tuple[tuple[str, str], ...]
    summary: dict[str, object]

    @property
    def missed(self) -> frozenset[str]:
        return self.expected - set(self.top)

    @property
    def unexpected(self) -> tuple[str, ...]:
        return tuple(t for t in self.top if t not in self.expected)

    @property
    def ok(self) -> bool:
        return not self.missed and not self.unexpected and not self.missed_indicators


def check_risk(
    scene: DemoScenario, index: AuditIndex, rpc: Rpc, bundles: Path, out: Path
) -> RiskCheck:
    """Run the risk analysis over ``bundles``, write ``risk.json`` and ``risk.html`` under
    ``out``, and compare its ranking with the planted ground truth."""
    report = run_risk(index, rpc, bundle_paths(bundles), load_config(), now().date)
    (out / "risk.json").write_bytes(report.to_json_bytes())
    (out / "risk.html").write_text(report.to_html(), encoding="utf-8")
    expected = frozenset(t for truth in scene.truth for t in truth.flagged)
    hit = {(h["indicator"], p["taxpayer"]) for h in report.hits for p in h["taxpayers"]}
    missed = tuple(
        (truth.pattern, code)
        for truth in scene.truth
        for code in truth.indicators
        if not any((code, t) in hit for t in truth.flagged)
    )
    # The ranking lists every taxpayer with a hit, best ranked first.
    top = tuple(entry["taxpayer"] for entry in report.ranking)
    return RiskCheck(expected, top, missed, report.summary)
