"""Subject tags keyed per domain: each agency computes only the pseudonyms its duties need.

A tag is ``HMAC-SHA256(domain key, kind ‖ 0x1f ‖ identifier)`` (:func:`ledger_node.subject.
subject_tag` with the domain's key) and is named by its domain and the key version that made
it. Which domain a record's identifier is tagged in is fixed per schema
(:data:`SCHEMA_TAG_DOMAINS`): a bank holds only the credit domain's key, so it tags the
taxpayers of its payments and decisions in that domain and cannot compute an invoice tag.
The domains, their key versions and holders are on chain (:mod:`ledger_node.tagkeys`); a
rotation adds a version, and a tag keeps naming the version it was made with, so old tags
stay verifiable by whoever holds that version's key.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from ledger_node.errors import LedgerValueError
from ledger_node.records.schemas import SCHEMAS, SubjectField
from ledger_node.records.validation import ValidatedRecord
from ledger_node.subject import keyed, keyed_tag, tag_prefix
from ledger_node.subject import subject_tag as _hmac_tag
from ledger_node.tagkeys import TAG_DOMAINS, key_commitment, tag_domain_id

_INVOICES: Final = {"invoice": "invoice", "taxpayer": "taxpayer-invoices"}
_CREDIT: Final = {"taxpayer": "taxpayer-credit"}

#: ``schema -> {subject kind -> domain}``. A kind missing from a schema's map is not tagged
#: in that schema's records (a bank does not hold the invoice domain, so the invoice numbers
#: a payment settles are not tagged).
SCHEMA_TAG_DOMAINS: Final[dict[str, dict[str, str]]] = {
    "invoice.issued/v1": _INVOICES,
    "invoice.issued/v2": _INVOICES,
    "tax.declaration/v1": {"taxpayer": "taxpayer-invoices"},
    # Registration status is public and read by banks and the regulator (ledger_node.policy):
    # tagged in the domain they hold, not in the invoices' taxpayer domain.
    "registration.status/v1": _CREDIT,
    "payment.settled/v1": _CREDIT,
    "payment.settled/v2": _CREDIT,
    "credit.tax-rating/v1": _CREDIT,
    "credit.bank-decision/v1": _CREDIT,
    "credit.bank-decision/v2": _CREDIT,
    "tax.status/v1": _CREDIT,
    "consent.granted/v1": _CREDIT,
    "disclosure.made/v1": {},
}
assert SCHEMA_TAG_DOMAINS.keys() == SCHEMAS.keys()


class MissingTagKeyError(LedgerValueError):
    """The keyring holds no key for a domain (or key version) a tag needs."""


@dataclass(frozen=True, slots=True)
class SubjectTag:
    """A pseudonymous subject tag with the domain and key version it was made under."""

    domain: str
    version: int
    tag: bytes

    def __post_init__(self) -> None:
        if not self.domain:
            raise LedgerValueError("a subject tag names its domain")
        if type(self.version) is not int or not 1 <= self.version <= 2**32 - 1:
            raise LedgerValueError("a tag's key version is an integer from 1 to 2^32 - 1")
        if type(self.tag) is not bytes or len(self.tag) != 32:
            raise LedgerValueError("a subject tag is 32 bytes")

    @property
    def domain_id(self) -> bytes:
        return _domain_id(self.domain)


_domain_id = functools.lru_cache(maxsize=64)(tag_domain_id)

# Frozen dataclasses set each field through object.__setattr__ (and this one checks them);
# a tag made from a keyring's own domain and version needs neither, on the hot path below.
_new_tag = object.__new__
_set_domain = vars(SubjectTag)["domain"].__set__
_set_version = vars(SubjectTag)["version"].__set__
_set_value = vars(SubjectTag)["tag"].__set__


def _made_tag(domain: str, version: int, value: bytes) -> SubjectTag:
    tag = _new_tag(SubjectTag)
    _set_domain(tag, domain)
    _set_version(tag, version)
    _set_value(tag, value)
    return tag


#: How a keyring tags one schema's records: per subject field, the field, its kind's message
#: prefix, and the domain, version and keyed key of its tags (``None``: not tagged in this
#: schema's records, or no key held: :func:`subject_tag` says why on the first identifier).
_Plan = tuple[tuple[SubjectField, bytes, tuple[str, int, bytes] | None, str | None], ...]


@dataclass(frozen=True)
class Keyring:
    """The domain keys one agency holds: every version it was handed, the newest in use.

    Keys are 32 or more random bytes; ``keys[domain][version]``. Kept in memory only: on disk
    a keyring is sealed (see ``ledger_node.keyring``).
    """

    keys: Mapping[str, Mapping[int, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for domain, versions in self.keys.items():
            if not versions:
                raise LedgerValueError(f"domain {domain} lists no key version")
            for version, key in versions.items():
                if type(version) is not int or version < 1 or len(key) < 32:
                    raise LedgerValueError(
                        f"domain {domain}: a key version is >= 1 and its key at least 32 bytes"
                    )

    @classmethod
    def of(cls, keys: Mapping[str, bytes], version: int = 1) -> Keyring:
        """A keyring with one key per domain, all at ``version``."""
        return cls({domain: {version: key} for domain, key in keys.items()})

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(sorted(self.keys))

    def current(self, domain: str) -> tuple[int, bytes]:
        """``(version, key)`` of the newest key of ``domain`` held."""
        versions = self.keys.get(domain)
        if not versions:
            raise MissingTagKeyError(
                f"this keyring holds no key of tag domain {domain!r} (it holds "
                f"{', '.join(self.domains) or 'none'}): only the agency kinds the domain's "
                "holder mask names receive its key"
            )
        version = max(versions)
        return version, versions[version]

    def key(self, domain: str, version: int) -> bytes:
        """The key of ``domain`` at ``version``; :class:`MissingTagKeyError` if not held."""
        key = self.keys.get(domain, {}).get(version)
        if key is None:
            raise MissingTagKeyError(
                f"this keyring holds no key of tag domain {domain!r} version {version}"
            )
        return key

    def holds(self, domain: str, version: int) -> bool:
        return version in self.keys.get(domain, {})

    def with_key(self, domain: str, version: int, key: bytes) -> Keyring:
        """A keyring with one more key version."""
        keys = {d: dict(v) for d, v in self.keys.items()}
        keys.setdefault(domain, {})[version] = key
        return Keyring(keys)

    def commitment(self, domain: str, version: int) -> bytes:
        """The registry's commitment to a held key (compare with ``tag_key_versions``)."""
        return key_commitment(tag_domain_id(domain), self.key(domain, version))

    @functools.cached_property
    def _plans(self) -> dict[str, _Plan]:
        return {}

    def _plan(self, schema: str) -> _Plan:
        """How this keyring tags ``schema``'s records (made on first use, then kept)."""
        plan = self._plans.get(schema)
        if plan is None:
            domains = SCHEMA_TAG_DOMAINS[schema]
            entries = []
            for subject in SCHEMAS[schema].subjects:
                domain = domains.get(subject.kind)
                made = None
                if domain is not None and (domain in TAG_DOMAINS or domain in self.keys):
                    versions = self.keys.get(domain)
                    if versions:
                        version = max(versions)
                        made = (domain, version, keyed(versions[version]))
                entries.append((subject, tag_prefix(subject.kind), made, domain))
            plan = self._plans[schema] = tuple(entries)
        return plan


