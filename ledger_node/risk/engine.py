"""The risk engine: verified facts into DuckDB tables, the indicators' queries over them,
the hits, and the scorecard with its tiers.

DuckDB (embedded, columnar, parallel) reads the facts' JSON lines itself and runs every
join, window and aggregate; Python only passes the thresholds and reads the results. The
tables the indicators query:

- ``facts``: one row per fact (``fact``, ``schema``, ``agency``, ``kind``,
  ``block_number``, ``block_time``, ``revoked``);
- ``invoice`` (one per invoice number, the first attested), ``invoice_line``, ``payment``,
  ``settlement`` (what each payment settles), ``registration``, ``tax_status``,
  ``voucher``, ``declaration``, ``rating`` (one per taxpayer and year) and ``rating_any``,
  ``revoked_rating``, ``decision``, ``consent``; money in cents, dates as DATE;
- derived: ``due`` (each blue invoice with what its red invoices of the same parties leave
  due and what was paid), ``industry`` (each seller's main tax classification category),
  ``cited`` (approved loans and the rating fact each relied on), ``dated`` (every fact's
  own moment beside its block's) and the view ``described`` (how a fact is named, whom it
  concerns); the view ``provenance`` holds each fact's bundle file, commitment and
  transaction;
- results: ``hits``, ``hit_party``, ``points`` and ``taxpayer`` (score, credit level, tier,
  rank).
"""

# ruff: noqa: S608 - the queries are built from this module's and the catalogue's own text;
# thresholds and dates travel as bound parameters, never as text.

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import duckdb

from ledger_node.risk.config import BANDS, LEVELS, TIERS, RiskConfig
from ledger_node.risk.facts import FAMILIES, LAYOUT, PROOFS, struct_type
from ledger_node.risk.indicators import (
    GENERAL_ONLY_RATES,
    INDICATORS,
    SMALL_ONLY_RATES,
    Indicator,
)

_PROVENANCE = (
    "fact BIGINT, schema VARCHAR, agency VARCHAR, kind VARCHAR, commitment VARCHAR, "
    "block_number BIGINT, block_time BIGINT, revoked BOOLEAN"
)
_MACROS = """
CREATE MACRO cents(x) AS CAST(replace(x, '.', '') AS BIGINT);
CREATE MACRO party(t, r) AS struct_pack(taxpayer := t, role := r);
CREATE MACRO china_day(s) AS DATE '1970-01-01' + CAST((s + 28800) // 86400 AS INTEGER);
"""

