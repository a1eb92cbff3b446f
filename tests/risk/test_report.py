"""The taxledger.risk/v1 document: ranked taxpayers whose every point is traced to hits and
every hit to its facts."""

from __future__ import annotations

import orjson
from risk_harness import Analysed

from ledger_node.risk.config import TIERS
from ledger_node.risk.report import Source, build_report

SOURCE = Source(bundles=100, verified=99, revoked=1)


def test_the_document_ranks_by_tier_then_score_and_explains_each_point(
    analysed: Analysed,
) -> None:
    doc = build_report(analysed.engine, SOURCE, clock=lambda: 1_800_000_000).to_json()
    assert doc["format"] == "taxledger.risk/v1"
    assert doc["generated_at"] == "2027-01-15T08:00:00Z"
    assert list(doc) == [
        "format", "generated_at", "as_of", "source", "config", "summary", "indicators",
        "ranking", "hits", "facts",
    ]  # fmt: skip
    hits = {h["id"]: h for h in doc["hits"]}
    facts = {f["id"] for f in doc["facts"]}
    indicators = {i["code"]: i for i in doc["indicators"]}
    order = [(TIERS.index(r["tier"]), r["score"]) for r in doc["ranking"]]
    assert order == sorted(order, key=lambda x: (-x[0], -x[1]))
    assert [r["rank"] for r in doc["ranking"]] == list(range(1, len(doc["ranking"]) + 1))
    for entry in doc["ranking"]:
        assert entry["score"] == sum(p["points"] for p in entry["points"]) > 0
        mine = [hits[i] for i in entry["hits"]]
        for p in entry["points"]:
            counted = [h for h in mine if h["indicator"] == p["indicator"]]
            assert p["hits"] == len(counted)
            rule = indicators[p["indicator"]]
            assert p["points"] == min(p["hits"], rule["max_hits"]) * rule["points"]
        for h in mine:
            assert entry["taxpayer"] in {t["taxpayer"] for t in h["taxpayers"]}
            assert set(h["facts"]) <= facts
    assert doc["summary"]["flagged"] == len(doc["ranking"])
    assert sum(doc["summary"]["tiers"].values()) == doc["summary"]["taxpayers"]
    assert doc["summary"]["hits"] == len(doc["hits"])
    # JSON all the way down.
    assert orjson.loads(orjson.dumps(doc)) == doc


def test_thresholds_are_reported_in_yuan(analysed: Analysed) -> None:
    doc = build_report(analysed.engine, SOURCE).to_json()
    vanish = next(i for i in doc["indicators"] if i["code"] == "seller_vanished")
    assert vanish["thresholds"] == {"window_days": 90, "min_amount": 500000.0, "own_ratio": 2.0}
