"""The provider's checks of a signed request, against the chain at its latest block.

In order (each failure is a :class:`~.refusals.Refusal` with its code):

0. the request is well-formed (parsing, :mod:`.messages`) and addressed to this agency;
1. the signature recovers a key, and that key is the requester's current key;
2. the requester is an agency, active at the latest block;
3. the deadline has not passed and is not too far ahead;
4. the read policy in force allows the requester's kind, for the purpose, every schema asked;
5. where a rule requires consent: the cited ``consent.granted`` fact verifies (attested by
   an agency allowed to, neither revoked nor expired), covers this requester, every schema
   that needs it and the purpose, concerns the request's subject and is valid today.

The nonce (replays) and the subject's facts are the gateway's to check: they live in its
outbox. Chain reads are cached per block (:class:`ChainReads`): a stream of requests costs
one ``eth_blockNumber`` per interval and a few calls per new block, not calls per request.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, TypeVar

from ledger_node.agencies import AgencyKind
from ledger_node.bundle import AnyBundle, ProofBundleV2
from ledger_node.chain.ledger import Agency, KeyRecord, LedgerClient, ReadRuleRecord
from ledger_node.eip712 import Domain, SignatureError, recover_digest
from ledger_node.exchange.messages import ZERO32, SignedExchange
from ledger_node.exchange.refusals import Refusal
from ledger_node.fieldtree import FieldPath, FieldPathError, parse_field_paths
from ledger_node.policy import ALL_FIELDS
from ledger_node.records.schemas import CONSENT_GRANTED
from ledger_node.verify.errors import VerificationFailure
from ledger_node.verify.verifier import Verified
from ledger_node.waiting import Poll, holding

#: Longest a request may be valid for, in seconds (its nonce is kept for good anyway).
MAX_LIFETIME: Final = 600

K = TypeVar("K")
V = TypeVar("V")


@dataclass
class ChainSnapshot:
    """What the checks read of the chain, at one block; each answer asked once, however many
    threads want it at the same time (the first asks, the others wait for its answer)."""

    client: LedgerClient
    block: int
    _keys: dict[str, KeyRecord | None] = field(default_factory=dict)
    _agencies: dict[int, Agency | None] = field(default_factory=dict)
    _active: dict[int, bool] = field(default_factory=dict)
    _rules: dict[tuple[bytes, AgencyKind], ReadRuleRecord] = field(default_factory=dict)
    _encryption: dict[int, bytes | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _once(self, cache: dict[K, V], key: K, read: Callable[[], V]) -> V:
        try:
            return cache[key]
        except KeyError:
            pass
        with holding(self._lock, "a chain read of the snapshot"):
            if key not in cache:
                cache[key] = read()
            return cache[key]

    def key_record(self, address: str) -> KeyRecord | None:
        return self._once(self._keys, address, lambda: self.client.key_record(address))

    def agency(self, agency_id: int) -> Agency | None:
        return self._once(self._agencies, agency_id, lambda: self.client.agency(agency_id))

    def active(self, agency_id: int) -> bool:
        return self._once(
            self._active, agency_id, lambda: self.client.was_active_at(agency_id, self.block)
        )

    def read_rule(self, schema_id: bytes, kind: AgencyKind) -> ReadRuleRecord:
        return self._once(
            self._rules,
            (schema_id, kind),
            lambda: self.client.read_rule_at(schema_id, kind, self.block),
        )

    def encryption_key(self, agency_id: int) -> bytes | None:
        return self._once(
            self._encryption,
            agency_id,
            lambda: self.client.encryption_key_at(agency_id, self.block),
        )


class ChainReads:
    """The latest block's :class:`ChainSnapshot`, looked up at most every ``interval``
    seconds (a block of a consortium chain takes one or two)."""

    def __init__(self, client: LedgerClient, interval: float = 0.25) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._snapshot: ChainSnapshot | None = None
        self._poll = Poll(interval, "the chain head")

    def latest(self) -> ChainSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and not self._poll.due():
            return snapshot
        with holding(self._lock, "the chain head"):
            snapshot = self._snapshot
            if snapshot is None or self._poll.due():
                head = self.client.block_number()
                self._poll.looked()
                if snapshot is None or head != snapshot.block:
                    snapshot = self._snapshot = ChainSnapshot(self.client, head)
            return snapshot


@dataclass(frozen=True)
class Admitted:
    """A request that passed checks 0 to 4: who asks, and the rules that admit it."""

    signed: SignedExchange
    digest: bytes
    requester: Agency
    rules: dict[str, ReadRuleRecord]
    block: int

    @property
    def consent_required(self) -> tuple[str, ...]:
        """The schemas asked for whose rule requires the taxpayer's consent."""
        return tuple(name for name, rule in self.rules.items() if rule.consent_required)


def policy_paths(fields: str) -> tuple[FieldPath, ...] | None:
    """The field paths a read rule's ``fields`` names; None for the whole record (``*``).
    A rule whose paths do not parse discloses nothing: :class:`Refusal` ``policy_denies``."""
    try:
        return _paths(fields)
    except FieldPathError as exc:
        raise Refusal(
            "policy_denies",
            f"the read rule's fields {fields!r} do not parse ({exc}); nothing is disclosed "
            "until governance sets a rule that does",
        ) from None