# Typed tables of verified facts. A fact attested twice (the same invoice number) counts
# once, its first attestation.
_TABLES = """
CREATE TABLE facts AS {facts};
CREATE VIEW provenance AS {provenance};

CREATE TABLE invoice AS
SELECT fact, r.invoice_number AS number, r.invoice_type AS invoice_type,
  CAST(epoch(CAST(r.issued_at AS TIMESTAMPTZ)) AS BIGINT) AS issued_s, r.issued_at AS dated,
  CAST(substr(r.issued_at, 1, 10) AS DATE) AS issued_on,
  r.seller.tax_id AS seller, r.seller.name AS seller_name,
  r.seller.taxpayer_type AS seller_type,
  r.buyer.tax_id AS buyer, r.buyer.name AS buyer_name,
  r.buyer.tax_id IS NOT NULL AND coalesce(r.buyer.id_type, 'uscc') = 'uscc'
    AS buyer_is_company,
  coalesce(r.buyer.tax_id, 'name:' || r.buyer.name) AS buyer_key,
  cents(r.total_amount) AS total_amount, cents(r.total_tax) AS total_tax,
  cents(r.total) AS total,
  CASE WHEN r.red_of IS NULL THEN NULL
       WHEN json_type(r.red_of) = 'VARCHAR' THEN r.red_of->>'$'
       WHEN (r.red_of->>'code') IS NOT NULL
         THEN (r.red_of->>'code') || ':' || (r.red_of->>'number')
       ELSE r.red_of->>'number' END AS red_of,
  coalesce((r.red_of->>'code') IS NOT NULL, false) AS red_of_pre_digital,
  list_bool_or(list_transform(r.lines, lambda l: list_contains($general_only, l.rate)))
    AS general_only_rate,
  list_bool_or(list_transform(r.lines, lambda l: list_contains($small_only, l.rate)))
    AS small_only_rate
FROM (SELECT fact, block_number, record AS r FROM raw_invoices WHERE NOT revoked)
QUALIFY row_number() OVER (PARTITION BY r.invoice_number ORDER BY block_number, fact) = 1;

CREATE TABLE invoice_line AS
SELECT fact, l.rate AS rate, cents(l.amount) AS amount, cents(l.tax) AS tax,
  l.tax_code AS tax_code
FROM (SELECT fact, unnest(record.lines) AS l FROM raw_invoices
      WHERE fact IN (SELECT fact FROM invoice));

CREATE TABLE payment AS
SELECT fact, r.payment_id AS payment_id, r.payer.tax_id AS payer, r.payee.tax_id AS payee,
  coalesce(r.payer.id_type, 'uscc') AS payer_id_type,
  coalesce(r.payee.id_type, 'uscc') AS payee_id_type,
  coalesce(r.payer.id_type, 'uscc') = 'uscc' AS payer_is_company,
  coalesce(r.payee.id_type, 'uscc') = 'uscc' AS payee_is_company,
  cents(coalesce(r.amount_cny, r.amount)) AS amount, CAST(r.value_date AS DATE) AS value_date
FROM (SELECT fact, record AS r FROM raw_payments WHERE NOT revoked);

CREATE TABLE settlement AS
SELECT fact, s.invoice_number AS invoice_number, cents(s.amount) AS amount
FROM (SELECT fact, unnest(record.settles) AS s FROM raw_payments
      WHERE NOT revoked AND record.settles IS NOT NULL)
UNION ALL
SELECT fact, record.invoice_number, cents(record.amount) FROM raw_payments
WHERE NOT revoked AND record.invoice_number IS NOT NULL;

CREATE TABLE registration AS
SELECT fact, r.uscc AS uscc, r.name AS name, r.status AS status,
  coalesce(r.abnormal, false) AS abnormal, r.abnormal_reason AS reason,
  CAST(r.as_of AS DATE) AS as_of
FROM (SELECT fact, record AS r FROM raw_registrations WHERE NOT revoked);

CREATE TABLE tax_status AS
SELECT fact, r.uscc AS uscc, r.status AS status, CAST(r.since AS DATE) AS since
FROM (SELECT fact, record AS r FROM raw_tax_statuses WHERE NOT revoked);

CREATE TABLE voucher AS
SELECT fact, uscc,
  CASE WHEN v.code IS NOT NULL THEN v.code || ':' || v.number ELSE v.number END AS invoice_key
FROM (SELECT fact, record.uscc AS uscc, unnest(record.abnormal_vouchers) AS v
      FROM raw_tax_statuses WHERE NOT revoked AND record.abnormal_vouchers IS NOT NULL);

CREATE TABLE declaration AS
SELECT fact, uscc, period, taxpayer_type, first_day,
  CAST(first_day + CASE WHEN contains(period, 'Q') THEN INTERVAL 3 MONTH
                        ELSE INTERVAL 1 MONTH END - INTERVAL 1 DAY AS DATE) AS last_day,
  sales, output_tax, input_tax, payable, filed_on, dated
FROM (
  SELECT fact, r.uscc AS uscc, r.period AS period, r.taxpayer_type AS taxpayer_type,
    CASE WHEN contains(r.period, 'Q')
      THEN make_date(CAST(left(r.period, 4) AS INTEGER),
                     CAST(right(r.period, 1) AS INTEGER) * 3 - 2, 1)
      ELSE CAST(r.period || '-01' AS DATE) END AS first_day,
    coalesce(list_sum(list_transform(r.sales, lambda x: cents(x.amount))), 0) AS sales,
    cents(r.output_tax) AS output_tax, cents(r.input_tax) AS input_tax,
    cents(r.tax_payable) AS payable, CAST(r.filed_on AS DATE) AS filed_on,
    r.filed_on AS dated
  FROM (SELECT fact, record AS r FROM raw_declarations WHERE NOT revoked));

CREATE TABLE rating_all AS
SELECT r.fact, r.revoked, r.block_number, r.commitment, r.record.uscc AS uscc,
  r.record.year AS year, r.record.level AS level, r.record.score AS score,
  make_date(r.record.year + 1, 4, 1) AS published_on
FROM raw_ratings r;
CREATE TABLE rating_any AS SELECT * FROM rating_all WHERE NOT revoked;
CREATE TABLE rating AS SELECT * FROM rating_any
QUALIFY row_number() OVER (PARTITION BY uscc, year ORDER BY block_number DESC, fact DESC) = 1;
CREATE TABLE revoked_rating AS SELECT * FROM rating_all WHERE revoked
QUALIFY row_number() OVER (PARTITION BY uscc, year ORDER BY block_number DESC, fact DESC) = 1;

CREATE TABLE consent AS
SELECT fact, r.consent_id AS consent_id, r.taxpayer AS taxpayer, r.granted_at AS dated,
  CAST(epoch(CAST(r.granted_at AS TIMESTAMPTZ)) AS BIGINT) AS granted_s,
  CAST(substr(r.granted_at, 1, 10) AS DATE) AS granted_on
FROM (SELECT fact, record AS r FROM raw_consents WHERE NOT revoked);

CREATE TABLE decision AS
SELECT fact, CAST(right(schema, 1) AS INTEGER) AS version, r.uscc AS uscc,
  r.decision AS decision, cents(r.amount) AS amount, CAST(r.decided_on AS DATE) AS decided_on,
  r.basis_rating.year AS cited_year, r.basis_rating.level AS cited_level,
  r.rating AS cited_rating
FROM (SELECT fact, schema, record AS r FROM raw_decisions WHERE NOT revoked);

CREATE TABLE disclosure AS
SELECT fact, record.disclosure_id AS disclosure_id, record.disclosed_at AS dated,
  CAST(epoch(CAST(record.disclosed_at AS TIMESTAMPTZ)) AS BIGINT) AS disclosed_s
FROM raw_disclosures WHERE NOT revoked;
"""

