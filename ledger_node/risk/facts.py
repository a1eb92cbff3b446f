"""The facts a risk analysis reads: verified records with where each came from.

A fact is a record that passed the verifier, with its provenance: the attesting agency, the
bundle file, the commitment, the anchoring transaction, block and block time. The analysis
never sees anything else, so every hit it makes points to facts an auditor can prove.
:class:`FactWriter` writes them as JSON lines, one file per family of schemas (invoices,
payments, ...), which the engine (:mod:`.engine`) reads in bulk. A revoked record is written
too, flagged, for the one question that needs it (did a loan cite a revoked rating?); no
indicator counts it as evidence.

:func:`write_market_facts` writes the facts of a generated market as if each agency had
attested every record when it happened (one block per moment), except the records a planted
pattern marks as attested late or early: the measurement scripts, the scale benchmark and
the tests score a market this way without a chain.
"""

from __future__ import annotations

import csv
import datetime
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import orjson

from ledger_node.records import schemas
from ledger_node.records.clock import CHINA_TIME, rating_published_on
from ledger_node.records.economy import Market

Record = dict[str, Any]

#: Each schema's family: the facts the engine reads from one file, with one layout.
FAMILY: Final[dict[str, str]] = {
    schemas.INVOICE_ISSUED: "invoices",
    schemas.INVOICE_ISSUED_V2: "invoices",
    schemas.PAYMENT_SETTLED: "payments",
    schemas.PAYMENT_SETTLED_V2: "payments",
    schemas.REGISTRATION_STATUS: "registrations",
    schemas.TAX_STATUS: "tax_statuses",
    schemas.TAX_DECLARATION: "declarations",
    schemas.TAX_RATING: "ratings",
    schemas.CONSENT_GRANTED: "consents",
    schemas.BANK_DECISION: "decisions",
    schemas.BANK_DECISION_V2: "decisions",
    schemas.DISCLOSURE_MADE: "disclosures",
}
FAMILIES: Final = tuple(dict.fromkeys(FAMILY.values()))

#: The fields of a record the engine reads, with their DuckDB types: a name maps to a type,
#: to the layout of an object, or to a one-item list holding the layout of a list's items.
#: Facts are written with these fields only (a record's other fields — line names, prices,
#: drawers — are proven by its bundle but judged by no indicator).
Layout = dict[str, Any]
_PARTY: Final[Layout] = {
    "name": "VARCHAR",
    "tax_id": "VARCHAR",
    "id_type": "VARCHAR",
    "taxpayer_type": "VARCHAR",
}
LAYOUT: Final[dict[str, Layout]] = {
    "invoices": {
        "invoice_number": "VARCHAR",
        "issued_at": "VARCHAR",
        "invoice_type": "VARCHAR",
        "seller": _PARTY,
        "buyer": _PARTY,
        "lines": [
            {"tax_code": "VARCHAR", "amount": "VARCHAR", "rate": "VARCHAR", "tax": "VARCHAR"}
        ],
        "total_amount": "VARCHAR",
        "total_tax": "VARCHAR",
        "total": "VARCHAR",
        # A v1 red invoice names its blue one by a string, a v2 one by an object.
        "red_of": "JSON",
    },
    "payments": {
        "payment_id": "VARCHAR",
        "invoice_number": "VARCHAR",
        "payer": _PARTY,
        "payee": _PARTY,
        "amount": "VARCHAR",
        "amount_cny": "VARCHAR",
        "value_date": "VARCHAR",
        "settles": [{"invoice_number": "VARCHAR", "amount": "VARCHAR"}],
    },
    "registrations": {
        "uscc": "VARCHAR",
        "name": "VARCHAR",
        "status": "VARCHAR",
        "abnormal": "BOOLEAN",
        "abnormal_reason": "VARCHAR",
        "as_of": "VARCHAR",
    },
    "tax_statuses": {
        "uscc": "VARCHAR",
        "status": "VARCHAR",
        "since": "VARCHAR",
        "abnormal_vouchers": [{"code": "VARCHAR", "number": "VARCHAR"}],
    },
    "declarations": {
        "uscc": "VARCHAR",
        "period": "VARCHAR",
        "taxpayer_type": "VARCHAR",
        "sales": [{"rate": "VARCHAR", "amount": "VARCHAR", "tax": "VARCHAR"}],
        "output_tax": "VARCHAR",
        "input_tax": "VARCHAR",
        "tax_payable": "VARCHAR",
        "filed_on": "VARCHAR",
    },
    "ratings": {"uscc": "VARCHAR", "year": "INTEGER", "level": "VARCHAR", "score": "INTEGER"},
    "consents": {
        "consent_id": "VARCHAR",
        "taxpayer": "VARCHAR",
        "grantee": "VARCHAR",
        "purpose": "VARCHAR",
        "granted_at": "VARCHAR",
    },
    "decisions": {
        "uscc": "VARCHAR",
        "decision": "VARCHAR",
        "amount": "VARCHAR",
        "decided_on": "VARCHAR",
        "basis_rating": {"year": "INTEGER", "level": "VARCHAR"},
        "rating": "VARCHAR",
        "consent": "VARCHAR",
    },
    "disclosures": {"disclosure_id": "VARCHAR", "disclosed_at": "VARCHAR"},
}


def struct_type(layout: Layout) -> str:
    """The DuckDB type of records of ``layout``."""
    fields = []
    for name, kind in layout.items():
        if isinstance(kind, dict):
            fields.append(f"{name} {struct_type(kind)}")
        elif isinstance(kind, list):
            fields.append(f"{name} {struct_type(kind[0])}[]")
        else:
            fields.append(f"{name} {kind}")
    return f"STRUCT({', '.join(fields)})"


