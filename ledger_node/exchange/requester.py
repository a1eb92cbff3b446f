"""The requester's side: sign a request, open the sealed answer, verify every fact.

Every bundle of an answer goes through the same :class:`~ledger_node.verify.Verifier` as
``taxledger verify``, then through the exchange's own checks: the fact is the provider's,
of a schema asked for, about the subject asked about. A bundle that fails is named with its
check number (``x`` for the exchange's own checks) and kept out of the verified facts.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from ledger_node.bundle import AnyBundle, bundle_from_dict
from ledger_node.chain.ledger import LedgerClient
from ledger_node.deployment import Deployment
from ledger_node.eip712 import Domain, ExchangeRequest
from ledger_node.errors import LedgerValueError, ProofBundleError
from ledger_node.exchange.messages import (
    ZERO32,
    Answer,
    SignedExchange,
    Withheld,
    parse_sealed,
)
from ledger_node.exchange.sealing import open_sealed
from ledger_node.keys import EncryptionKey, LocalKey
from ledger_node.purposes import Purpose
from ledger_node.records.schemas import DISCLOSURE_MADE, get_schema
from ledger_node.verify.errors import VerificationFailure
from ledger_node.verify.verifier import Consistent, Verified, Verifier
from ledger_node.verify.view import ChainView
from ledger_node.waiting import Poll, holding

#: Seconds a request stays valid: long enough for a retry, short for a replay.
REQUEST_LIFETIME: Final = 120
#: The check number of the exchange's own checks of a bundle.
EXCHANGE_CHECK: Final = "x"
#: Bundles whose checks 1 to 3 :class:`BlockVerifiers` keeps before starting afresh.
_MAX_KEPT: Final = 10_000


@dataclass(frozen=True)
class Ask:
    """What a requester asks a provider (agency id): the facts of ``schemas`` about the
    subject named by its tag, for ``purpose``, under the consent fact ``consent`` (all
    zeros: none), whose bundle may travel with the request for a provider that lacks it;
    the page from ``after`` (0: the first; else the ``next`` of the page before)."""

    provider: int
    subject: bytes
    schemas: tuple[str, ...]
    purpose: Purpose
    consent: bytes = ZERO32
    consent_bundle: dict[str, Any] | None = None
    after: int = 0


def sign_exchange(
    agency_key: LocalKey,
    domain: Domain,
    requester: int,
    ask: Ask,
    *,
    now: float | None = None,
) -> SignedExchange:
    """``ask`` as agency ``requester``'s request, signed with its agency key, with a fresh
    nonce and a deadline :data:`REQUEST_LIFETIME` seconds ahead."""
    request = ExchangeRequest(
        requester=requester,
        provider=ask.provider,
        subject=ask.subject,
        schema_ids=tuple(get_schema(name).schema_id for name in ask.schemas),
        purpose=int(ask.purpose),
        consent=ask.consent,
        nonce=secrets.token_bytes(32),
        deadline=int(time.time() if now is None else now) + REQUEST_LIFETIME,
        after=ask.after,
    )
    signature = agency_key.sign_digest(domain.digest(request.struct_hash()))
    return SignedExchange(request, ask.schemas, ask.purpose, signature, ask.consent_bundle)


@dataclass(frozen=True)
class FailedFact:
    """A bundle of an answer that did not verify."""

    index: int
    check: int | str
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "check": self.check,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class ExchangeResult:
    """An opened answer: the verified facts, the bundles that failed, the facts the provider
    withheld (with why), and where the next page starts (None: this was the last)."""

    disclosure_id: str
    verified: tuple[Verified, ...]
    failed: tuple[FailedFact, ...]
    withheld: tuple[Withheld, ...] = ()
    next: int | None = None


def _about(fact: Verified, subject: bytes) -> bool:
    """The fact is about ``subject``: by a tag the verifier proved (a disclosure record names
    its subject in a field of the record)."""
    if fact.bundle.schema == DISCLOSURE_MADE:
        return bool(fact.bundle.record.get("subject_tag") == "0x" + subject.hex())
    return subject in fact.tags


def open_answer(
    signed: SignedExchange,
    domain: Domain,
    sealed: object,
    key: EncryptionKey,
    verify: Callable[[AnyBundle], Verified],
) -> ExchangeResult:
    """Open the provider's sealed answer to ``signed`` and verify each of its bundles;
    LedgerValueError if the answer itself is unusable."""
    digest = signed.digest(domain)
    disclosure_id, ciphertext = parse_sealed(sealed)
    answer = Answer.from_bytes(open_sealed(ciphertext, key, digest))
    if answer.request_digest != digest or answer.disclosure_id != disclosure_id:
        raise LedgerValueError("the answer is for another request")
    request = signed.request
    verified: list[Verified] = []
    failed: list[FailedFact] = []
    for index, raw in enumerate(answer.bundles):
        try:
            bundle = bundle_from_dict(raw)
        except ProofBundleError as exc:
            failed.append(FailedFact(index, 0, "malformed_bundle", str(exc)))
            continue
        try:
            fact = verify(bundle)
        except VerificationFailure as exc:
            failed.append(FailedFact(index, exc.check, exc.code, exc.message))
            continue
        if bundle.anchor.agency_id != request.provider:
            failed.append(
                FailedFact(
                    index,
                    EXCHANGE_CHECK,
                    "not_providers",
                    f"the fact is agency {bundle.anchor.agency_id}'s, not the provider's",
                )
            )
        elif bundle.schema_id not in request.schema_ids:
            failed.append(
                FailedFact(index, EXCHANGE_CHECK, "not_requested", f"{bundle.schema} not asked for")
            )
        elif not _about(fact, request.subject):
            failed.append(
                FailedFact(
                    index, EXCHANGE_CHECK, "other_subject", "the fact is not about the subject"
                )
            )
        else:
            verified.append(fact)
    return ExchangeResult(
        disclosure_id, tuple(verified), tuple(failed), answer.withheld, answer.next
    )


class BlockVerifiers:
    """Verification against the chain's latest block: a new :class:`Verifier` whenever the
    head moves (its revocation answers are cached for its lifetime), over one
    :class:`ChainView` whose membership history grows with the chain. Safe to use from
    several threads: the ledger's checks take turns (the view's history is not for
    concurrent writers); a bundle's own checks, which read nothing shared, do not."""

    def __init__(
        self,
        client: LedgerClient,
        deployment: Deployment,
        *,
        consortium_key: bytes | None = None,
        interval: float = 0.25,
    ) -> None:
        self._view = ChainView(client, deployment)
        self._poll = Poll(interval, "the chain head")
        self._lock = threading.Lock()
        self._consortium_key = consortium_key
        self._verifier = Verifier(self._view, consortium_key=consortium_key)
        self._head = self._view.head()
        self._poll.looked()
        # Facts verified by the current verifier, by commitment (see verify_once).
        self._once: dict[bytes, Verified] = {}
        # Their bundles' checks 1 to 3, kept across verifiers (they hold at any block).
        self._consistent: dict[bytes, Consistent] = {}

    def _current(self) -> Verifier:
        if self._poll.due():
            self._view.refresh()
            head = self._view.head()
            self._poll.looked()
            if head != self._head:
                self._head = head
                self._verifier = Verifier(self._view, consortium_key=self._consortium_key)
                self._once = {}
        return self._verifier

    def verify(self, bundle: AnyBundle) -> Verified:
        """:meth:`Verifier.verify` at the latest block. The bundle's own checks (1 to 3) need
        no turn: they depend on the bundle alone."""
        consistent = self._verifier.check_bundle(bundle)
        with holding(self._lock, "the verifier"):
            return self._current().check_ledger(consistent)

    def verify_once(self, commitment: bytes, bundle: Callable[[], AnyBundle]) -> Verified:
        """:meth:`verify` of the bundle ``bundle()`` makes of the fact ``commitment``, made
        once while the head stays where it is: for a fact cited by request after request (a
        consent), whose bundle comes from one's own outbox and so is the same each time. At a
        new head only the ledger's checks (4 to 9) run again, on the bundle made before. A
        failure is not remembered: the next call makes the bundle afresh."""
        with holding(self._lock, "the verifier"):
            verifier = self._current()
            fact = self._once.get(commitment)
            if fact is not None:
                return fact
            consistent = self._consistent.get(commitment)
            if consistent is None:
                consistent = verifier.check_bundle(bundle())
                if consistent.bundle.commitment == commitment:
                    if len(self._consistent) >= _MAX_KEPT:
                        self._consistent.clear()
                    self._consistent[commitment] = consistent
            try:
                fact = verifier.check_ledger(consistent)
            except VerificationFailure:
                self._consistent.pop(commitment, None)
                raise
            if fact.bundle.commitment == commitment:
                self._once[commitment] = fact
            return fact