_DERIVED = """
CREATE TABLE due AS
WITH reds AS (
  SELECT r.red_of AS number, sum(r.total) AS red_total, list(r.fact ORDER BY r.fact) AS facts
  FROM invoice r JOIN invoice b ON b.number = r.red_of
  WHERE r.seller = b.seller AND r.buyer_key = b.buyer_key
  GROUP BY r.red_of),
paid AS (
  SELECT invoice_number AS number, sum(amount) AS paid, count(DISTINCT fact) AS paid_n,
    list(DISTINCT fact ORDER BY fact) AS facts
  FROM settlement GROUP BY invoice_number)
SELECT b.fact, b.number, b.issued_on, b.seller, b.buyer, b.buyer_is_company, b.total,
  b.total + coalesce(reds.red_total, 0) AS net, coalesce(paid.paid, 0) AS paid,
  coalesce(paid.paid_n, 0) AS paid_n, coalesce(reds.facts, []) AS red_facts,
  coalesce(paid.facts, []) AS pay_facts
FROM invoice b LEFT JOIN reds ON reds.number = b.number LEFT JOIN paid ON paid.number = b.number
WHERE b.red_of IS NULL;

CREATE TABLE industry AS
SELECT seller AS uscc, arg_max(code, amount) AS industry
FROM (SELECT i.seller, left(l.tax_code, $digits) AS code, sum(abs(l.amount)) AS amount
      FROM invoice i JOIN invoice_line l ON l.fact = i.fact
      WHERE i.red_of IS NULL GROUP BY i.seller, code)
GROUP BY seller;

CREATE TABLE cited AS
SELECT d.fact, d.uscc, d.decided_on, d.amount,
  coalesce(d.cited_year, rv.year, rr.year) AS cited_year,
  coalesce(d.cited_level, rv.level, rr.level) AS cited_level,
  coalesce(v.fact, rv.fact) AS rating_fact,
  CASE WHEN v.fact IS NULL AND rv.fact IS NULL THEN coalesce(x.fact, rr.fact) END
    AS revoked_fact
FROM decision d
LEFT JOIN rating v ON d.version = 1 AND v.uscc = d.uscc AND v.year = d.cited_year
LEFT JOIN revoked_rating x ON d.version = 1 AND x.uscc = d.uscc AND x.year = d.cited_year
LEFT JOIN rating_any rv ON d.version = 2 AND rv.commitment = d.cited_rating
LEFT JOIN rating_all rr ON d.version = 2 AND rr.revoked AND rr.commitment = d.cited_rating
WHERE d.decision = 'approved';

CREATE TABLE dated AS
SELECT x.*, f.agency, f.schema, f.block_number, f.block_time,
  CASE WHEN x.date_only THEN x.fact_day > china_day(f.block_time)
       ELSE x.moment_s > f.block_time + $tolerance_seconds END AS predated
FROM facts f JOIN (
  SELECT fact, issued_s AS moment_s, false AS date_only, issued_on AS fact_day FROM invoice
  UNION ALL SELECT fact, NULL, true, value_date FROM payment
  UNION ALL SELECT fact, NULL, true, as_of FROM registration
  UNION ALL SELECT fact, NULL, true, since FROM tax_status
  UNION ALL SELECT fact, NULL, true, filed_on FROM declaration
  UNION ALL SELECT fact, NULL, true, published_on FROM rating_any
  UNION ALL SELECT fact, granted_s, false, granted_on FROM consent
  UNION ALL SELECT fact, NULL, true, decided_on FROM decision
  UNION ALL SELECT fact, disclosed_s, false, CAST(substr(dated, 1, 10) AS DATE) FROM disclosure
) x ON x.fact = f.fact;

-- How a timing hit names its fact and whom it concerns: a view, built for the facts a query
-- joins it with.
CREATE VIEW described AS
  SELECT fact, 'invoice ' || number AS label, dated, [party(seller, 'seller')] AS parties
  FROM invoice
  UNION ALL
  SELECT fact, 'payment ' || payment_id, CAST(value_date AS VARCHAR),
    list_filter([CASE WHEN payer_is_company THEN party(payer, 'payer') END,
                 CASE WHEN payee_is_company THEN party(payee, 'payee') END],
                lambda p: p IS NOT NULL)
  FROM payment
  UNION ALL
  SELECT fact, 'registration of ' || uscc || ' as of ' || as_of, CAST(as_of AS VARCHAR),
    [party(uscc, 'registrant')]
  FROM registration
  UNION ALL
  SELECT fact, 'tax status of ' || uscc || ' since ' || since, CAST(since AS VARCHAR),
    [party(uscc, 'taxpayer')]
  FROM tax_status
  UNION ALL
  SELECT fact, 'VAT return of ' || uscc || ' for ' || period, dated, [party(uscc, 'declarant')]
  FROM declaration
  UNION ALL
  SELECT fact, year || ' rating of ' || uscc, CAST(published_on AS VARCHAR),
    [party(uscc, 'taxpayer')]
  FROM rating_any
  UNION ALL
  SELECT fact, 'consent ' || consent_id, dated, [party(taxpayer, 'taxpayer')] FROM consent
  UNION ALL
  SELECT fact, 'loan decision on ' || uscc || ' of ' || decided_on,
    CAST(decided_on AS VARCHAR), [party(uscc, 'borrower')]
  FROM decision
  UNION ALL
  SELECT fact, 'disclosure ' || disclosure_id, dated, [] FROM disclosure;

CREATE TABLE names AS
SELECT uscc, arg_max(name, rank) AS name FROM (
  SELECT uscc, name, 3 AS rank FROM registration
  UNION ALL SELECT seller, seller_name, 2 FROM invoice
  UNION ALL SELECT buyer, buyer_name, 1 FROM invoice WHERE buyer_is_company
) GROUP BY uscc;
"""

