"""The risk report: every hit with its facts, every taxpayer's score and tier, in JSON and as a
dashboard.

JSON report, format ``taxledger.risk/v1``; this docstring is its reference (docs/risk.md
explains it with an example), and a new field or meaning means a new format version::

    {
      "format": "taxledger.risk/v1",
      "generated_at": "2026-12-01T08:00:00Z",
      "as_of": "2026-12-01",                 # the day the analysis speaks for (ageing)
      "source": {"ledger", "chain_id", "synced_block", "bundles", "verified", "revoked",
                 "failed", "facts"},       # what was read; only verified facts count
      "config": {"file", "sha256"},          # the thresholds and weights used
      "summary": {"taxpayers", "flagged", "hits", "tiers": {tier: n},
                  "hits_by_indicator": {code: n}},
      "indicators": [{"code", "name", "name_zh", "group", "points", "max_hits",
                      "thresholds": {name: value}, "hits", "taxpayers"}],
      "ranking": [{"rank", "taxpayer", "name", "score", "band", "tier", "credit_level",
                   "credit_year", "credit_fact", "points": [{"indicator", "hits", "points"}],
                   "hits": [hit id]}],
      "hits": [{"id", "indicator", "subject", "date", "amount", "message", "message_zh",
                "detail", "taxpayers": [{"taxpayer", "role"}], "agencies", "facts": [fact id]}],
      "facts": [{"id", "schema", "agency", "kind", "file", "commitment", "tx_hash",
                 "block_number", "block_time"}]
    }

``ranking`` lists every taxpayer with a hit, best ranked first (tier, then score); a
taxpayer's score is the sum of its ``points``, each ``hits`` (up to the indicator's
``max_hits``) times the indicator's points. Amounts are yuan strings (``"1234.50"``), times
UTC. Every hit names the facts it rests on and every fact its bundle file (when it came from
one), commitment, transaction and block: each point can be proven on the ledger. Taxpayers
are companies, named by their USCC; a person named in a message is masked to the region code
and last four characters (:func:`ledger_node.records.identifiers.party_label`).
"""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

import orjson

from ledger_node.records.amounts import format_money
from ledger_node.records.identifiers import party_label
from ledger_node.risk.config import TIERS
from ledger_node.risk.dashboard import render, yuan
from ledger_node.risk.engine import RiskEngine
from ledger_node.risk.indicators import BY_CODE, INDICATORS

FORMAT: Final = "taxledger.risk/v1"


@dataclass(frozen=True)
class Source:
    """What an analysis read: the ledger (if any) and how the bundles fared."""

    ledger: str | None = None
    chain_id: int | None = None
    synced_block: int | None = None
    bundles: int = 0
    verified: int = 0
    revoked: int = 0
    failed: int = 0


@dataclass
class RiskReport:
    """Everything one risk analysis found, as plain data (see the module docstring)."""

    generated_at: int
    as_of: datetime.date
    source: dict[str, Any]
    config: dict[str, str]
    summary: dict[str, Any]
    indicators: list[dict[str, Any]]
    ranking: list[dict[str, Any]]
    hits: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    #: For the dashboard: hits by agency and month, and each flagged taxpayer's trading.
    by_agency_month: list[dict[str, Any]]
    flows: dict[str, list[dict[str, Any]]]
    max_pages: int

    def to_json(self) -> dict[str, Any]:
        """The report as a ``taxledger.risk/v1`` document."""
        return {
            "format": FORMAT,
            "generated_at": _utc(self.generated_at),
            "as_of": self.as_of.isoformat(),
            "source": self.source,
            "config": self.config,
            "summary": self.summary,
            "indicators": self.indicators,
            "ranking": self.ranking,
            "hits": self.hits,
            "facts": self.facts,
        }

    def to_json_bytes(self) -> bytes:
        return orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2) + b"\n"

    def to_html(self) -> str:
        """The dashboard: one self-contained page (see :mod:`.dashboard`)."""
        return render(self)


