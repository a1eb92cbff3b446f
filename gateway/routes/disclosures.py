"""``/v1/disclosures``: who saw what about a taxpayer or an invoice, for the taxpayer portal."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from gateway.deps import GatewayDep, Portal
from gateway.errors import json_response
from gateway.routes.exchange import ERRORS

router = APIRouter(prefix="/v1/disclosures", tags=["exchange"])


@router.get("", responses=ERRORS, summary="Every disclosure about a subject")
async def list_disclosures(
    gateway: GatewayDep, _: Portal, taxpayer: str | None = None, invoice: str | None = None
) -> Response:
    """Every ``disclosure.made`` fact about the taxpayer (``?taxpayer=USCC``) or the invoice
    (``?invoice=N``) across the consortium — this gateway's own and, through the exchange,
    every other member's — each verified against the chain: who asked, who answered, when,
    for what purpose, under which consent. A member that could not be asked is listed under
    ``unavailable`` with its reason code."""
    return json_response(200, await gateway.exchange.disclosures(taxpayer, invoice))
