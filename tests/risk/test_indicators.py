"""Each planted pattern trips its indicators on exactly the taxpayers it must flag, and no
indicator fires on honest data."""

from __future__ import annotations

import datetime
from pathlib import Path

import orjson
import pytest
from risk_harness import Analysed, analyse

from ledger_node.demo.scenario import DEMO_PATTERNS
from ledger_node.records import schemas
from ledger_node.records.economy import generate_market
from ledger_node.records.patterns import PATTERNS, plant
from ledger_node.risk.indicators import BY_CODE, INDICATORS
from ledger_node.risk.patterns import RISK_PATTERNS
from ledger_node.risk.report import render_message


def test_every_indicator_has_a_pattern_that_trips_it() -> None:
    tripped = {code for name in DEMO_PATTERNS for code in PATTERNS[name].indicators}
    assert tripped == set(BY_CODE)
    assert set(RISK_PATTERNS) <= set(PATTERNS)


@pytest.mark.parametrize("name", [n for n in DEMO_PATTERNS if PATTERNS[n].indicators])
def test_a_pattern_trips_its_indicators_on_the_taxpayers_it_flags(
    analysed: Analysed, name: str
) -> None:
    (truth,) = [t for t in analysed.truth if t.pattern == name]
    hits = analysed.hits()
    assert truth.flagged
    for code in truth.indicators:
        assert any((code, t) in hits for t in truth.flagged), (name, code)
    for taxpayer in truth.flagged:
        assert any(t == taxpayer for _, t in hits), (name, taxpayer)


def test_only_the_flagged_taxpayers_are_hit(analysed: Analysed) -> None:
    flagged = {t for truth in analysed.truth for t in truth.flagged}
    assert {t for _, t in analysed.hits()} == flagged


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_indicator_fires_on_an_honest_market(tmp_path: Path, seed: int) -> None:
    market = generate_market(seed, invoices=3000)
    engine = analyse(market, tmp_path)
    try:
        assert engine.rows("SELECT indicator, subject FROM hits") == []
        assert engine.rows("SELECT count(*) AS n FROM taxpayer WHERE tier <> 'none'") == [{"n": 0}]
    finally:
        engine.close()


def test_an_unpaid_invoice_is_a_hit_only_once_it_has_aged(tmp_path: Path) -> None:
    market = generate_market(5, invoices=800, companies=120)
    (truth,) = plant(market, ["unpaid_invoice"], 5)
    bill = next(
        r for r in market.records[schemas.INVOICE_ISSUED_V2] if r["invoice_number"] == truth.subject
    )
    issued = datetime.date.fromisoformat(bill["issued_at"][:10])
    young = analyse(market, tmp_path / "young", issued + datetime.timedelta(days=100))
    old = analyse(market, tmp_path / "old", issued + datetime.timedelta(days=181))
    try:
        assert young.rows("SELECT subject FROM hits WHERE indicator = 'flow_unpaid'") == []
        (hit,) = old.rows("SELECT subject, detail FROM hits WHERE indicator = 'flow_unpaid'")
        assert hit["subject"] == truth.subject
        assert orjson.loads(hit["detail"])["days"] == 181
    finally:
        young.close()
        old.close()


def test_every_hit_rests_on_facts_with_their_provenance(analysed: Analysed) -> None:
    rows = analysed.engine.rows(
        "SELECT h.hit, f.fact, p.commitment, p.tx_hash, f.block_number, f.revoked "
        "FROM hits h, unnest(h.facts) AS u(fact) LEFT JOIN facts f ON f.fact = u.fact "
        "LEFT JOIN provenance p ON p.fact = u.fact"
    )
    assert rows
    for row in rows:
        assert row["fact"] is not None, row
        assert row["commitment"].startswith("0x") and len(row["commitment"]) == 66
        assert row["block_number"] >= 1
        # Revoked facts are no evidence, except the rating a loan cited.
    revoked = [r for r in rows if r["revoked"]]
    cited = analysed.engine.rows(
        "SELECT h.facts FROM hits h WHERE indicator = 'loan_rating_revoked'"
    )
    assert {r["fact"] for r in revoked} == {cited[0]["facts"][1]}


def test_the_messages_say_what_was_found(analysed: Analysed) -> None:
    def hit(code: str) -> tuple[str, str]:
        (row,) = analysed.engine.rows(
            "SELECT subject, detail FROM hits WHERE indicator = $code", {"code": code}
        )
        return render_message(code, row["subject"], orjson.loads(row["detail"]))

    english, chinese = hit("loan_rating_mismatch")
    assert " cites 2025 A; the tax bureau attested 2025 C" in english
    assert "所引纳税信用为 2025 A，税务局核定为 2025 C" in chinese
    english, _ = hit("circular_invoicing")
    assert english.startswith("ring ") and "3 companies invoiced each other" in english
    english, _ = hit("red_exceeds_blue")
    assert "red invoices reverse " in english and ", which totals " in english
    english, _ = hit("dated_long_before_anchoring")
    assert english.startswith("payment ICBC-")


def test_a_person_in_a_message_is_masked() -> None:
    detail = {"payment": "ICBC-1", "payer": "110105199001011234", "payer_id_type": "resident_id"}
    english, chinese = render_message("flow_payer_not_buyer", "26311000000000000001", detail)
    assert english == (
        "payment ICBC-1 for invoice 26311000000000000001 came from 110105********1234, not from "
        "the buyer"
    )
    assert "110105********1234" in chinese and "199001" not in chinese


def test_each_indicator_is_documented() -> None:
    for indicator in INDICATORS:
        assert indicator.name_zh and indicator.meaning and indicator.source, indicator.code
        assert "?" not in indicator.source, indicator.code


def test_the_docs_page_lists_every_indicator() -> None:
    page = (Path(__file__).parents[2] / "docs" / "risk.md").read_text(encoding="utf-8")
    for indicator in INDICATORS:
        assert f"| `{indicator.code}` " in page, indicator.code
