"""``/v1/records``: submit one or many records, read them, get their proofs, revoke them.

Bodies are read here and parsed with orjson and checked by :mod:`gateway.ingest` (a bulk
request holds up to 10,000 records: FastAPI's own body parsing and response encoding would
cost more than the validation itself; a bulk body goes whole to a preparation worker
process); the OpenAPI schema still documents them. The writing routes authenticate
without FastAPI's dependency solving (:func:`gateway.deps.admitted`): for a single record it
was a third of the gateway's CPU time per request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gateway.apikeys import Role
from gateway.deps import BEARER_SECURITY, GatewayDep, Reader, admitted
from gateway.errors import json_response, parse_json, require_json
from gateway.models import (
    BulkResult,
    ErrorResponse,
    RecordBulkCreate,
    RecordCreate,
    RecordPublic,
    RecordReceipt,
    RevokeCreate,
)

router = APIRouter(prefix="/v1/records", tags=["records"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 408, 409, 413, 415, 422)
}


def _body(model: type[Any]) -> dict[str, Any]:
    return {
        **BEARER_SECURITY,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        },
    }


@router.post(
    "",
    status_code=202,
    response_model=RecordReceipt,
    responses={200: {"model": RecordReceipt, "description": "Accepted before"}, **_ERRORS},
    openapi_extra=_body(RecordCreate),
    summary="Submit one record",
)
async def create_record(request: Request) -> Response:
    """Validate and commit one record: 202 once it is on disk, 200 for the same record
    re-posted under its id, 409 for another record under that id."""
    gateway, _ = await admitted(request, Role.SUBMIT)
    require_json(request)
    status, answer = await gateway.submit_one(await request.body())
    return json_response(status, answer)


@router.post(
    ":bulk",
    response_model=BulkResult,
    responses=_ERRORS,
    openapi_extra=_body(RecordBulkCreate),
    summary="Submit up to 10,000 records",
)
async def create_records(request: Request) -> Response:
    """Validate every item and commit the valid ones in one transaction; each item's
    ``status`` is what a single POST would have answered."""
    gateway, _ = await admitted(request, Role.SUBMIT)
    require_json(request)
    # Bounded: a waiting request's body stays with the client (TCP holds it back) instead of
    # in the gateway's memory, so concurrent bulk posts cannot exhaust it.
    async with gateway.bulk_slots:
        status, answer = await gateway.submit_bulk(await request.body())
    return Response(answer, status, media_type="application/json")


@router.get("/{record_id}", response_model=RecordPublic, responses=_ERRORS, summary="Read a record")
async def read_record(record_id: str, gateway: GatewayDep, _: Reader) -> Response:
    """A record's status (accepted → anchored → final, or revoked) and its anchor."""
    return json_response(200, await run_in_threadpool(gateway.record_public, record_id))


@router.get(
    "/{record_id}/proof",
    responses={
        200: {
            "description": "A taxledger.proof/v2 bundle (ledger_node/bundle-v2.schema.json), "
            "or v1 (ledger_node/bundle.schema.json) for a record an earlier gateway accepted"
        },
        **_ERRORS,
    },
    summary="Get a record's proof bundle, whole or showing only some fields",
)
async def read_proof(
    record_id: str,
    gateway: GatewayDep,
    _: Reader,
    fields: Annotated[
        str | None,
        Query(
            description="Comma-separated field paths to show (seller.tax_id,total, "
            "settles[].invoice_number, lines[0], *); every other field is a digest. "
            "A path that names no field of the record is a 422 naming it.",
            max_length=4096,
        ),
    ] = None,
) -> Response:
    """The proof bundle that lets anyone check the record, or the fields shown, against the
    chain."""
    return json_response(200, await run_in_threadpool(gateway.proof, record_id, fields))


@router.post(
    "/{record_id}/revoke",
    status_code=202,
    response_model=RecordPublic,
    responses={200: {"model": RecordPublic, "description": "Asked before"}, **_ERRORS},
    openapi_extra=_body(RevokeCreate),
    summary="Revoke an anchored record",
)
async def revoke_record(record_id: str, request: Request) -> Response:
    """Queue the revocation of the record's leaf, signed by the agency key."""
    gateway, _ = await admitted(request, Role.REVOKE)
    require_json(request)
    body = parse_json(await request.body())
    status, answer = await run_in_threadpool(gateway.revoke, record_id, body)
    return json_response(status, answer)
