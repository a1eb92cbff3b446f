"""The agency's view of the chain: the ledger client, the agency key and the gas payer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ledger_node.agencies import AgencyKind
from ledger_node.chain.deploy import STANDARD_MEMBERS, found_consortium, fund_from_node
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import EMBEDDED, Rpc, connect
from ledger_node.deployment import Deployment
from ledger_node.errors import ConfigurationError
from ledger_node.keys import LocalKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgencyChain:
    """Everything a gateway needs to write for one agency on one ledger."""

    ledger: LedgerClient
    agency_key: LocalKey
    sender_key: LocalKey
    agency_id: int
    kind: AgencyKind
    name: str


def for_deployment(
    ledger: LedgerClient,
    deployment: Deployment,
    agency: str,
    agency_key: LocalKey,
    sender_key: LocalKey | None = None,
) -> AgencyChain:
    """The agency ``agency`` (name or id) of ``deployment``, checked against its key."""
    entry = deployment.agency(agency)
    if entry.key != agency_key.address:
        raise ConfigurationError(
            f"the keystore holds {agency_key.address}, but agency {entry.name} signs with "
            f"{entry.key} in the deployment file; give the agency's own keystore"
        )
    return AgencyChain(
        ledger, agency_key, sender_key or agency_key, entry.agency_id, entry.kind, entry.name
    )


def connect_agency(
    chain: str,
    deployment_path: str | None,
    agency: str,
    agency_key: LocalKey,
    sender_key: LocalKey,
) -> AgencyChain:
    """Connect to ``chain``: an RPC node with a deployment file, or the embedded chain.

    The embedded chain lives in this process only, so a gateway on it founds a fresh
    consortium at start in which the configured key is the agency ``agency`` (one of the
    standard members): enough for a quick start, gone when the process stops.
    """
    if chain != EMBEDDED:
        if deployment_path is None:
            raise ConfigurationError(f"chain {chain} needs a deployment file")
        deployment = Deployment.load(deployment_path)
        ledger = LedgerClient.from_deployment(connect(chain), deployment)
        return for_deployment(ledger, deployment, agency, agency_key, sender_key)
    names = [name for name, _ in STANDARD_MEMBERS]
    if agency not in names:
        raise ConfigurationError(
            f"on the embedded chain the agency must be one of {', '.join(names)}, not {agency!r}"
        )
    w3 = connect(EMBEDDED)
    founded = found_consortium(Rpc(w3), keys={agency: agency_key})
    ledger = LedgerClient.from_deployment(w3, founded.deployment)
    if sender_key.address != agency_key.address:
        fund_from_node(ledger.rpc, [sender_key.address])
    log.warning(
        "embedded chain: founded a throwaway ledger %s; it disappears when the gateway stops",
        ledger.address,
    )
    return for_deployment(ledger, founded.deployment, agency, agency_key, sender_key)
