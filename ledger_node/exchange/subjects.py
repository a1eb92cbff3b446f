"""The subject tag an exchange request names: one call site for both sides of the exchange.

Tags are keyed per domain (:mod:`ledger_node.tagging`): a request names its subject by the tag
in the domain that the schemas asked for tag that kind of subject in, under the newest key
version the requester holds — the tag the provider's facts carry. A requester without that
domain's key cannot name the subject (a bank cannot ask about an invoice), and schemas of
different domains are asked for in separate requests.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger_node.errors import LedgerValueError
from ledger_node.records.schemas import DISCLOSURE_MADE
from ledger_node.tagging import SCHEMA_TAG_DOMAINS, Keyring, identifier_tags, subject_tag


def request_domain(kind: str, schemas: Sequence[str]) -> str:
    """The one tag domain ``schemas`` tag a ``kind`` subject in; LedgerValueError if they
    tag it in none or in several (a disclosure record is found by the tag it names, in
    whatever domain that was: see :func:`subject_tags_of`)."""
    domains = {SCHEMA_TAG_DOMAINS[s].get(kind) for s in schemas if s != DISCLOSURE_MADE}
    if not domains:
        raise LedgerValueError(
            f"{DISCLOSURE_MADE} records are listed by who saw a subject's data "
            "(GET /v1/disclosures, `taxledger audit disclosures`), not asked for alone"
        )
    if None in domains:
        untagged = [s for s in schemas if kind not in SCHEMA_TAG_DOMAINS[s]]
        raise LedgerValueError(
            f"{', '.join(untagged)} facts are not found by {kind}: ask for schemas "
            f"whose records tag the {kind}"
        )
    if len(domains) > 1:
        raise LedgerValueError(
            f"{', '.join(schemas)} tag a {kind} in different domains "
            f"({', '.join(sorted(str(d) for d in domains))}): ask for each domain's schemas "
            "in its own request"
        )
    (domain,) = domains
    assert domain is not None
    return domain


def request_tag(keyring: Keyring, kind: str, identifier: str, schemas: Sequence[str]) -> bytes:
    """The tag of ``identifier`` a request for ``schemas`` names; raises
    :class:`ledger_node.tagging.MissingTagKeyError` if the keyring lacks the domain."""
    return subject_tag(keyring, request_domain(kind, schemas), kind, identifier).tag


def subject_tags_of(keyring: Keyring, kind: str, identifier: str) -> frozenset[bytes]:
    """Every tag of ``identifier`` under the keys held: each domain, each key version."""
    return frozenset(t.tag for t in identifier_tags(keyring, kind, identifier))
