"""Helpers of the exchange tests: the agencies' gateways started as real processes that
find each other through one consortium directory, and signed requests made by hand."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway_harness import Chain, GatewayProcess, wait_for, write_config

from gateway.apikeys import Role, add_key
from ledger_node.eip712 import Domain
from ledger_node.exchange.directory import Directory
from ledger_node.exchange.messages import SignedExchange
from ledger_node.exchange.requester import Ask, sign_exchange
from ledger_node.exchange.subjects import request_tag
from ledger_node.localnode import free_port
from ledger_node.purposes import Purpose
from ledger_node.records import samples
from ledger_node.records.schemas import TAX_RATING
from ledger_node.tagging import Keyring

AGENCIES = ("tax-bureau", "bank", "market-regulator")


@dataclass
class Exchange:
    """The gateways of a consortium on one chain, their shared tag key and directory."""

    chain: Chain
    gateways: dict[str, GatewayProcess]
    directory: Path

    @property
    def domain(self) -> Domain:
        deployment = self.chain.consortium.deployment
        return Domain(deployment.chain_id, deployment.ledger)

    def agency_id(self, name: str) -> int:
        return self.chain.consortium.deployment.agency(name).agency_id

    @property
    def keyring(self) -> Keyring:
        """Every domain key (what the tax bureau holds)."""
        return Keyring.of(self.chain.consortium.tag_keys)

    def tag(self, uscc: str, schemas: list[str] | None = None) -> bytes:
        """The taxpayer's tag a request for ``schemas`` names (ratings by default)."""
        return request_tag(self.keyring, "taxpayer", uscc, schemas or [TAX_RATING])

    def sign(
        self,
        requester: str,
        provider: str,
        uscc: str,
        schemas: list[str],
        purpose: Purpose,
        *,
        consent: bytes = bytes(32),
        key: str | None = None,
    ) -> SignedExchange:
        """A request of ``requester`` signed with ``key``'s agency key (its own by default)."""
        return sign_exchange(
            self.chain.consortium.keys[key or requester],
            self.domain,
            self.agency_id(requester),
            Ask(
                self.agency_id(provider), self.tag(uscc, schemas), tuple(schemas), purpose, consent
            ),
        )

    def submit_anchored(self, agency: str, schema: str, record_id: str, record: Any) -> str:
        """Post a record to ``agency``'s gateway and wait until it is anchored; its
        commitment."""
        gateway = self.gateways[agency]
        response = gateway.post(
            "/v1/records", {"schema": schema, "id": record_id, "record": record}
        )
        assert response.status_code == 202, response.text
        wait_for(
            lambda: gateway.get(f"/v1/records/{record_id}").json()["status"] != "accepted",
            60,
            f"record {record_id} anchored",
        )
        commitment: str = response.json()["commitment"]
        return commitment


def start_exchange(chain: Chain, directory: Path, **overrides: Any) -> Exchange:
    """Start the gateways of :data:`AGENCIES`, each with its encryption key file and
    keyring (see :func:`gateway_harness.write_config`) and a directory naming them all."""
    directory.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in AGENCIES}
    deployment = chain.consortium.deployment
    directory_file = directory / "directory.json"
    Directory.loopback(deployment.chain_id, deployment.ledger, ports).save(directory_file)
    gateways: dict[str, GatewayProcess] = {}
    try:
        for name in AGENCIES:
            folder = directory / name
            folder.mkdir()
            config = write_config(
                folder,
                chain,
                name,
                ports[name],
                directory_file=str(directory_file),
                batch_interval_ms=200,
                confirmations=1,
                **overrides,
            )
            keys_file = folder / "api-keys.json"
            keys = {
                "all": add_key(keys_file, "all", frozenset(Role)),
                "read": add_key(keys_file, "reader", frozenset({Role.READ})),
                "submit": add_key(keys_file, "submitter", frozenset({Role.SUBMIT})),
            }
            gateway = GatewayProcess(config, ports[name], folder / "gateway.log", keys)
            gateways[name] = gateway
            gateway.start()
    except BaseException:
        for gateway in gateways.values():
            gateway.stop()
        raise
    return Exchange(chain, gateways, directory_file)


def rating_with_consent(exchange: Exchange, seed: int) -> tuple[str, dict[str, Any], str, str]:
    """A company's tax rating and its consent for the bank, both anchored at the tax
    bureau: ``(uscc, rating, rating commitment, consent commitment)``."""
    rng = random.Random(seed)
    (rating,) = samples.generate("credit.tax-rating/v1", 1, seed=seed)
    uscc = rating["uscc"]
    granted = datetime.datetime.now(samples.CHINA_TIME) - datetime.timedelta(hours=1)
    consent = samples.consent(rng, uscc, "bank", granted.replace(microsecond=0))
    rating_c = exchange.submit_anchored("tax-bureau", "credit.tax-rating/v1", f"rt-{seed}", rating)
    consent_c = exchange.submit_anchored("tax-bureau", "consent.granted/v1", f"cs-{seed}", consent)
    return uscc, rating, rating_c, consent_c
