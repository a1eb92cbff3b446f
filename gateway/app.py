"""The FastAPI application of one agency's gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from gateway.apikeys import ApiKeyring
from gateway.batcher import Batcher
from gateway.connection import AgencyChain, connect_agency
from gateway.errors import BodyLimit, install_handlers
from gateway.ingest import Ingestor
from gateway.metrics import GatewayMetrics
from gateway.models import DOCUMENTED_REQUESTS
from gateway.preparers import Preparers
from gateway.routes import health, records
from gateway.service import Gateway
from gateway.settings import GatewaySettings, load_secrets, read_consortium_key
from gateway.store import Store


def build_gateway(settings: GatewaySettings, *, chain: AgencyChain | None = None) -> Gateway:
    """Open the outbox and keys and connect to the chain (not started yet).

    ``chain`` is an already connected agency (several gateways in one process on one
    embedded chain); without it the keystores are decrypted and the chain is connected
    from the settings. Raises ConfigurationError for a missing or weak secret.
    """
    keys = ApiKeyring(settings.api_keys)
    if chain is None:
        secrets = load_secrets(settings)
        consortium_key = secrets.consortium_key
        chain = connect_agency(
            settings.chain,
            None if settings.deployment is None else str(settings.deployment),
            settings.agency,
            secrets.agency_key,
            secrets.sender_key,
        )
    else:
        consortium_key = read_consortium_key(settings.consortium_key_file)
    store = Store(settings.database, settings.sqlite_synchronous)
    store.bind(chain.ledger.chain_id, chain.ledger.address, chain.agency_key.address)
    metrics = GatewayMetrics(store.counts)
    batcher = Batcher(
        store,
        chain,
        metrics,
        batch_size=settings.batch_size,
        batch_interval=settings.batch_interval_ms / 1000,
        confirmations=settings.confirmations,
    )
    ingestor = Ingestor(chain.name, chain.kind, consortium_key)
    preparers = Preparers(ingestor, consortium_key, settings.workers)
    return Gateway(chain, store, ingestor, preparers, batcher, keys, metrics)


def create_app(settings: GatewaySettings, *, chain: AgencyChain | None = None) -> FastAPI:
    """The gateway's app; its batcher runs while the app does (lifespan)."""
    gateway = build_gateway(settings, chain=chain)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gateway.preparers.start()
        gateway.batcher.start()
        try:
            yield
        finally:
            gateway.batcher.stop()
            await gateway.preparers.stop()
            gateway.store.close()

    app = FastAPI(
        title=f"taxledger gateway: {gateway.chain.name}",
        summary="Accepts, batches, signs and anchors an agency's records on the ledger.",
        version="1",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    install_handlers(app)
    app.include_router(records.router)
    app.include_router(health.router)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

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
    return app
