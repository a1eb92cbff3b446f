"""The agency's view of the chain: the ledger client, the agency key and the gas payer."""

from __future__ import annotations

from dataclasses import dataclass

from ledger_node.agencies import AgencyKind
from ledger_node.chain.ledger import LedgerClient
from ledger_node.chain.rpc import EMBEDDED, connect
from ledger_node.deployment import Deployment
from ledger_node.errors import ConfigurationError
from ledger_node.keys import LocalKey


@dataclass(frozen=True)
class AgencyChain:
    """Everything a gateway needs to write for one agency on one ledger."""

    ledger: LedgerClient
    agency_key: LocalKey
    sender_key: LocalKey
    agency_id: int
    kind: AgencyKind
    name: str
    #: The deployment file's contents (the exchange verifies answers against its ledger).
    deployment: Deployment | None = None


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
        ledger,
        agency_key,
        sender_key or agency_key,
        entry.agency_id,
        entry.kind,
        entry.name,
        deployment,
    )


def connect_agency(
    chain: str,
    deployment_path: str | None,
    agency: str,
    agency_key: LocalKey,
    sender_key: LocalKey,
    *,
    rpc_timeout: float,
) -> AgencyChain:
    """The agency on the node at ``chain``, as the deployment file describes it.

    Nothing is asked of the node here: a gateway starts (and accepts records) while its node
    is down, and its batcher checks the node's chain before it writes anything.
    """
    if chain == EMBEDDED:
        raise ConfigurationError(
            "the embedded chain lives inside one process, so a gateway process cannot share "
            "it; give `chain` a node's JSON-RPC URL and `deployment` its deployment file "
            "(`taxledger testnet up` makes both), or run `taxledger demo`"
        )
    if deployment_path is None:
        raise ConfigurationError(f"chain {chain} needs a deployment file")
    deployment = Deployment.load(deployment_path)
    ledger = LedgerClient(
        connect(chain, timeout=rpc_timeout), deployment.ledger, deployment.chain_id
    )
    return for_deployment(ledger, deployment, agency, agency_key, sender_key)
