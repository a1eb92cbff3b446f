"""The gateway's part in the exchange: answering other agencies' signed requests (provider)
and asking other agencies for this agency's systems (requester).

Provider: a request is checked against the chain at its latest block
(:mod:`ledger_node.exchange.provider`), then against the outbox (nonce, the subject's
anchored facts); the answer is sealed to the requester's registered encryption key and
committed with its ``disclosure.made`` record in one group-commit transaction — durably,
before the answer leaves. The record is anchored in the next batch like any other.

Requester: a query from this agency's systems becomes a request signed with the agency key,
sent to the provider's gateway named in the consortium directory; the answer is opened and
every bundle verified against the chain (:mod:`ledger_node.exchange.requester`).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any, Final, TypeVar

import orjson
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from gateway.connection import AgencyChain
from gateway.errors import ApiError
from gateway.faults import crash_point
from gateway.ingest import Ingestor, Rejection, invalid_request, pydantic_problems
from gateway.metrics import GatewayMetrics
from gateway.models import ExchangeQueryCreate
from gateway.outbox import Outbox, StoredRecord
from gateway.outbox.exchanges import StoredAnswer
from gateway.peers import PeerError, Peers
from gateway.proofs import stored_bundle
from ledger_node.audit.disclosures import disclosures_about
from ledger_node.bundle import AnyBundle, bundle_from_dict, to_hex
from ledger_node.deployment import AgencyEntry
from ledger_node.eip712 import Domain
from ledger_node.errors import ConfigurationError, LedgerValueError, ProofBundleError
from ledger_node.exchange.directory import Directory
from ledger_node.exchange.messages import (
    COMMITTED_WHOLE,
    MAX_FACTS,
    ZERO32,
    Answer,
    SignedExchange,
    Withheld,
    sealed_document,
)
from ledger_node.exchange.provider import Admitted, ChainReads, admit, check_consent, shown_under
from ledger_node.exchange.refusals import Refusal
from ledger_node.exchange.requester import (
    Ask,
    BlockVerifiers,
    ExchangeResult,
    open_answer,
    sign_exchange,
)
from ledger_node.exchange.sealing import seal
from ledger_node.exchange.subjects import request_tag, subject_tags_of
from ledger_node.hashing import keccak256
from ledger_node.keys import EncryptionKey
from ledger_node.purposes import Purpose
from ledger_node.records.clock import CHINA_TIME
from ledger_node.records.identifiers import invoice_number_problem, is_valid_uscc
from ledger_node.records.schemas import DISCLOSURE_MADE
from ledger_node.tagging import Keyring, MissingTagKeyError
from ledger_node.verify.errors import VerificationFailure
from ledger_node.verify.verifier import Verified
from ledger_node.waiting import WouldWait, no_waiting

log = logging.getLogger(__name__)

#: Largest request body a provider reads (a request with a consent bundle is a few KB).
MAX_REQUEST_BYTES: Final = 64 * 1024
#: Attempts to deliver one signed request (a retry carries the same nonce: idempotent).
DELIVERY_ATTEMPTS: Final = 3
#: Seconds one attempt may take.
DELIVERY_TIMEOUT: Final = 10.0
#: Bundles of stored facts kept ready for answers (a few KB each) before starting afresh.
_MAX_SHOWN: Final = 10_000

Answered = tuple[int, bytes]
T = TypeVar("T")


@dataclass
class ExchangeService:
    """One gateway's exchange: its provider and requester sides."""

    chain: AgencyChain
    outbox: Outbox
    ingestor: Ingestor
    metrics: GatewayMetrics
    keyring: Keyring
    encryption_key: EncryptionKey | None
    directory: Directory | None
    #: Most facts one answer holds (see :data:`ledger_node.exchange.messages.MAX_FACTS`).
    page_facts: int = MAX_FACTS
    reads: ChainReads = field(init=False)
    domain: Domain = field(init=False)
    _verifiers: BlockVerifiers | None = field(init=False, default=None)
    # What an answer shows of a stored fact under a rule's fields (None: withheld), by the
    # fact's id, its batch's transaction and block (a batch written again is another key).
    _shown: dict[tuple[str, bytes, int, str], dict[str, Any] | None] = field(
        init=False, default_factory=dict
    )
    _peers: Peers = field(init=False, default_factory=lambda: Peers(DELIVERY_TIMEOUT))

    def __post_init__(self) -> None:
        self.reads = ChainReads(self.chain.ledger)
        self.domain = Domain(self.chain.ledger.chain_id, self.chain.ledger.address)
        # A subject's tags under this gateway's keyring, which does not change while it runs.
        self._request_tag = lru_cache(maxsize=_MAX_SHOWN)(partial(request_tag, self.keyring))
        self._taxpayer_tags = lru_cache(maxsize=_MAX_SHOWN)(
            partial(subject_tags_of, self.keyring, "taxpayer")
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def close(self) -> None:
        await self._peers.close()

    def verifiers(self) -> BlockVerifiers:
        if self._verifiers is None:
            if self.chain.deployment is None:
                raise ConfigurationError("the exchange needs the deployment file of the ledger")
            self._verifiers = BlockVerifiers(self.chain.ledger, self.chain.deployment)
        return self._verifiers

    # -- provider ----------------------------------------------------------------------------

    async def answer(self, body: bytes) -> Answered:
        """``POST /v1/exchange/requests``: the sealed answer, or a refusal (ApiError)."""
        started = time.perf_counter()
        requester = "?"
        try:
            if len(body) > MAX_REQUEST_BYTES:
                raise Refusal(
                    "request_too_large", f"an exchange request is at most {MAX_REQUEST_BYTES} bytes"
                )
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise Refusal("malformed_request", f"the body is not JSON: {exc}") from None
            signed = SignedExchange.from_dict(doc)
            requester = str(signed.request.requester)
            prepared, new = await _on_loop_unless_waiting(lambda: self._prepare_answer(signed))
        except Refusal as refusal:
            self.metrics.exchange_refusals.labels(refusal.code).inc()
            # No subject, no identifier: the requester and the reason only.
            log.info("exchange request refused: %s (requester agency %s)", refusal.code, requester)
            raise ApiError(refusal.status, refusal.code, refusal.message) from None
        stored = prepared
        if new:
            # The record and the answer, in one transaction, before the answer leaves.
            request = signed.request
            exchanges = self.outbox.exchanges
            accepted = await self.outbox.accept_async(
                [prepared.disclosure], exchanges.saving(request.requester, request.nonce, prepared)
            )
            if not accepted.new:  # the same request, answered concurrently: its answer stands
                found = await run_in_threadpool(exchanges.answer, request.requester, request.nonce)
                assert found is not None
                stored = found
        crash_point("disclosure-recorded")
        self.metrics.disclosures.labels("new" if new else "stored").inc()
        self.metrics.exchange_seconds.labels("provider").observe(time.perf_counter() - started)
        return 200, stored.answer

    def _prepare_answer(self, signed: SignedExchange) -> tuple[StoredAnswer, bool]:
        """Checks, then the answer and its disclosure record (in a worker thread); True with
        a new answer, False with the one stored for an earlier try of this request."""
        snapshot = self.reads.latest()
        now = time.time()
        admitted = admit(snapshot, self.domain, self.chain.agency_id, signed, now)
        request = signed.request
        exchanges = self.outbox.exchanges
        earlier = exchanges.answer(request.requester, request.nonce)
        if earlier is not None:
            if earlier.request_hash != admitted.digest:
                raise Refusal(
                    "nonce_replayed",
                    "this nonce was used by another request of the same agency; sign the new "
                    "request with a fresh nonce",
                )
            return earlier, False
        exchanges.index_anchored()
        check_consent(
            admitted,
            lambda: self._verify_consent(signed),
            self._taxpayer_tags,
            # A consent's dates are days in China, as the e-tax bureau gives them.
            datetime.datetime.now(CHINA_TIME).date(),
        )
        bundles, withheld, following = self._bundles_about(admitted)
        if not bundles and not withheld:
            raise Refusal(
                "unknown_subject",
                f"agency {self.chain.name} holds no anchored {', '.join(signed.schemas)} fact "
                "about this subject",
            )
        if not bundles:
            raise Refusal(
                "not_disclosable",
                f"every {', '.join(signed.schemas)} fact agency {self.chain.name} holds about "
                f"this subject was committed whole, and the read policy lets a "
                f"{admitted.requester.kind.label} read only some of its fields",
            )
        public_key = snapshot.encryption_key(request.requester)
        if public_key is None:
            raise Refusal(
                "no_encryption_key",
                f"agency {request.requester} has no encryption key registered; an answer "
                "could not be sealed to it",
            )
        disclosure_id = f"dx-{request.requester}-{request.nonce.hex()[:48]}"
        plaintext = Answer(
            admitted.digest, disclosure_id, tuple(bundles), tuple(withheld), following
        ).to_bytes()
        record: dict[str, Any] = {
            "disclosure_id": disclosure_id,
            "discloser": self.chain.name,
            "recipient": admitted.requester.name,
            "subject_tag": to_hex(request.subject),
            "schemas": list(signed.schemas),
            "purpose": signed.purpose.label,
            "request_hash": to_hex(admitted.digest),
            "response_hash": to_hex(keccak256(plaintext)),
            "disclosed_at": datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat(
                timespec="seconds"
            ),
        }
        if request.consent != ZERO32:
            record["consent"] = to_hex(request.consent)
        row = self.ingestor.prepare(
            {"schema": DISCLOSURE_MADE, "id": disclosure_id, "record": record}, None, now
        )
        if type(row) is Rejection:
            raise RuntimeError(f"the disclosure record does not validate: {row.problems}")
        sealed = seal(plaintext, public_key, admitted.digest)
        answer = orjson.dumps(sealed_document(disclosure_id, sealed))
        return StoredAnswer(admitted.digest, row, answer), True  # type: ignore[arg-type]

    def _verify_consent(self, signed: SignedExchange) -> Verified:
        """The cited consent's bundle (this gateway's own fact, or the one the request
        carries), verified against the chain."""
        consent = signed.request.consent
        record_id = self.outbox.exchanges.id_of_commitment(consent)
        bundle: AnyBundle
        if record_id is not None:

            def own() -> AnyBundle:
                stored = self.outbox.record(record_id)
                assert stored is not None  # the index holds only records of mined batches
                return stored_bundle(self.chain, self.outbox, stored, self.keyring)

            return self.verifiers().verify_once(consent, own)
        if signed.consent_bundle is not None:
            try:
                bundle = bundle_from_dict(signed.consent_bundle)
            except ProofBundleError as exc:
                raise VerificationFailure(0, "malformed_bundle", str(exc)) from None
            return self.verifiers().verify(bundle)
        raise Refusal(
            "consent_missing",
            f"no consent fact {to_hex(consent)} is known to agency {self.chain.name}; "
            "send its proof bundle with the request",
        )

    def _bundles_about(
        self, admitted: Admitted
    ) -> tuple[list[dict[str, Any]], list[Withheld], int | None]:
        """One page of the anchored, unrevoked facts about the request's subject of the
        schemas asked, oldest first from the request's ``after``: their bundles, each showing
        only the fields its read rule names; the facts that cannot be shown so (committed
        whole, where the rule names only some fields); and where the next page starts (None
        if this is the last)."""
        signed = admitted.signed
        wanted = set(signed.schemas)
        schema_of = self.outbox.records.schema_of
        bundles: list[dict[str, Any]] = []
        withheld: list[Withheld] = []
        last = signed.request.after
        for seq, record_id in self.outbox.exchanges.ids_about(
            signed.request.subject, after=signed.request.after
        ):
            schema = schema_of(seq)
            if schema not in wanted:
                continue
            stored = self.outbox.record(record_id)
            if stored is None or stored.status == "revoked" or stored.batch is None:
                continue
            if len(bundles) + len(withheld) == self.page_facts:
                return bundles, withheld, last
            last = seq
            fields = admitted.rules[schema].fields
            shown = self._shown_of(stored, fields)
            if shown is not None:
                bundles.append(shown)
            else:
                withheld.append(
                    Withheld(
                        schema,
                        stored.commitment,
                        COMMITTED_WHOLE,
                        f"the fact was committed whole (taxledger.proof/v1) and the read policy "
                        f"lets a {admitted.requester.kind.label} read only {fields} of {schema}",
                    )
                )
        return bundles, withheld, None

    def _shown_of(self, stored: StoredRecord, fields: str) -> dict[str, Any] | None:
        """The bundle an answer holds of ``stored`` (mined) under a rule naming ``fields``, or
        None if the fact cannot be shown so (:func:`shown_under`); made once per fact and
        rule, since a mined fact's bundle is the same for every request."""
        batch = stored.batch
        assert batch is not None and batch.block_number is not None
        key = (stored.id, batch.write.tx_hash, batch.block_number, fields)
        try:
            return self._shown[key]
        except KeyError:
            pass
        bundle = shown_under(stored_bundle(self.chain, self.outbox, stored, self.keyring), fields)
        shown = None if bundle is None else bundle.to_dict()
        if len(self._shown) >= _MAX_SHOWN:
            self._shown.clear()
        self._shown[key] = shown
        return shown

    # -- requester ---------------------------------------------------------------------------

    async def query(self, body: object) -> tuple[int, dict[str, Any]]:
        """``POST /v1/exchange/queries``: ask the provider, verify its answer."""
        started = time.perf_counter()
        try:
            query = ExchangeQueryCreate.model_validate(body)
        except ValidationError as exc:
            raise ApiError.of(invalid_request(pydantic_problems(exc.errors()))) from None
        if self.encryption_key is None or self.directory is None:
            raise _not_configured(self.chain.name)
        kind, identifier = _subject(query.taxpayer, query.invoice)
        assert self.chain.deployment is not None
        try:
            provider = self.chain.deployment.agency(query.provider)
            url = self.directory.url_of(provider.name)
        except ConfigurationError as exc:
            raise ApiError(422, "unknown_provider", str(exc)) from None
        if provider.agency_id == self.chain.agency_id:
            raise ApiError(422, "unknown_provider", "an agency reads its own facts directly")
        try:
            subject = self._request_tag(kind, identifier, tuple(query.schemas))
        except MissingTagKeyError as exc:
            # This agency's duties do not cover the subject: it cannot even name it.
            raise ApiError(
                422, "tag_key_missing", str(exc), (("schemas", "tag_domain", str(exc)),)
            ) from None
        except LedgerValueError as exc:
            raise ApiError(
                422, "invalid_request", str(exc), (("schemas", "tag_domain", str(exc)),)
            ) from None
        ask = Ask(
            provider.agency_id,
            subject,
            tuple(query.schemas),
            Purpose.parse(query.purpose),
            ZERO32 if query.consent is None else bytes.fromhex(query.consent[2:]),
            query.consent_bundle,
            query.after,
        )
        result, signed = await self._ask(provider, url, ask)
        self.metrics.exchange_seconds.labels("requester").observe(time.perf_counter() - started)
        return 200, {
            "provider": provider.name,
            "subject_tag": to_hex(signed.request.subject),
            "disclosure_id": result.disclosure_id,
            "facts": [
                {
                    "schema": fact.bundle.schema,
                    "commitment": to_hex(fact.bundle.commitment),
                    "block_number": fact.write.block_number,
                    "record": fact.bundle.record,
                    "bundle": fact.bundle.to_dict(),
                }
                for fact in result.verified
            ],
            "failed": [failure.to_dict() for failure in result.failed],
            "withheld": [w.to_dict() for w in result.withheld],
            "next": result.next,
        }

    async def _ask(
        self, provider: AgencyEntry, url: str, ask: Ask
    ) -> tuple[ExchangeResult, SignedExchange]:
        """Sign ``ask``, send it to ``provider``'s gateway at ``url``, open and verify the
        answer; ApiError with the provider's code if it refuses."""
        assert self.encryption_key is not None
        signed = sign_exchange(self.chain.agency_key, self.domain, self.chain.agency_id, ask)
        status, body = await self._deliver(f"{url}/v1/exchange/requests", signed, provider.name)
        if status != 200:
            self.metrics.exchange_queries.labels("refused").inc()
            code, message = _error_of(status, body)
            raise ApiError(
                status if 400 <= status < 500 else 502,
                code,
                f"agency {provider.name} refused: {message}",
            )
        try:
            key, verify = self.encryption_key, self.verifiers().verify
            result = await _on_loop_unless_waiting(
                lambda: open_answer(signed, self.domain, orjson.loads(body), key, verify)
            )
        except (LedgerValueError, ValueError) as exc:
            self.metrics.exchange_queries.labels("failed").inc()
            raise ApiError(502, "bad_answer", f"agency {provider.name}'s answer: {exc}") from None
        self.metrics.exchange_queries.labels("verified").inc()
        return result, signed

    async def _ask_every_page(self, provider: AgencyEntry, url: str, ask: Ask) -> list[Verified]:
        """The verified facts of every page of the answer to ``ask``, each page its own
        request (and the provider's disclosure record)."""
        facts: list[Verified] = []
        while True:
            result, _ = await self._ask(provider, url, ask)
            facts.extend(result.verified)
            if result.next is None:
                return facts
            ask = replace(ask, after=result.next)

    # -- the taxpayer portal ------------------------------------------------------------------

    async def disclosures(self, taxpayer: str | None, invoice: str | None) -> dict[str, Any]:
        """``GET /v1/disclosures``: every disclosure about a subject across the consortium —
        this gateway's own, and each other member's, asked through the exchange (for the
        taxpayer portal, as the read policy allows) — each verified against the chain."""
        kind, identifier = _subject(taxpayer, invoice)
        if self.encryption_key is None or self.directory is None:
            raise _not_configured(self.chain.name)
        assert self.chain.deployment is not None
        deployment = self.chain.deployment
        # A disclosure names the tag its request named: in any domain, under any key version.
        subjects = sorted(subject_tags_of(self.keyring, kind, identifier))
        facts = list(await run_in_threadpool(self._own_disclosures, subjects))
        others = [
            (deployment.agency(name), url)
            for name, url in sorted(self.directory.gateways.items())
            if name != self.chain.name
        ]
        asks = [(agency, url, subject) for agency, url in others for subject in subjects]
        asked = await asyncio.gather(
            *(
                self._ask_every_page(
                    agency,
                    url,
                    Ask(agency.agency_id, subject, (DISCLOSURE_MADE,), Purpose.TAXPAYER_PORTAL),
                )
                for agency, url, subject in asks
            ),
            return_exceptions=True,
        )
        unavailable = []
        for (agency, _, _), outcome in zip(asks, asked, strict=True):
            if isinstance(outcome, ApiError):
                if outcome.rejection.code != "unknown_subject":  # it disclosed nothing
                    unavailable.append({"agency": agency.name, "code": outcome.rejection.code})
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                facts.extend(outcome)
        names = {a.agency_id: a.name for a in deployment.agencies}
        entries = disclosures_about(facts, subjects, lambda i: names.get(i, f"agency {i}"))
        return {
            "subject_tags": [to_hex(subject) for subject in subjects],
            "disclosures": [entry.to_json() for entry in entries],
            "unavailable": unavailable,
        }

    def _own_disclosures(self, subjects: list[bytes]) -> list[Verified]:
        self.outbox.exchanges.index_anchored()
        verify = self.verifiers().verify
        schema_of = self.outbox.records.schema_of
        facts = []
        for subject in subjects:
            for seq, record_id in self.outbox.exchanges.ids_about(subject):
                stored = (
                    self.outbox.record(record_id) if schema_of(seq) == DISCLOSURE_MADE else None
                )
                if stored is not None and stored.batch is not None:
                    bundle = stored_bundle(self.chain, self.outbox, stored, self.keyring)
                    facts.append(verify(bundle))
        return facts

    async def _deliver(self, url: str, signed: SignedExchange, provider: str) -> tuple[int, bytes]:
        """POST the signed request; a retry after a transport failure sends the same bytes
        (its nonce makes it idempotent at the provider)."""
        body = orjson.dumps(signed.to_dict())
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                return await self._peers.post(url, body)
            except (PeerError, TimeoutError) as exc:
                if attempt + 1 == DELIVERY_ATTEMPTS:
                    self.metrics.exchange_queries.labels("failed").inc()
                    raise ApiError(
                        502,
                        "provider_unreachable",
                        f"agency {provider}'s gateway at {url} did not answer: "
                        + (
                            f"no answer within {DELIVERY_TIMEOUT:g} s"
                            if isinstance(exc, TimeoutError)
                            else str(exc)
                        ),
                    ) from None
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")


async def _on_loop_unless_waiting(work: Callable[[], T]) -> T:
    """``work()`` on the event loop if what it reads of the chain is cached (a few
    hundred microseconds of CPU: a hop to a worker thread and back would cost about as much,
    and a turn waiting for the GIL far more); in a worker thread if it has to ask the node
    (once a block or so), so the loop never waits on the node."""
    try:
        with no_waiting():
            return work()
    except WouldWait:
        return await run_in_threadpool(work)


def _not_configured(agency: str) -> ApiError:
    return ApiError(
        409,
        "exchange_not_configured",
        f"gateway {agency} has no encryption_key_file or directory_file in its settings; both "
        "are needed to ask other agencies",
    )


def _subject(taxpayer: str | None, invoice: str | None) -> tuple[str, str]:
    if (taxpayer is None) == (invoice is None):
        raise ApiError(
            422, "invalid_request", "give the subject as exactly one of taxpayer or invoice"
        )
    if taxpayer is not None:
        if not is_valid_uscc(taxpayer):
            raise ApiError(
                422,
                "invalid_request",
                f"taxpayer {taxpayer!r} is not a valid unified social credit code",
                (("taxpayer", "uscc_format", "not a valid USCC"),),
            )
        return "taxpayer", taxpayer
    assert invoice is not None
    problem = invoice_number_problem(invoice, None)
    if problem is not None:
        raise ApiError(
            422,
            "invalid_request",
            f"invoice {invoice!r}: {problem[1]}",
            (("invoice", problem[0], problem[1]),),
        )
    return "invoice", invoice


def _error_of(status: int, body: bytes) -> tuple[str, str]:
    try:
        error = orjson.loads(body)["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return "provider_failed", f"HTTP {status}"
