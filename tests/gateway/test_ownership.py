"""A gateway takes an on-chain batch as its own only if agency, schema, root and count match
what it signed. Reproduced on a real anvil whose mining the test controls: the victim's
anchorBatch waits in the mempool, another signer reads it there and anchors the same root
first, with a higher tip; the victim's records still end final under its own agency, with
proofs that pass the real verifier."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode
from gateway_harness import (
    LOAD_SCHEMA,
    RECORDS,
    Chain,
    GatewayProcess,
    assert_final_exactly_once,
    found_chain,
    settled,
    wait_for,
)

from ledger_node.chain.transactions import GWEI, FeePolicy
from ledger_node.keys import LocalKey
from ledger_node.localnode import start_node
from ledger_node.records.schemas import SCHEMAS

pytestmark = pytest.mark.slow

COUNT = 6


@pytest.fixture
def manual_chain(tmp_path: Path) -> Iterator[Chain]:
    """A founded consortium on an anvil that mines only when the test says so."""
    node = start_node("anvil", block_time=1)
    try:
        chain = found_chain(node, tmp_path / "chain")
        chain.ledger.rpc.request("evm_setIntervalMining", [0])
        yield chain
    finally:
        node.stop()


def _mine(chain: Chain, blocks: int = 1) -> None:
    for _ in range(blocks):
        chain.ledger.rpc.request("evm_mine", [])


def _pending_anchor(chain: Chain, gateway: GatewayProcess, record_id: str) -> dict[str, Any]:
    """The victim's anchorBatch as anyone watching the node's mempool sees it."""

    def sent() -> str | None:
        anchor = gateway.get(f"/v1/records/{record_id}").json()["anchor"]
        return None if anchor is None else str(anchor["tx_hash"])

    tx_hash = wait_for(sent, 30, "the victim's batch to be signed and sent")
    tx = chain.ledger.rpc.request("eth_getTransactionByHash", [tx_hash])
    assert tx is not None and tx["blockNumber"] is None, "still in the mempool"
    (schema_id, root, count, _), _ = decode(
        ["(bytes32,bytes32,uint32,uint64)", "bytes"], bytes.fromhex(tx["input"][10:])
    )
    return {"tx_hash": tx_hash, "schema_id": schema_id, "root": root, "count": count}


def _post(gateway: GatewayProcess) -> set[str]:
    prefix = uuid.uuid4().hex[:8]
    items = [
        {"schema": LOAD_SCHEMA, "id": f"{prefix}-{i}", "record": RECORDS[i]} for i in range(COUNT)
    ]
    response = gateway.post("/v1/records:bulk", {"records": items})
    assert response.json()["accepted"] == COUNT
    return {item["id"] for item in items}  # type: ignore[misc]


def _front_run(
    chain: Chain, signer: LocalKey, relayer: LocalKey, root: bytes, schema_id: bytes, count: int
) -> None:
    """Anchor ``root`` signed by ``signer``, sent by ``relayer`` with a tip that puts it first
    in the block."""
    ledger = chain.ledger
    sender = ledger.sender(relayer)
    sender.fees = FeePolicy(tip=50 * GWEI)
    prepared = ledger.prepare_anchor(signer, schema_id=schema_id, root=root, count=count)
    sender.send(ledger.address, prepared.calldata, gas=200_000)


def _finish(chain: Chain, gateway: GatewayProcess) -> None:
    def mined_out() -> bool:
        _mine(chain)
        return settled(gateway)

    wait_for(mined_out, 60, "every record to be final", 0.3)


def test_another_member_anchoring_the_root_first_under_another_schema(
    manual_chain: Chain, start_gateway: Callable[..., GatewayProcess]
) -> None:
    chain = manual_chain
    gateway = start_gateway(chain, batch_size=COUNT, batch_interval_ms=60_000, confirmations=1)
    accepted = _post(gateway)
    seen = _pending_anchor(chain, gateway, sorted(accepted)[0])
    registration = SCHEMAS["registration.status/v1"].schema_id
    thief = chain.consortium.keys["market-regulator"]
    _front_run(chain, thief, thief, seen["root"], registration, 1)
    _mine(chain)
    _finish(chain, gateway)

    assert_final_exactly_once(gateway, chain, accepted)
    deployment = chain.consortium.deployment
    tax_bureau = deployment.agency("tax-bureau").agency_id
    thief_id = deployment.agency("market-regulator").agency_id
    for record_id in accepted:
        anchor = gateway.get(f"/v1/records/{record_id}").json()["anchor"]
        assert (anchor["agency_id"], anchor["root"]) == (tax_bureau, "0x" + seen["root"].hex())
    # The same root is two writes: the thief's under its own agency and schema, and the
    # honest one, which the thief could neither block nor take.
    ledger = chain.ledger
    stolen = ledger.batch(thief_id, seen["root"])
    honest = ledger.batch(tax_bureau, seen["root"])
    assert stolen is not None and (stolen.schema_id, stolen.count) == (registration, 1)
    assert honest is not None and (honest.schema_id, honest.count) == (seen["schema_id"], COUNT)
    assert "taxledger_gateway_batches_reanchored_total 0.0" in gateway.get("/metrics", "read").text


def test_a_conflicting_claim_signed_with_the_agency_key_is_re_anchored(
    manual_chain: Chain, start_gateway: Callable[..., GatewayProcess]
) -> None:
    chain = manual_chain
    gateway = start_gateway(chain, batch_size=COUNT, batch_interval_ms=60_000, confirmations=1)
    accepted = _post(gateway)
    seen = _pending_anchor(chain, gateway, sorted(accepted)[0])
    # Someone else holding the tax bureau's key anchors its root first, as one record, sent
    # from another account (any account may relay a signed write).
    keys = chain.consortium.keys
    _front_run(chain, keys["tax-bureau"], keys["auditor"], seen["root"], seen["schema_id"], 1)
    _mine(chain)
    _finish(chain, gateway)

    assert_final_exactly_once(gateway, chain, accepted)
    roots = {gateway.get(f"/v1/records/{r}").json()["anchor"]["root"] for r in accepted}
    assert len(roots) == 2 and "0x" + seen["root"].hex() not in roots  # two halves, new roots
    metrics = gateway.get("/metrics", role="read").text
    assert "taxledger_gateway_batches_reanchored_total 1.0" in metrics
    log = gateway.log.read_text()
    assert f"batch 0x{seen['root'].hex()} is not this agency's on chain" in log
    assert "are re-anchored as 0x" in log
