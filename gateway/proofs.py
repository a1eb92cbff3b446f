"""The proof bundle of a record in the outbox, once its batch is mined."""

from __future__ import annotations

import orjson

from gateway.connection import AgencyChain
from gateway.outbox import Outbox, StoredRecord
from ledger_node.anchoring import AnchoredBatch
from ledger_node.bundle import ProofBundle
from ledger_node.eip712 import BatchRequest
from ledger_node.records.schemas import SCHEMAS


def stored_bundle(chain: AgencyChain, outbox: Outbox, stored: StoredRecord) -> ProofBundle:
    """The bundle of ``stored``, whose batch must be mined (``block_number`` set)."""
    batch = stored.batch
    assert batch is not None and batch.block_number is not None
    schema = SCHEMAS[stored.schema]
    anchored = AnchoredBatch(
        chain_id=chain.ledger.chain_id,
        ledger=chain.ledger.address,
        agency_id=chain.agency_id,
        signer=chain.agency_key.address,
        request=BatchRequest(schema.schema_id, batch.root, batch.count, batch.write.deadline),
        signature=batch.write.signature,
        tx_hash=batch.write.tx_hash,
        block_number=batch.block_number,
    )
    return anchored.bundle(
        schema=schema.name,
        record=orjson.loads(stored.record),
        salt=stored.salt,
        record_hash=stored.record_hash,
        commitment=stored.commitment,
        leaf=stored.leaf,
        subjects=stored.subjects,
        proof=outbox.proof(stored),
    )
