"""``/healthz`` and ``/metrics``: open, for load balancers and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from gateway.deps import GatewayDep
from gateway.errors import json_response
from gateway.models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness and outbox depth")
async def healthz(gateway: GatewayDep) -> Response:
    """``ok``, or ``degraded`` (still accepting records) while the node is unreachable."""
    return json_response(200, await run_in_threadpool(gateway.health))


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
async def metrics(gateway: GatewayDep) -> Response:
    """The gateway's metrics in the Prometheus text format."""
    text = await run_in_threadpool(generate_latest, gateway.metrics.registry)
    return Response(text, media_type=CONTENT_TYPE_LATEST)