def shown_under(bundle: AnyBundle, fields: str) -> AnyBundle | None:
    """``bundle`` as an answer may show it under a read rule naming ``fields``: whole for
    ``*``; a v2 bundle showing only the fields named (an optional field the record lacks is
    simply not there); None for a record committed whole (v1), which cannot show less than
    all of itself, under a rule that names only some fields."""
    paths = policy_paths(fields)
    if paths is None:
        return bundle
    if isinstance(bundle, ProofBundleV2):
        return bundle.disclose(paths, require_match=False)
    return None


@lru_cache(maxsize=256)
def _paths(fields: str) -> tuple[FieldPath, ...] | None:
    return None if fields.strip() == ALL_FIELDS else parse_field_paths(fields)


def admit(
    snapshot: ChainSnapshot,
    domain: Domain,
    provider_id: int,
    signed: SignedExchange,
    now: float,
) -> Admitted:
    """Checks 0 to 4 of a parsed request; raise :class:`Refusal` at the first that fails."""
    request = signed.request
    # (0)
    if request.provider != provider_id:
        raise Refusal(
            "wrong_provider",
            f"the request is addressed to agency {request.provider}, this gateway answers "
            f"for agency {provider_id}",
        )
    digest = signed.digest(domain)
    # (1) and (2)
    requester = snapshot.agency(request.requester)
    if requester is None:
        raise Refusal("unknown_requester", f"agency {request.requester} is not a member")
    try:
        signer = recover_digest(digest, signed.signature)
    except SignatureError as exc:
        raise Refusal("bad_signature", f"the signature is unusable: {exc}") from None
    record = snapshot.key_record(signer)
    current = (
        record is not None
        and record.agency_id == request.requester
        and record.from_block <= snapshot.block
        and (record.until_block == 0 or snapshot.block < record.until_block)
    )
    if not current:
        raise Refusal(
            "bad_signature",
            f"the signature is by {signer}, which is not the current key of agency "
            f"{request.requester}: the request was not signed by the requester",
        )
    if not snapshot.active(request.requester):
        raise Refusal(
            "requester_suspended", f"agency {request.requester} is suspended at this block"
        )
    # (3)
    if request.deadline < now:
        raise Refusal(
            "deadline_passed", f"the request's deadline {request.deadline} has passed; sign anew"
        )
    if request.deadline > now + MAX_LIFETIME:
        raise Refusal(
            "deadline_too_far",
            f"the deadline is more than {MAX_LIFETIME} s ahead; a request lives shorter",
        )
    # (4)
    rules = {}
    for name, schema_id in zip(signed.schemas, request.schema_ids, strict=True):
        rule = snapshot.read_rule(schema_id, requester.kind)
        if not rule.allows(signed.purpose):
            raise Refusal(
                "policy_denies",
                f"the read policy does not let a {requester.kind.label} read {name} for "
                f"{signed.purpose.label}",
            )
        rules[name] = rule
    return Admitted(signed, digest, requester, rules, snapshot.block)


def check_consent(
    admitted: Admitted,
    verify: Callable[[], Verified],
    subject_tags_of: Callable[[str], Collection[bytes]],
    today: datetime.date,
) -> None:
    """Check 5 for an admitted request whose rules require consent.

    ``verify`` verifies the cited consent's bundle (raising :class:`VerificationFailure`,
    or :class:`Refusal` ``consent_missing`` when there is no bundle to verify);
    ``subject_tags_of`` gives the tags of a USCC under the provider's keys (every domain
    and key version it holds): the request's tag must be one of the consent's taxpayer's.
    """
    needed = admitted.consent_required
    if not needed:
        return
    signed = admitted.signed
    if signed.request.consent == ZERO32:
        raise Refusal(
            "consent_missing",
            f"reading {', '.join(needed)} needs the taxpayer's consent: cite a "
            f"{CONSENT_GRANTED} fact",
        )
    try:
        verified = verify()
    except VerificationFailure as exc:
        code = {"revoked": "consent_revoked", "expired": "consent_expired"}.get(
            exc.code, "consent_missing"
        )
        raise Refusal(
            code, f"the cited consent does not verify: ({exc.check}) {exc.message}"
        ) from None
    bundle = verified.bundle
    if bundle.schema != CONSENT_GRANTED or bundle.commitment != signed.request.consent:
        raise Refusal("consent_missing", "the consent's bundle is not the fact the request cites")
    consent = bundle.record
    requester = admitted.requester
    problems = []
    if consent["grantee"] != requester.name:
        problems.append(f"it was granted to {consent['grantee']}, not to {requester.name}")
    if consent["purpose"] != signed.purpose.label:
        problems.append(f"it is for {consent['purpose']}, not {signed.purpose.label}")
    uncovered = [name for name in needed if name not in consent["schemas"]]
    if uncovered:
        problems.append(f"it does not cover {', '.join(uncovered)}")
    if signed.request.subject not in subject_tags_of(consent["taxpayer"]):
        problems.append("it is another taxpayer's")
    if problems:
        raise Refusal("consent_not_covering", "the cited consent: " + "; ".join(problems))
    start = datetime.date.fromisoformat(consent["valid_from"])
    end = datetime.date.fromisoformat(consent["valid_until"])
    if not start <= today <= end:
        raise Refusal(
            "consent_expired",
            f"the cited consent is valid from {start} to {end}, not on {today}",
        )