def project(layout: Layout, record: Record) -> Record:
    """The fields of ``record`` that ``layout`` names."""
    kept: Record = {}
    for name, kind in layout.items():
        if name not in record:
            continue
        value = record[name]
        if isinstance(kind, dict) and isinstance(value, dict):
            value = project(kind, value)
        elif isinstance(kind, list) and isinstance(value, list):
            value = [project(kind[0], item) for item in value]
        kept[name] = value
    return kept


#: The field holding the moment a fact speaks of, and what it holds: a date-time with its
#: offset, a day (China time), or a rating's year (the rating exists from its publication).
FACT_DATE: Final[dict[str, tuple[str, str]]] = {
    "invoices": ("issued_at", "datetime"),
    "payments": ("value_date", "date"),
    "registrations": ("as_of", "date"),
    "tax_statuses": ("since", "date"),
    "declarations": ("filed_on", "date"),
    "ratings": ("year", "rating_year"),
    "consents": ("granted_at", "datetime"),
    "decisions": ("decided_on", "date"),
    "disclosures": ("disclosed_at", "datetime"),
}


def fact_moment(schema: str, record: Record) -> datetime.datetime:
    """The moment ``record`` speaks of (an issue time, a value date, a rating's
    publication), timezone-aware; a day is its first second, China time."""
    name, kind = FACT_DATE[FAMILY[schema]]
    value = record[name]
    if kind == "datetime":
        return datetime.datetime.fromisoformat(str(value))
    day = rating_published_on(int(value)) if kind == "rating_year" else _day(str(value))
    return datetime.datetime.combine(day, datetime.time(), CHINA_TIME)


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a fact came from: the agency that attested it (its name and kind), its bundle
    file (if any), its commitment, and the transaction, block and block time (Unix seconds)
    that anchor it."""

    agency: str
    kind: str
    commitment: str
    tx_hash: str
    block_number: int
    block_time: int
    file: str | None = None
    revoked: bool = False


#: The file beside the facts holding what proves each one but no indicator reads: its bundle
#: file and anchoring transaction (read only for the facts a report cites).
PROOFS: Final = "proofs.csv"


class FactWriter:
    """Writes facts as JSON lines under a directory, one file per family, and their bundle
    files and transactions to :data:`PROOFS`; a context manager that closes the files."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.count = 0
        self._files: dict[str, IO[bytes]] = {
            family: (directory / f"{family}.jsonl").open("wb") for family in FAMILIES
        }
        self._proofs = (directory / PROOFS).open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._proofs)
        self._csv.writerow(("fact", "file", "tx_hash"))

    def add(self, schema: str, record: Record, provenance: Provenance) -> int:
        """Write one fact; its id (the order of writing, from 1)."""
        self.count += 1
        line = {
            "fact": self.count,
            "schema": schema,
            "agency": provenance.agency,
            "kind": provenance.kind,
            "commitment": provenance.commitment,
            "block_number": provenance.block_number,
            "block_time": provenance.block_time,
            "revoked": provenance.revoked,
            "record": project(LAYOUT[FAMILY[schema]], record),
        }
        self._files[FAMILY[schema]].write(orjson.dumps(line) + b"\n")
        self._csv.writerow((self.count, provenance.file or "", provenance.tx_hash))
        return self.count

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._proofs.close()

    def __enter__(self) -> FactWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


#: Seconds between a fact's moment and the block that anchors it, when attested live.
LIVE_LAG_SECONDS: Final = 60
#: Block interval of a simulated ledger (QBFT's 2 s).
BLOCK_SECONDS: Final = 2


def attesting_agency(schema: str) -> str:
    """The kind of agency that attests ``schema`` (its label), standing for the agency."""
    return min(k.label for k in schemas.SCHEMAS[schema].attesters)


def write_market_facts(market: Market, directory: Path) -> int:
    """Write every record of ``market`` as a fact attested when it happened; the number
    written.

    Facts dated before the market's start were loaded when the ledger went live, all in its
    first block. A record the market lists as attested late is anchored a day after the last
    fact of its schema; one attested early, an hour before its own moment; one the market
    revokes is written as revoked. Commitments and
    transaction hashes are made up (``0x`` and the fact's number): no chain is involved.
    """
    launch = int(datetime.datetime.combine(market.start, datetime.time(), CHINA_TIME).timestamp())
    timing = {id(record): when for _, record, when in market.timing}
    revoked = {id(record) for _, record, _ in market.revocations}
    rows: list[tuple[int, str, Record]] = []
    for schema, records in market.records.items():
        moments = [(int(fact_moment(schema, r).timestamp()), r) for r in records]
        last = max((m for m, r in moments if id(r) not in timing), default=launch)
        for moment, record in moments:
            when = timing.get(id(record))
            if when == "late":
                anchored = last + 86_400
            elif when == "early":
                anchored = moment - 3_600
            else:
                anchored = max(moment, launch) + LIVE_LAG_SECONDS
            rows.append((anchored, schema, record))
    rows.sort(key=lambda row: row[0])
    with FactWriter(directory) as writer:
        for anchored, schema, record in rows:
            number = (anchored - launch) // BLOCK_SECONDS + 1 if anchored > launch else 1
            ref = f"0x{writer.count + 1:064x}"
            agency = attesting_agency(schema)
            writer.add(
                schema,
                record,
                Provenance(
                    agency,
                    agency,
                    ref,
                    ref,
                    number,
                    anchored,
                    revoked=id(record) in revoked,
                ),
            )
        return writer.count
