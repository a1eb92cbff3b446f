"""The gateway's operations, independent of HTTP: submit, read, prove, revoke, report health.

Submitting runs in the event loop: a single record is checked inline (a hundred
microseconds) and a bulk body in a preparation worker process, and both wait for the
outbox's group commit without a thread of their own. The other operations read SQLite and
run in a worker thread. Routes turn the ``(status, body)`` they return into responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from gateway.apikeys import ApiKeyring
from gateway.batcher import Batcher
from gateway.connection import AgencyChain
from gateway.errors import ApiError
from gateway.exchange import ExchangeService
from gateway.ingest import (
    BulkChunk,
    Ingestor,
    Rejection,
    invalid_request,
    parse_body,
    pydantic_problems,
    receipt_body,
    receipt_of_row,
)
from gateway.metrics import GatewayMetrics
from gateway.models import RevokeCreate
from gateway.outbox import Outbox, Outcome, Receipt, StoredRecord
from gateway.preparers import Preparers
from gateway.profiling import Timings
from gateway.proofs import NotDisclosable, stored_bundle
from ledger_node.bundle import to_hex
from ledger_node.commitment import reason_commitment, reason_salt
from ledger_node.fieldtree import FieldPathError, parse_field_paths

Answer = tuple[int, dict[str, Any]]

_STATUS = {Outcome.ACCEPTED: 202, Outcome.DUPLICATE: 200, Outcome.CONFLICT: 409}


def _conflict(record_id: str, earlier: Receipt, path: str) -> Rejection:
    return Rejection(
        409,
        "id_conflict",
        f"id {record_id!r} was accepted before with a different record "
        f"({earlier.schema}, record hash {to_hex(earlier.record_hash)}); a new record needs "
        "a new id, and a correction is a revocation plus a new record",
        ((path, "id_conflict", "id already used for another record"),),
    )


@dataclass
class Gateway:
    """One agency's gateway: outbox, intake, batcher, keys and metrics."""

    chain: AgencyChain
    outbox: Outbox
    ingestor: Ingestor
    preparers: Preparers
    batcher: Batcher
    keys: ApiKeyring
    metrics: GatewayMetrics
    #: Seconds without a finished batcher pass after which the node counts as hung.
    stale_after: float
    #: Bulk requests read and prepared at once (each holds its body and its rows).
    bulk_slots: asyncio.Semaphore
    #: Answering other agencies' requests and asking them.
    exchange: ExchangeService
    #: Where single accepts spend their time, when asked for (``gateway.profiling``).
    timings: Timings | None = None

    # -- submitting ------------------------------------------------------------------------

    async def submit_one(self, body: bytes) -> Answer:
        """``POST /v1/records``: 202 new, 200 re-post of the same record, 4xx refused."""
        started = time.perf_counter()
        parsed = parse_body(body)
        if type(parsed) is Rejection:
            raise ApiError.of(parsed)
        row = self.ingestor.prepare(parsed, None, time.time())
        if type(row) is Rejection:
            self.metrics.records_received.labels("rejected").inc()
            raise ApiError.of(row)
        stamps = None if self.timings is None else [started, time.perf_counter()]
        accepted = await self.outbox.accept_async([row], stamps=stamps)  # type: ignore[list-item]
        if stamps is not None and self.timings is not None:
            stamps.append(time.perf_counter())
            self.timings.single(row[0], stamps)  # type: ignore[index]
        self.metrics.accept_seconds.labels("single").observe(time.perf_counter() - started)
        if not accepted.others:
            self.metrics.records_received.labels("accepted").inc()
            return 202, receipt_body(receipt_of_row(row))  # type: ignore[arg-type]
        ((_, outcome, earlier),) = accepted.others
        self.metrics.records_received.labels(outcome.value).inc()
        if outcome is Outcome.CONFLICT:
            raise ApiError.of(_conflict(earlier.id, earlier, "id"))
        return _STATUS[outcome], receipt_body(earlier)

    async def submit_bulk(self, body: bytes) -> tuple[int, bytes]:
        """``POST /v1/records:bulk``: every valid item is committed (a chunk at a time, each
        as soon as it is checked) before the answer.

        Answers the JSON bytes of a :class:`~gateway.models.BulkResult`: the items' results
        come rendered from the preparation, and only duplicates and conflicts are re-done.
        """
        started = time.perf_counter()
        parts: list[bytes] = []
        counts = {"accepted": 0, "duplicate": 0, "conflict": 0}
        refused = 0
        async with contextlib.aclosing(self.preparers.prepare_bulk(body, time.time())) as chunks:
            async for chunk in chunks:
                if type(chunk) is Rejection:
                    raise ApiError.of(chunk)
                assert isinstance(chunk, BulkChunk)
                accepted = await self.outbox.accept_async(chunk.rows)
                counts["accepted"] += accepted.new
                for k, outcome, earlier in accepted.others:
                    counts[outcome.value] += 1
                    index = chunk.positions[k]
                    record_id = chunk.rows[k][0]
                    result: dict[str, Any] = {
                        "index": index,
                        "id": record_id,
                        "status": _STATUS[outcome],
                    }
                    if outcome is Outcome.CONFLICT:
                        path = f"records[{index}].id"
                        result["error"] = _conflict(record_id, earlier, path).body()
                    else:
                        result["receipt"] = receipt_body(earlier)
                    chunk.parts[index - chunk.start] = orjson.dumps(result)
                parts.extend(chunk.parts)
                refused += sum(chunk.refused.values())
        for outcome_name, n in (*counts.items(), ("rejected", refused)):
            if n:
                self.metrics.records_received.labels(outcome_name).inc(n)
        if counts["accepted"] >= self.batcher.batch_size:
            self.batcher.notify()
        self.metrics.accept_seconds.labels("bulk").observe(time.perf_counter() - started)
        head = b'{"accepted":%d,"duplicates":%d,"rejected":%d,"results":[' % (
            counts["accepted"],
            counts["duplicate"],
            refused + counts["conflict"],
        )
        return 200, b"".join((head, b",".join(parts), b"]}"))

    # -- reading ---------------------------------------------------------------------------

    def _stored(self, record_id: str) -> StoredRecord:
        stored = self.outbox.record(record_id)
        if stored is None:
            raise ApiError(404, "not_found", f"no record with id {record_id!r} at this gateway")
        return stored

    def record_public(self, record_id: str) -> dict[str, Any]:
        """``GET /v1/records/{id}``: status, anchor and revocation."""
        return self._public(self._stored(record_id))

    def _public(self, stored: StoredRecord) -> dict[str, Any]:
        body = receipt_body(
            Receipt(
                stored.id,
                stored.schema,
                stored.record_hash,
                stored.commitment,
                stored.leaf,
                stored.accepted_at,
                stored.status,
            )
        )
        body["subjects"] = [to_hex(tag) for tag in stored.subjects]
        batch = stored.batch
        body["anchor"] = None
        if batch is not None:
            body["anchor"] = {
                "root": to_hex(batch.root),
                "leaf_index": stored.leaf_index,
                "batch_size": batch.count,
                "chain_id": self.chain.ledger.chain_id,
                "ledger": self.chain.ledger.address,
                "agency_id": self.chain.agency_id,
                "signer": self.chain.agency_key.address,
                "tx_hash": to_hex(batch.write.tx_hash),
                "block_number": batch.block_number,
            }
        revocation = stored.revocation
        body["revocation"] = None
        if revocation is not None:
            body["revocation"] = {
                "reason": revocation.reason,
                # What a verifier needs to show the reason: the on-chain value is salted.
                "reason_salt": to_hex(reason_salt(stored.salt)),
                "reason_commitment": to_hex(revocation.reason_hash),
                "status": revocation.status.value,
                "tx_hash": None if revocation.write is None else to_hex(revocation.write.tx_hash),
                "block_number": revocation.block_number,
                "error": revocation.last_error,
            }
        return body

    def proof(self, record_id: str, fields: str | None = None) -> dict[str, Any]:
        """``GET /v1/records/{id}/proof[?fields=...]``: the record's bundle once anchored —
        ``taxledger.proof/v2``, whole or showing only ``fields`` (a record accepted by an
        earlier, v1 gateway: its ``taxledger.proof/v1`` bundle, whole only)."""
        stored = self._stored(record_id)
        batch = stored.batch
        if batch is None or batch.block_number is None:
            raise ApiError(
                409,
                "not_anchored",
                f"record {record_id!r} is not anchored yet; ask again once its status is "
                "anchored (batches are cut every few seconds)",
            )
        paths = None
        if fields is not None:
            try:
                paths = parse_field_paths(fields)
            except FieldPathError as exc:
                raise ApiError(
                    422, "invalid_fields", str(exc), (("fields", "field_path", exc.reason),)
                ) from None
        try:
            bundle = stored_bundle(self.chain, self.outbox, stored, self.ingestor.keyring, paths)
        except NotDisclosable as exc:
            raise ApiError(409, "not_disclosable", f"{exc}; ask without fields") from None
        except FieldPathError as exc:
            raise ApiError(
                422, "invalid_fields", str(exc), (("fields", "field_path", exc.reason),)
            ) from None
        return bundle.to_dict()

    # -- revoking --------------------------------------------------------------------------

    def revoke(self, record_id: str, body: object) -> Answer:
        """``POST /v1/records/{id}/revoke``: 202 once the revocation is queued."""
        try:
            request = RevokeCreate.model_validate(body)
        except ValidationError as exc:
            raise ApiError.of(invalid_request(pydantic_problems(exc.errors()))) from None
        stored = self._stored(record_id)
        if stored.batch is None or stored.batch.block_number is None:
            raise ApiError(
                409,
                "not_anchored",
                f"record {record_id!r} is not anchored yet; a revocation needs its batch on "
                "chain, so ask again once its status is anchored",
            )
        outcome, revocation = self.outbox.revocations.request(
            record_id, request.reason, reason_commitment(request.reason, reason_salt(stored.salt))
        )
        if outcome is Outcome.CONFLICT:
            raise ApiError(
                409,
                "revocation_conflict",
                f"record {record_id!r} is being revoked already, for: {revocation.reason!r}",
                (("reason", "revocation_conflict", "a revocation with another reason exists"),),
            )
        self.batcher.notify()
        return _STATUS[outcome], self.record_public(record_id)

    # -- health ----------------------------------------------------------------------------

    def problem(self) -> str | None:
        """Why the gateway is degraded (None: it is not). Degraded, it still accepts records
        durably; it signs and sends nothing until the node is back on the right chain."""
        return self.batcher.status.degraded(self.stale_after)

    def health(self) -> dict[str, Any]:
        """``GET /healthz`` with a key: the status, the chain as last seen, the outbox."""
        status = self.batcher.status
        problem = self.problem()
        return {
            "status": "ok" if problem is None else "degraded",
            "agency": self.chain.name,
            "agency_id": self.chain.agency_id,
            "chain": {
                "reachable": status.reachable,
                "block_number": status.block_number,
                "problem": problem,
            },
            "records": self.outbox.counts(),
        }
