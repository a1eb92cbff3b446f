"""A risk analysis of the facts an auditor holds: verify the bundles against a synced audit
index, keep the verified facts with their provenance, analyse, report.

Only bundles that pass every check of the verifier become facts; a revoked one is kept,
flagged, for the loans that cited it; every other failure is counted and left out.
"""

from __future__ import annotations

import datetime
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger_node.audit.index import AuditIndex
from ledger_node.audit.records import CheckedBundle, check_records
from ledger_node.chain.rpc import Rpc
from ledger_node.errors import ConfigurationError
from ledger_node.risk.config import RiskConfig
from ledger_node.risk.engine import RiskEngine
from ledger_node.risk.facts import FactWriter, Provenance
from ledger_node.risk.report import RiskReport, Source, build_report
from ledger_node.verify import Verifier
from ledger_node.verify.membership import MembershipHistory


@dataclass(frozen=True)
class Collected:
    """What reading the bundles gave: facts written, and the count of each outcome."""

    bundles: int
    verified: int
    revoked: int
    failed: int


def collect_facts(
    index: AuditIndex,
    rpc: Rpc | None,
    paths: list[Path],
    directory: Path,
    *,
    confirmations: int = 0,
    clock: Callable[[], float] = time.time,
) -> Collected:
    """Verify the bundles at ``paths`` against ``index`` and write the verified (and the
    revoked) ones as facts under ``directory``; block times come from the index, fetched
    through ``rpc`` if it lacks them."""
    verifier = Verifier(index, confirmations=confirmations, clock=clock)
    checked = check_records(verifier, index, paths)
    kept = [c for c in checked if c.ok or (c.revoked and c.write is not None)]
    history = index.membership((index.synced_block, 0))
    numbers = {c.write.block_number for c in kept if c.write is not None}
    times = index.block_timestamps(rpc, numbers)
    missing = sorted(numbers - times.keys())
    if missing:
        raise ConfigurationError(
            f"the index has no time for {len(missing)} block(s) (first {missing[0]}); run "
            "with --rpc and --deployment so they can be read from the node"
        )
    with FactWriter(directory) as writer:
        for item in kept:
            assert item.bundle is not None
            writer.add(item.bundle.schema, item.bundle.record, _provenance(item, history, times))
    revoked = sum(1 for c in kept if c.revoked)
    return Collected(len(checked), len(kept) - revoked, revoked, len(checked) - len(kept))


def _provenance(
    item: CheckedBundle, history: MembershipHistory, times: dict[int, int]
) -> Provenance:
    assert item.write is not None and item.bundle is not None
    agency = history.agencies.get(item.write.agency_id)
    return Provenance(
        agency.name if agency is not None else f"agency {item.write.agency_id}",
        agency.kind.label if agency is not None else "unknown",
        "0x" + item.bundle.commitment.hex(),
        "0x" + item.write.tx_hash.hex(),
        item.write.block_number,
        times[item.write.block_number],
        file=str(item.path),
        revoked=item.revoked,
    )


def run_risk(
    index: AuditIndex,
    rpc: Rpc | None,
    paths: list[Path],
    config: RiskConfig,
    as_of: datetime.date,
    *,
    confirmations: int = 0,
    clock: Callable[[], float] = time.time,
) -> RiskReport:
    """Verify, analyse and report the bundles at ``paths``, judged as of ``as_of``."""
    with tempfile.TemporaryDirectory(prefix="taxledger-risk-") as scratch:
        collected = collect_facts(
            index, rpc, paths, Path(scratch), confirmations=confirmations, clock=clock
        )
        engine = RiskEngine(Path(scratch), config, as_of)
        try:
            engine.run()
            return build_report(
                engine,
                Source(
                    index.ledger,
                    index.chain_id,
                    index.synced_block,
                    collected.bundles,
                    collected.verified,
                    collected.revoked,
                    collected.failed,
                ),
                clock=clock,
            )
        finally:
            engine.close()