def subject_tag(keyring: Keyring, domain: str, kind: str, identifier: str) -> SubjectTag:
    """The tag of ``identifier`` of ``kind`` in ``domain``, under its newest key held."""
    if domain not in TAG_DOMAINS and domain not in keyring.keys:
        raise LedgerValueError(f"unknown tag domain {domain!r}")
    version, key = keyring.current(domain)
    return SubjectTag(domain, version, _hmac_tag(key, kind, identifier))


def record_subject_tags(keyring: Keyring, validated: ValidatedRecord) -> list[SubjectTag]:
    """The tags of a validated record, in the schema's subject order without duplicates,
    each in the domain :data:`SCHEMA_TAG_DOMAINS` gives its kind (under its newest key held,
    as :func:`subject_tag` makes it)."""
    record = validated.record
    tags: list[SubjectTag] = []
    made: list[tuple[str, bytes]] = []
    for subject, prefix, keys, domain in keyring._plan(validated.schema.name):
        if domain is None:
            continue
        for identifier in subject.values(record):
            if keys is None or not identifier:
                # No key held for the domain, or an empty identifier: subject_tag says which.
                tag = subject_tag(keyring, domain, subject.kind, identifier)
            else:
                tag = _made_tag(keys[0], keys[1], keyed_tag(keys[2], prefix, identifier))
            if (tag.domain, tag.tag) not in made:  # not the same subject twice (a company
                made.append((tag.domain, tag.tag))  # invoicing itself)
                tags.append(tag)
    return tags


def stored_tags(
    keyring: Keyring, validated: ValidatedRecord, values: Sequence[bytes]
) -> list[SubjectTag]:
    """The :class:`SubjectTag` of each tag value stored with a record (a gateway keeps only
    the 32-byte values): each identifier's tag in its domain, under the held key version that
    made it. Raises :class:`MissingTagKeyError` for a value no held version makes."""
    domains = SCHEMA_TAG_DOMAINS[validated.schema.name]
    made: dict[bytes, SubjectTag] = {}
    for kind, identifier in validated.subject_identifiers():
        domain = domains.get(kind)
        if domain is None:
            continue
        for version, key in keyring.keys.get(domain, {}).items():
            value = _hmac_tag(key, kind, identifier)
            made.setdefault(value, SubjectTag(domain, version, value))
    found: list[SubjectTag] = []
    for value in values:
        tag = made.get(value)
        if tag is None:
            raise MissingTagKeyError(
                f"subject tag 0x{value.hex()} of this {validated.schema.name} record is made by "
                "no key version this keyring holds"
            )
        found.append(tag)
    return found


def identifier_tags(keyring: Keyring, kind: str, identifier: str) -> list[SubjectTag]:
    """Every tag ``identifier`` of ``kind`` has under the keys held: one per domain that tags
    that kind and per key version (to look a subject up across domains and rotations)."""
    domains = sorted({d[kind] for d in SCHEMA_TAG_DOMAINS.values() if kind in d})
    return [
        SubjectTag(domain, version, _hmac_tag(key, kind, identifier))
        for domain in domains
        for version, key in sorted(keyring.keys.get(domain, {}).items())
    ]
