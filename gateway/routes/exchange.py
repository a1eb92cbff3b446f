"""``/v1/exchange``: this agency's systems ask another agency (``queries``, with an API key);
another agency's gateway asks this one (``requests``, authenticated by its signature)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.apikeys import Role
from gateway.deps import BEARER_SECURITY, admitted, get_gateway
from gateway.errors import json_response, parse_json, require_json
from gateway.models import ErrorResponse, ExchangeQueryCreate

router = APIRouter(prefix="/v1/exchange", tags=["exchange"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse}
    for status in (400, 401, 403, 404, 408, 409, 413, 415, 422, 502)
}


@router.post(
    "/queries",
    responses=ERRORS,
    openapi_extra={
        **BEARER_SECURITY,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{ExchangeQueryCreate.__name__}"}
                }
            },
        },
    },
    summary="Ask another agency for the facts about a subject",
)
async def create_query(request: Request) -> Response:
    """Sign a request with the agency key, send it to the provider's gateway, open its
    answer and verify every fact against the chain: the verified facts, and any bundle that
    failed with its check number. A refusal comes back with the provider's reason code."""
    gateway, _ = await admitted(request, Role.QUERY)
    require_json(request)
    status, answer = await gateway.exchange.query(parse_json(await request.body()))
    return json_response(status, answer)


@router.post(
    "/requests",
    responses={
        200: {"description": "A taxledger.exchange-sealed/v1 answer"},
        **ERRORS,
    },
    summary="Answer another agency's signed request (gateway to gateway)",
)
async def answer_request(request: Request) -> Response:
    """Authenticated by the request's EIP-712 signature, not by an API key: checked against
    the chain, then answered with the facts sealed to the requester's registered key; every
    answer is logged by a disclosure.made record committed before it is sent."""
    gateway = await get_gateway(request)
    require_json(request)
    status, answer = await gateway.exchange.answer(await request.body())
    return Response(answer, status, media_type="application/json")


#: The routes :class:`gateway.app.GatewayApp` calls without FastAPI's routing, by path.
DIRECT = {
    f"{router.prefix}/queries": create_query,
    f"{router.prefix}/requests": answer_request,
}