def build_report(
    engine: RiskEngine, source: Source, *, clock: Callable[[], float] = time.time
) -> RiskReport:
    """Read a finished analysis out of ``engine``."""
    config = engine.config
    hits = _hits(engine)
    by_indicator: dict[str, int] = defaultdict(int)
    for hit in hits:
        by_indicator[hit["indicator"]] += 1
    flagged = engine.rows(
        "SELECT t.*, list(p.indicator ORDER BY p.points DESC, p.indicator) AS codes, "
        "list(p.hits ORDER BY p.points DESC, p.indicator) AS counts, "
        "list(p.points ORDER BY p.points DESC, p.indicator) AS pts "
        "FROM taxpayer t JOIN points p ON p.taxpayer = t.uscc "
        "GROUP BY ALL ORDER BY t.rank"
    )
    hit_ids: dict[str, list[int]] = defaultdict(list)
    for hit in hits:
        for party in hit["taxpayers"]:
            hit_ids[party["taxpayer"]].append(hit["id"])
    ranking = [
        {
            "rank": position,
            "taxpayer": row["uscc"],
            "name": row["name"],
            "score": row["score"],
            "band": row["band"],
            "tier": row["tier"],
            "credit_level": row["level"],
            "credit_year": row["credit_year"],
            "credit_fact": row["credit_fact"],
            "points": [
                {"indicator": code, "hits": n, "points": p}
                for code, n, p in zip(row["codes"], row["counts"], row["pts"], strict=True)
            ],
            "hits": hit_ids[row["uscc"]],
        }
        for position, row in enumerate(flagged, start=1)
    ]
    tiers = {tier: 0 for tier in TIERS}
    for row in engine.rows("SELECT tier, count(*) AS n FROM taxpayer GROUP BY tier"):
        tiers[row["tier"]] = row["n"]
    taxpayers = sum(tiers.values())
    cited = sorted({f for hit in hits for f in hit["facts"]} | _credit_facts(ranking))
    facts = _facts(engine, cited)
    indicators = [
        {
            "code": i.code,
            "name": i.name,
            "name_zh": i.name_zh,
            "group": i.group,
            "points": config.indicators[i.code].points,
            "max_hits": config.indicators[i.code].max_hits,
            "thresholds": {
                p.name: config.indicators[i.code].values[p.name] / 100
                if p.unit == "yuan"
                else config.indicators[i.code].values[p.name]
                for p in i.params
            },
            "hits": by_indicator.get(i.code, 0),
            "taxpayers": len(
                {p["taxpayer"] for h in hits if h["indicator"] == i.code for p in h["taxpayers"]}
            ),
        }
        for i in INDICATORS
    ]
    summary = {
        "taxpayers": taxpayers,
        "flagged": len(ranking),
        "hits": len(hits),
        "tiers": tiers,
        "hits_by_indicator": {k: by_indicator[k] for k in BY_CODE if k in by_indicator},
    }
    shown = [r["taxpayer"] for r in ranking[: config.max_pages]]
    return RiskReport(
        int(clock()),
        engine.as_of,
        {**asdict(source), "facts": engine.rows("SELECT count(*) AS n FROM facts")[0]["n"]},
        {"file": config.source, "sha256": config.digest},
        summary,
        indicators,
        ranking,
        hits,
        facts,
        engine.rows(
            "SELECT f.kind AS agency, strftime(h.on_date, '%Y-%m') AS month, "
            "count(DISTINCT h.hit) AS hits "
            "FROM (SELECT hit, on_date, unnest(facts) AS fact FROM hits "
            "      WHERE on_date IS NOT NULL) h JOIN facts f ON f.fact = h.fact "
            "GROUP BY ALL ORDER BY month, agency"
        ),
        _flows(engine, shown, config.max_counterparties),
        config.max_pages,
    )


def _hits(engine: RiskEngine) -> list[dict[str, Any]]:
    rows = engine.rows(
        "SELECT h.hit, h.indicator, h.subject, h.on_date, h.amount, h.detail, h.facts, "
        "h.parties, list(DISTINCT f.agency ORDER BY f.agency) AS agencies "
        "FROM hits h, unnest(h.facts) AS u(fact) JOIN facts f ON f.fact = u.fact "
        "GROUP BY ALL ORDER BY h.hit"
    )
    found = []
    for row in rows:
        detail = orjson.loads(row["detail"])
        message, message_zh = render_message(row["indicator"], row["subject"], detail)
        found.append(
            {
                "id": row["hit"],
                "indicator": row["indicator"],
                "subject": row["subject"],
                "date": row["on_date"].isoformat() if row["on_date"] else None,
                "amount": format_money(row["amount"] or 0),
                "message": message,
                "message_zh": message_zh,
                "detail": detail,
                "taxpayers": [
                    {"taxpayer": p["taxpayer"], "role": p["role"]} for p in row["parties"]
                ],
                "agencies": row["agencies"],
                "facts": row["facts"],
            }
        )
    return found


