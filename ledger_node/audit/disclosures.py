"""Who saw what about a subject: the ``disclosure.made`` facts naming its tag, each proven
against the chain.

A disclosure names its subject by the tag the request carried, so the list of one taxpayer's
or invoice's disclosures is the verified disclosure facts whose ``subject_tag`` is one of the
subject's tags (in each tag domain and key version: a request names the tag of the domain it
asked in). The discloser is the agency whose write the verifier proved, not the name the
record claims (a record naming another discloser is marked so).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from ledger_node.bundle import to_hex
from ledger_node.records.schemas import DISCLOSURE_MADE
from ledger_node.verify.verifier import Verified


@dataclass(frozen=True)
class DisclosureEntry:
    """One verified disclosure of facts about the subject."""

    disclosure_id: str
    discloser: str
    recipient: str
    purpose: str
    schemas: tuple[str, ...]
    consent: str | None
    disclosed_at: str
    block_number: int
    tx_hash: str
    #: False if the record names a discloser other than the agency that attested it.
    discloser_matches: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__, schemas=list(self.schemas))

    def line(self) -> str:
        """The entry as one line of text."""
        consent = f"consent {self.consent}" if self.consent else "no consent"
        claimed = "" if self.discloser_matches else "  [record names another discloser]"
        return (
            f"{self.disclosed_at}  block {self.block_number}  {self.discloser} -> "
            f"{self.recipient}  {self.purpose}  {','.join(self.schemas)}  {consent}{claimed}"
        )


def disclosures_about(
    facts: Iterable[Verified], subjects: Collection[bytes], agency_name: Callable[[int], str]
) -> list[DisclosureEntry]:
    """The disclosures about a subject known by its ``subjects`` tags (one per tag domain
    and key version) among verified ``facts``, in chain order."""
    tags = {to_hex(subject) for subject in subjects}
    entries = []
    for fact in facts:
        bundle = fact.bundle
        record = bundle.record
        if bundle.schema != DISCLOSURE_MADE or record["subject_tag"] not in tags:
            continue
        discloser = agency_name(fact.write.agency_id)
        entries.append(
            DisclosureEntry(
                disclosure_id=record["disclosure_id"],
                discloser=discloser,
                recipient=record["recipient"],
                purpose=record["purpose"],
                schemas=tuple(record["schemas"]),
                consent=record.get("consent"),
                disclosed_at=record["disclosed_at"],
                block_number=fact.write.block_number,
                tx_hash=to_hex(fact.write.tx_hash),
                discloser_matches=record["discloser"] == discloser,
            )
        )
    entries.sort(key=lambda e: (e.block_number, e.disclosed_at, e.disclosure_id))
    # One fact seen twice (given twice, or from two sources) is one disclosure.
    unique: dict[tuple[str, str], DisclosureEntry] = {}
    for entry in entries:
        unique.setdefault((entry.discloser, entry.disclosure_id), entry)
    return list(unique.values())