_RESULTS = """
CREATE TABLE hit_party AS
SELECT DISTINCT hit, p.taxpayer AS taxpayer, p.role AS role
FROM (SELECT hit, unnest(parties) AS p FROM hits) WHERE p.taxpayer IS NOT NULL;

CREATE TABLE points AS
SELECT hp.taxpayer, h.indicator, count(DISTINCT h.hit) AS hits,
  least(count(DISTINCT h.hit), any_value(w.max_hits)) * any_value(w.points) AS points
FROM hit_party hp JOIN hits h ON h.hit = hp.hit JOIN weights w ON w.indicator = h.indicator
GROUP BY hp.taxpayer, h.indicator;

CREATE TABLE credit AS
SELECT uscc, arg_max(level, year) AS level, max(year) AS year, arg_max(fact, year) AS fact
FROM rating WHERE published_on <= $as_of GROUP BY uscc;

CREATE TABLE taxpayer AS
WITH everyone AS (SELECT uscc FROM names UNION SELECT taxpayer FROM hit_party),
scored AS (
  SELECT e.uscc, n.name, coalesce(s.score, 0) AS score, coalesce(c.level, 'unrated') AS level,
    c.year AS credit_year, c.fact AS credit_fact
  FROM everyone e LEFT JOIN names n ON n.uscc = e.uscc
  LEFT JOIN (SELECT taxpayer, sum(points) AS score FROM points GROUP BY taxpayer) s
    ON s.taxpayer = e.uscc
  LEFT JOIN credit c ON c.uscc = e.uscc),
banded AS (
  SELECT *, CASE WHEN score = 0 THEN 'none' WHEN score < $medium THEN 'low'
                 WHEN score < $high THEN 'medium' ELSE 'high' END AS band
  FROM scored)
SELECT b.*, t.tier, t.tier_order,
  row_number() OVER (ORDER BY t.tier_order DESC, b.score DESC, b.uscc) AS rank
FROM banded b JOIN tiers t ON t.level = b.level AND t.band = b.band;
"""


