"""Prometheus metrics of one gateway, in its own registry (several gateways may share a process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _OutboxCollector(Collector):
    """Outbox depth, read from the database at scrape time so it is never stale."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "taxledger_gateway_outbox_records",
            "Records in the outbox by state (unbatched, pending, anchored, final).",
            labels=["state"],
        )
        counts = self._counts()
        for state in ("unbatched", "pending", "anchored", "final"):
            family.add_metric([state], counts.get(state, 0))
        yield family
        yield GaugeMetricFamily(
            "taxledger_gateway_open_batches",
            "Batches signed but not yet final.",
            value=counts.get("batches_open", 0),
        )


class GatewayMetrics:
    """The counters and histograms the gateway updates."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self.records_received = Counter(
            "taxledger_gateway_records_received",
            "Record items received, by outcome (accepted, duplicate, conflict, rejected).",
            ["outcome"],
            registry=self.registry,
        )
        self.records_anchored = Counter(
            "taxledger_gateway_records_anchored",
            "Records whose batch was mined.",
            registry=self.registry,
        )
        self.batches_anchored = Counter(
            "taxledger_gateway_batches_anchored",
            "Batches mined.",
            registry=self.registry,
        )
        self.batches_reanchored = Counter(
            "taxledger_gateway_batches_reanchored",
            "Batches whose root the ledger shows under another agency, schema or count; "
            "their records went to new batches.",
            registry=self.registry,
        )
        self.chain_errors = Counter(
            "taxledger_gateway_chain_errors",
            "Failed attempts to reach or write to the chain.",
            registry=self.registry,
        )
        self.accept_seconds = Histogram(
            "taxledger_gateway_accept_seconds",
            "Time to validate and commit one request's records.",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.anchor_seconds = Histogram(
            "taxledger_gateway_anchor_seconds",
            "Time from cutting a batch to seeing it mined.",
            buckets=(0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.exchange_refusals = Counter(
            "taxledger_gateway_exchange_refusals",
            "Exchange requests this gateway refused as provider, by reason code.",
            ["reason"],
            registry=self.registry,
        )
        self.disclosures = Counter(
            "taxledger_gateway_disclosures",
            "Exchange requests answered (each logged by a disclosure.made record), by whether "
            "the answer was new or a retry's stored one.",
            ["answer"],
            registry=self.registry,
        )
        self.exchange_queries = Counter(
            "taxledger_gateway_exchange_queries",
            "Queries of this agency's systems to other agencies, by outcome (verified, "
            "refused, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.exchange_seconds = Histogram(
            "taxledger_gateway_exchange_seconds",
            "Time to answer an exchange request (provider) or a query (requester).",
            ["side"],
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self.registry.register(_OutboxCollector(counts))
