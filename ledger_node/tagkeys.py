"""Subject-tag domains and their key versions, as the ledger's tag-key registry holds them.

Pseudonymous subject tags are keyed per domain (a taxpayer as seen for credit, a taxpayer as
seen on invoices, an invoice), so that each agency kind can compute only the tags its duties
need. The registry on chain stores, per domain, every key version: an opaque commitment to
the key (never the key), the agency kinds that hold it, and the block it took effect. A
rotation registers the next version; old versions stay listed, so tags made under them stay
verifiable. How a tag is derived from a domain key, and what exactly the commitment commits
to, belong to the tagging code; this module names the domains and serves the registry.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ledger_node.agencies import AgencyKind
from ledger_node.errors import LedgerValueError
from ledger_node.hashing import keccak256


def tag_domain_id(name: str) -> bytes:
    """The bytes32 the registry knows a domain by: ``keccak256(name)``, as for schemas."""
    if not name:
        raise LedgerValueError("a tag domain needs a name")
    return keccak256(name.encode())


@dataclass(frozen=True)
class TagDomain:
    """A subject-tag domain and the agency kinds that hold its key by default."""

    name: str
    holders: frozenset[AgencyKind]

    @property
    def domain_id(self) -> bytes:
        return tag_domain_id(self.name)


#: The domains a consortium is founded with. The tax bureau holds every key (its duties cover
#: every subject); a bank only the credit domain; the market regulator the taxpayers' domains
#: (it supervises registrations and, under the default read policy, reads the payments to and
#: the ratings of the companies it supervises, which are tagged in the credit domain), not
#: the invoices'; the auditor every key, for audit. A kind the read policy lets read a schema
#: by subject must hold the domain that schema tags the subject in, or it could not name it.
DEFAULT_TAG_DOMAINS: tuple[TagDomain, ...] = (
    TagDomain(
        "taxpayer-credit",
        frozenset(
            {
                AgencyKind.TAX_BUREAU,
                AgencyKind.BANK,
                AgencyKind.MARKET_REGULATOR,
                AgencyKind.AUDITOR,
            }
        ),
    ),
    TagDomain(
        "taxpayer-invoices",
        frozenset({AgencyKind.TAX_BUREAU, AgencyKind.MARKET_REGULATOR, AgencyKind.AUDITOR}),
    ),
    TagDomain("invoice", frozenset({AgencyKind.TAX_BUREAU, AgencyKind.AUDITOR})),
)

#: Domains by name and by id.
TAG_DOMAINS: dict[str, TagDomain] = {d.name: d for d in DEFAULT_TAG_DOMAINS}
TAG_DOMAINS_BY_ID: dict[bytes, TagDomain] = {d.domain_id: d for d in DEFAULT_TAG_DOMAINS}


def domain_label(domain_id: bytes) -> str:
    """A domain's name if this library knows it, else its id in hex."""
    known = TAG_DOMAINS_BY_ID.get(domain_id)
    return known.name if known is not None else "0x" + domain_id.hex()


def key_commitment(domain_id: bytes, key: bytes) -> bytes:
    """The registry's commitment to a domain key: ``keccak256(domain_id || key)``.

    A key is 32 random bytes, so its commitment reveals nothing of it; binding the domain
    keeps one key from being registered for two domains unnoticed.
    """
    if len(domain_id) != 32 or len(key) < 32:
        raise LedgerValueError("a domain id is 32 bytes and a domain key at least 32")
    return keccak256(domain_id + key)


def new_domain_key() -> bytes:
    """A fresh random domain key (32 bytes)."""
    return secrets.token_bytes(32)