def ring_sql(max_length: int) -> str:
    """The circular-invoicing query for rings of 2..``max_length`` companies: a bounded
    self-join of the graph of trading pairs finds the rings, and for each ring a join of
    its invoices, hop by hop within the window, finds the closest set of similar amounts."""
    parts = []
    for length in range(2, max_length + 1):
        nodes = [f"p{k}.a" for k in range(1, length + 1)]
        pairs = " ".join(f"JOIN pair p{k} ON p{k}.a = p{k - 1}.b" for k in range(2, length + 1))
        distinct = " AND ".join(f"{x} <> {y}" for i, x in enumerate(nodes) for y in nodes[i + 1 :])
        # Each ring is found once: from its smallest company.
        smallest = " AND ".join(f"p1.a < {x}" for x in nodes[1:])
        rings = (
            f"SELECT [{', '.join(nodes)}] AS nodes FROM pair p1 {pairs} "
            f"WHERE p{length}.b = p1.a AND {distinct} AND {smallest}"
        )
        hops = " ".join(
            f"JOIN edge e{k} ON e{k}.a = r.nodes[{k}] AND e{k}.b = r.nodes[{k % length + 1}]"
            + (f" AND e{k}.d BETWEEN e1.d - $window_days AND e1.d + $window_days" if k > 1 else "")
            for k in range(1, length + 1)
        )
        es = [f"e{k}" for k in range(1, length + 1)]
        days = ", ".join(f"{e}.d" for e in es)
        amounts = ", ".join(f"{e}.amt" for e in es)
        parts.append(
            f"""SELECT r.nodes, [{", ".join(f"{e}.fact" for e in es)}] AS facts,
              least({days}) AS first_day, greatest({days}) AS last_day,
              {" + ".join(f"{e}.amt" for e in es)} AS total
            FROM ({rings}) r {hops}
            WHERE date_diff('day', least({days}), greatest({days})) <= $window_days
              AND greatest({amounts}) <= (1 + $amount_tolerance) * least({amounts})"""
        )
    union = "\nUNION ALL\n".join(parts)
    return f"""
    WITH edge AS (
      SELECT fact, seller AS a, buyer AS b, issued_on AS d, total AS amt FROM invoice
      WHERE red_of IS NULL AND buyer_is_company AND buyer <> seller),
    pair AS (SELECT DISTINCT a, b FROM edge),
    found AS ({union}),
    best AS (
      SELECT *, count(*) OVER (PARTITION BY nodes) AS ways FROM found
      QUALIFY row_number() OVER (PARTITION BY nodes
                                 ORDER BY date_diff('day', first_day, last_day), first_day) = 1)
    SELECT array_to_string(nodes || [nodes[1]], ' → ') AS subject, first_day AS on_date,
      total AS amount,
      to_json(struct_pack(length := len(nodes), total_cents := total,
        span := date_diff('day', first_day, last_day), ways := ways)) AS detail,
      facts, list_transform(nodes, lambda n: party(n, 'ring')) AS parties
    FROM best
    """