def _credit_facts(ranking: list[dict[str, Any]]) -> set[int]:
    return {r["credit_fact"] for r in ranking if r["credit_fact"] is not None}


def _facts(engine: RiskEngine, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = engine.rows(
        "SELECT f.fact, f.schema, f.agency, f.kind, p.file, p.commitment, p.tx_hash, "
        "f.block_number, f.block_time FROM facts f JOIN provenance p ON p.fact = f.fact "
        "WHERE f.fact IN (SELECT unnest($ids)) ORDER BY f.fact",
        {"ids": ids},
    )
    return [
        {
            "id": r["fact"],
            "schema": r["schema"],
            "agency": r["agency"],
            "kind": r["kind"],
            "file": r["file"],
            "commitment": r["commitment"],
            "tx_hash": r["tx_hash"],
            "block_number": r["block_number"],
            "block_time": _utc(r["block_time"]),
        }
        for r in rows
    ]


def _flows(engine: RiskEngine, taxpayers: list[str], limit: int) -> dict[str, list[dict[str, Any]]]:
    """Each taxpayer's invoice flows: its largest counterparties (by blue invoices either
    way) and every counterparty it shares a hit with; consumers as one crowd."""
    if not taxpayers:
        return {}
    rows = engine.rows(
        """
        WITH mine AS (SELECT unnest($who) AS uscc),
        flows AS (
          SELECT m.uscc, 'in' AS direction, i.seller AS other, i.seller_name AS name,
                 count(*) AS invoices, sum(i.total) AS total
          FROM mine m JOIN invoice i ON i.buyer = m.uscc AND i.red_of IS NULL
          GROUP BY ALL
          UNION ALL
          SELECT m.uscc, 'out', CASE WHEN i.buyer_is_company THEN i.buyer END,
                 CASE WHEN i.buyer_is_company THEN i.buyer_name END, count(*), sum(i.total)
          FROM mine m JOIN invoice i ON i.seller = m.uscc AND i.red_of IS NULL
          GROUP BY ALL),
        shared AS (
          SELECT DISTINCT a.taxpayer AS uscc, b.taxpayer AS other
          FROM hit_party a JOIN hit_party b ON a.hit = b.hit AND a.taxpayer <> b.taxpayer),
        ranked AS (
          SELECT f.*, s.other IS NOT NULL AS shares_hit, coalesce(t.score, 0) AS other_score,
            coalesce(t.tier, 'none') AS other_tier,
            row_number() OVER (PARTITION BY f.uscc ORDER BY f.total DESC) AS place
          FROM flows f LEFT JOIN shared s ON s.uscc = f.uscc AND s.other = f.other
          LEFT JOIN taxpayer t ON t.uscc = f.other)
        SELECT * FROM ranked WHERE place <= $limit OR shares_hit ORDER BY uscc, place
        """,
        {"who": taxpayers, "limit": limit},
    )
    flows: dict[str, list[dict[str, Any]]] = {uscc: [] for uscc in taxpayers}
    for r in rows:
        flows[r["uscc"]].append(
            {
                "direction": r["direction"],
                "other": r["other"],
                "name": r["name"],
                "invoices": r["invoices"],
                "total": format_money(r["total"]),
                "total_cents": r["total"],
                "shares_hit": bool(r["shares_hit"]),
                "other_score": r["other_score"],
                "other_tier": r["other_tier"],
            }
        )
    return flows


def render_message(code: str, subject: str, detail: dict[str, Any]) -> tuple[str, str]:
    """A hit's message in English and Chinese, from its indicator's templates."""
    values: dict[str, Any] = {"subject": subject}
    for key, value in detail.items():
        if key.endswith("_id_type"):
            continue
        if key.endswith("_cents"):
            values[key.removesuffix("_cents")] = yuan(int(value))
        elif key.endswith("_share"):
            values[key] = "—" if value is None else f"{float(value):.1%}"
        elif f"{key}_id_type" in detail and value is not None:
            values[key] = party_label({"tax_id": value, "id_type": detail[f"{key}_id_type"]})
        else:
            values[key] = value
    indicator = BY_CODE[code]
    return indicator.message.format(**values), indicator.message_zh.format(**values)


def _utc(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
