"""The FastAPI application of one agency's gateway."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from gateway.apikeys import ApiKeyring
from gateway.batcher import Batcher
from gateway.connection import AgencyChain, connect_agency
from gateway.deps import Reader
from gateway.errors import BodyGuard, answer_failure, install_handlers, json_response
from gateway.exchange import ExchangeService
from gateway.ingest import Ingestor
from gateway.metrics import GatewayMetrics
from gateway.models import DOCUMENTED_REQUESTS
from gateway.outbox import Outbox
from gateway.preparers import Preparers
from gateway.profiling import timings
from gateway.routes import disclosures, exchange, health, records
from gateway.service import Gateway
from gateway.settings import GatewaySettings, load_secrets
from ledger_node.errors import ConfigurationError
from ledger_node.exchange.directory import Directory
from ledger_node.keyring import check_registered, registered_on
from ledger_node.keys import EncryptionKey
from ledger_node.tagging import Keyring

#: Seconds beyond the RPC deadline before a batcher pass still running counts as hung.
_STALE_MARGIN = 2.0
#: Longest a thread of the gateway holding the GIL keeps another waiting for it (Python's
#: default is 5 ms). A single record's accept takes the GIL several times on the event loop
#: while the committer and the batcher want it too; at 5 ms a turn, those waits made most of
#: a single's latency during a bulk load.
SWITCH_INTERVAL = 0.0005


def settle_process() -> None:
    """Ready a process that serves one gateway (``taxledger gateway serve``, once its app is
    built): what was built until now (modules, the app, its keys) leaves the cyclic
    collector's view, so a full collection scans only what requests made since (scanning
    everything stopped the event loop for up to 90 ms at a time under a bulk load); and the
    GIL changes hands every :data:`SWITCH_INTERVAL`. Not for a process that builds many apps
    (tests): what is frozen is never collected."""
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL)


Endpoint = Callable[[Request], Awaitable[Response]]


class GatewayApp(FastAPI):
    """The gateway's FastAPI app, with a few hot routes called straight from the ASGI call.

    The exchange's two routes (``POST /v1/exchange/queries`` and ``/requests``) take raw
    bodies and answer raw bytes; what FastAPI adds around an endpoint (its middleware stack,
    route matching, dependency solving) cost them about a third of their CPU time. A request
    for one of ``direct``'s paths goes to its endpoint through the same :class:`BodyGuard`,
    with failures answered as :func:`gateway.errors.install_handlers` answers them; every
    other request, and the OpenAPI schema, are FastAPI's as declared."""

    def __init__(
        self, *, direct: Mapping[str, Endpoint], limit: int, timeout: float, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._direct = dict(direct)
        self._guarded = BodyGuard(self._call_direct, limit=limit, timeout=timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in self._direct
            and not self.root_path
        ):
            scope["app"] = self
            await self._guarded(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _call_direct(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._direct[scope["path"]](request)
        except Exception as exc:
            response = await answer_failure(request, exc)
        await response(scope, receive, send)


def build_gateway(
    settings: GatewaySettings,
    *,
    chain: AgencyChain | None = None,
    keyring: Keyring | None = None,
    encryption_key: EncryptionKey | None = None,
) -> Gateway:
    """Open the outbox and keys and connect to the chain (not started yet).

    ``chain`` is an already connected agency with its ``keyring`` and, if it takes part in
    the exchange, its ``encryption_key`` (several gateways in one process on one embedded
    chain); without it the keystores, encryption key and keyring are decrypted and the chain
    is connected from the settings. The keyring must hold only key versions the ledger
    registered. Raises ConfigurationError for a missing or weak secret.
    """
    keys = ApiKeyring(settings.api_keys)
    if chain is None:
        secrets = load_secrets(settings)
        keyring = secrets.keyring
        encryption_key = secrets.encryption_key
        chain = connect_agency(
            settings.chain,
            None if settings.deployment is None else str(settings.deployment),
            settings.agency,
            secrets.agency_key,
            secrets.sender_key,
            rpc_timeout=settings.rpc_timeout,
        )
    elif keyring is None:
        raise ConfigurationError("a gateway handed its chain must be handed its keyring too")
    check_registered(keyring, registered_on(chain.ledger))
    outbox = Outbox(settings.database, settings.sqlite_synchronous)
    outbox.bind(
        {
            "chain_id": str(chain.ledger.chain_id),
            "ledger": chain.ledger.address,
            "agency": chain.agency_key.address.lower(),
        }
    )
    metrics = GatewayMetrics(outbox.counts)
    batcher = Batcher(
        outbox,
        chain,
        metrics,
        batch_size=settings.batch_size,
        batch_interval=settings.batch_interval_ms / 1000,
        confirmations=settings.confirmations,
    )
    ingestor = Ingestor(chain.name, chain.kind, keyring)
    preparers = Preparers(ingestor, settings.workers)
    directory = None
    if settings.directory_file is not None:
        directory = Directory.load(
            settings.directory_file, chain_id=chain.ledger.chain_id, ledger=chain.ledger.address
        )
    exchange = ExchangeService(
        chain,
        outbox,
        ingestor,
        metrics,
        keyring,
        encryption_key,
        directory,
        settings.exchange_page_facts,
    )
    return Gateway(
        chain,
        outbox,
        ingestor,
        preparers,
        batcher,
        keys,
        metrics,
        stale_after=settings.rpc_timeout + _STALE_MARGIN,
        bulk_slots=asyncio.Semaphore(max(settings.workers, 1) + 1),
        exchange=exchange,
        timings=timings(),
    )


def create_app(
    settings: GatewaySettings,
    *,
    chain: AgencyChain | None = None,
    keyring: Keyring | None = None,
    encryption_key: EncryptionKey | None = None,
) -> GatewayApp:
    """The gateway's app; its batcher runs while the app does (lifespan)."""
    gateway = build_gateway(settings, chain=chain, keyring=keyring, encryption_key=encryption_key)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gateway.preparers.start()
        gateway.batcher.start()
        watch = (
            None if gateway.timings is None else asyncio.ensure_future(gateway.timings.watch_loop())
        )
        try:
            yield
        finally:
            if watch is not None:
                watch.cancel()
            await gateway.exchange.close()
            gateway.batcher.stop()
            await gateway.preparers.stop()
            gateway.outbox.close()
            if gateway.timings is not None:
                gateway.timings.close()

    # No /docs or /redoc: they load their pages' scripts from a CDN. The schema itself is
    # served to key holders below; any OpenAPI viewer renders it.
    app = GatewayApp(
        direct=exchange.DIRECT,
        limit=settings.max_body_bytes,
        timeout=settings.body_timeout,
        title=f"taxledger gateway: {gateway.chain.name}",
        summary="Accepts, batches, signs and anchors an agency's records on the ledger.",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # No OpenTelemetry: the gateway has its own /metrics, and the check whether a
        # provider is configured costs environment look-ups on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gateway = gateway
    install_handlers(app)
    app.include_router(records.router)
    app.include_router(exchange.router)
    app.include_router(disclosures.router)
    app.include_router(health.router)
    app.add_middleware(BodyGuard, limit=settings.max_body_bytes, timeout=settings.body_timeout)

    def openapi() -> dict[str, Any]:
        # The record routes parse their bodies by hand; their models join the schema here.
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            _, defs = models_json_schema(
                [(model, "validation") for model in DOCUMENTED_REQUESTS],
                ref_template="#/components/schemas/{model}",
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_schema(_: Reader) -> Response:
        """The OpenAPI schema of this API, for holders of a read key."""
        return json_response(200, app.openapi())

    return app