class RiskEngine:
    """One analysis: the facts under ``facts_dir`` (written by
    :class:`~ledger_node.risk.facts.FactWriter`), judged as of ``as_of`` with ``config``.

    Call :meth:`run` once; then read the tables through :meth:`rows`. ``threads`` and
    ``memory_limit`` bound DuckDB (it spills to a temporary directory beyond the limit).
    """

    def __init__(
        self,
        facts_dir: Path,
        config: RiskConfig,
        as_of: datetime.date,
        *,
        threads: int = 2,
        memory_limit: str = "3GB",
    ) -> None:
        self.facts_dir = facts_dir
        self.config = config
        self.as_of = as_of
        # Tables are read in any order (every report query sorts), which lets DuckDB load
        # them in parallel with less memory.
        self.db = duckdb.connect(
            config={
                "threads": threads,
                "memory_limit": memory_limit,
                "preserve_insertion_order": False,
            }
        )

    def close(self) -> None:
        self.db.close()

    def run(self) -> None:
        """Load the facts, run every indicator, score and tier every taxpayer."""
        self.load()
        self.run_indicators()
        self.score()

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The rows of a query on the engine's tables, as dictionaries."""
        cursor = self.db.execute(sql, params or {})
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- loading -------------------------------------------------------------------------

    def load(self) -> None:
        """Read the facts files into the engine's tables (the first step of :meth:`run`)."""
        db = self.db
        db.execute(_MACROS)
        for family in FAMILIES:
            path = self.facts_dir / f"{family}.jsonl"
            columns = f"{{{_columns(_PROVENANCE)}, 'record': '{struct_type(LAYOUT[family])}'}}"
            if path.stat().st_size:
                source = (
                    f"read_json('{_quoted(path)}', format = 'newline_delimited', "
                    f"columns = {columns})"
                )
            else:
                # An empty family: the same columns, no rows.
                source = (
                    f"(SELECT * FROM (SELECT NULL::BIGINT AS fact, NULL::VARCHAR AS schema, "
                    f"NULL::VARCHAR AS agency, NULL::VARCHAR AS kind, "
                    f"NULL::VARCHAR AS commitment, "
                    f"NULL::BIGINT AS block_number, NULL::BIGINT AS block_time, "
                    f"NULL::BOOLEAN AS revoked, NULL::{struct_type(LAYOUT[family])} AS record) "
                    f"WHERE false)"
                )
            db.execute(f"CREATE TABLE raw_{family} AS SELECT * FROM {source}")
        # What every indicator may join on, in one narrow table; the strings that prove a
        # fact (file, commitment, transaction) stay in the raw tables until a report asks.
        facts = " UNION ALL ".join(
            f"SELECT fact, schema, agency, kind, block_number, block_time, revoked "
            f"FROM raw_{family}"
            for family in FAMILIES
        )
        commitments = " UNION ALL ".join(
            f"SELECT fact, commitment FROM raw_{family}" for family in FAMILIES
        )
        provenance = (
            f"SELECT c.fact, p.file, c.commitment, p.tx_hash FROM ({commitments}) c "
            f"JOIN read_csv('{_quoted(self.facts_dir / PROOFS)}', header = true, "
            f"columns = {{'fact': 'BIGINT', 'file': 'VARCHAR', 'tx_hash': 'VARCHAR'}}) p "
            f"ON p.fact = c.fact"
        )
        rates = {"general_only": GENERAL_ONLY_RATES, "small_only": SMALL_ONLY_RATES}
        for sql in _statements(_TABLES.format(facts=facts, provenance=provenance)):
            db.execute(sql, _used(sql, rates))
        tolerance = self.config.indicators["dated_after_anchoring"].values["tolerance_seconds"]
        params = {"digits": self.config.industry_digits, "tolerance_seconds": tolerance}
        for sql in _statements(_DERIVED):
            db.execute(sql, _used(sql, params))

    # -- indicators ------------------------------------------------------------------------

    def run_indicators(self) -> None:
        """Run every indicator's query into ``hits`` (the second step of :meth:`run`)."""
        db = self.db
        db.execute(
            "CREATE TABLE hits (hit BIGINT, indicator VARCHAR, subject VARCHAR, on_date DATE, "
            "amount BIGINT, detail VARCHAR, facts BIGINT[], "
            "parties STRUCT(taxpayer VARCHAR, role VARCHAR)[])"
        )
        for indicator in INDICATORS:
            sql = self.indicator_sql(indicator)
            params = {
                **self.config.indicators[indicator.code].values,
                "as_of": self.as_of,
                "max_facts": self.config.max_facts_per_hit,
            }
            db.execute(
                f"INSERT INTO hits SELECT NULL, '{indicator.code}', subject, on_date, amount, "
                f"CAST(detail AS VARCHAR), facts, parties FROM ({sql})",
                _used(sql, params),
            )
        db.execute(
            "CREATE TABLE numbered AS SELECT * REPLACE (row_number() OVER "
            "(ORDER BY indicator, subject, on_date, amount, detail) AS hit) FROM hits; "
            "DROP TABLE hits; ALTER TABLE numbered RENAME TO hits"
        )

    def indicator_sql(self, indicator: Indicator) -> str:
        """The query of ``indicator`` as the configuration shapes it."""
        if indicator.code == "circular_invoicing":
            length = self.config.indicators[indicator.code].values["max_length"]
            return ring_sql(int(length))
        return indicator.sql

    # -- scorecard -------------------------------------------------------------------------

    def score(self) -> None:
        """Score, band and tier every taxpayer (the last step of :meth:`run`)."""
        db = self.db
        db.execute("CREATE TABLE weights (indicator VARCHAR, points INTEGER, max_hits INTEGER)")
        db.executemany(
            "INSERT INTO weights VALUES (?, ?, ?)",
            [(code, s.points, s.max_hits) for code, s in self.config.indicators.items()],
        )
        db.execute("CREATE TABLE tiers (level VARCHAR, band VARCHAR, tier VARCHAR, tier_order INT)")
        db.executemany(
            "INSERT INTO tiers VALUES (?, ?, ?, ?)",
            [
                (
                    level,
                    band,
                    self.config.tier(level, band),
                    TIERS.index(self.config.tier(level, band)),
                )
                for level in LEVELS
                for band in BANDS
            ],
        )
        params = {"as_of": self.as_of, "medium": self.config.medium, "high": self.config.high}
        for sql in _statements(_RESULTS):
            db.execute(sql, _used(sql, params))


def _columns(spec: str) -> str:
    """DuckDB ``columns`` entries from ``name TYPE, ...``."""
    pairs = (item.strip().split(" ", 1) for item in spec.split(","))
    return ", ".join(f"'{name}': '{kind}'" for name, kind in pairs)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` names: DuckDB refuses unused named parameters."""
    named = set(re.findall(r"\$([a-z_]+)", sql))
    return {name: value for name, value in params.items() if name in named}


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]
