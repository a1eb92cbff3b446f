"""``/healthz`` (status for anyone, details with a key) and ``/metrics`` (with a key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from gateway.deps import GatewayDep, MaybeReader, Reader
from gateway.errors import json_response
from gateway.models import Health, HealthStatus

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health | HealthStatus,
    summary="Liveness; with a read key, the chain and outbox too",
)
async def healthz(gateway: GatewayDep, key: MaybeReader) -> Response:
    """``ok``, or ``degraded`` (still accepting records) while the gateway cannot write to
    its chain. Without a key only the status: a load balancer needs no more, and the
    outbox's depth and the chain's state are the operator's business."""
    if key is None:
        return json_response(200, {"status": "ok" if gateway.problem() is None else "degraded"})
    return json_response(200, await run_in_threadpool(gateway.health))


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
async def metrics(gateway: GatewayDep, _: Reader) -> Response:
    """The gateway's metrics in the Prometheus text format (scrape with a read key as a
    bearer token)."""
    text = await run_in_threadpool(generate_latest, gateway.metrics.registry)
    return Response(text, media_type=CONTENT_TYPE_LATEST)
