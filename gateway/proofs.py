"""The proof bundle of a record in the outbox, once its batch is mined: whole, or (proof
format v2) only the fields asked for."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from gateway.connection import AgencyChain
from gateway.outbox import Outbox, StoredRecord
from ledger_node.anchoring import AnchoredBatch
from ledger_node.bundle import AnyBundle
from ledger_node.commitment import CommittedRecord, validated_record_hash
from ledger_node.eip712 import BatchRequest
from ledger_node.errors import LedgerValueError
from ledger_node.fieldtree import FieldPath
from ledger_node.records.schemas import SCHEMAS
from ledger_node.records.validation import validate
from ledger_node.tagging import Keyring, stored_tags


class NotDisclosable(LedgerValueError):
    """Fields were asked of a record committed whole (proof format v1)."""


def stored_bundle(
    chain: AgencyChain,
    outbox: Outbox,
    stored: StoredRecord,
    keyring: Keyring,
    paths: Sequence[FieldPath] | None = None,
) -> AnyBundle:
    """The bundle of ``stored``, whose batch must be mined (``block_number`` set): a v2
    bundle (whole, or disclosing only ``paths``), or a v1 bundle for a record an earlier
    gateway committed whole. Raises :class:`NotDisclosable` for ``paths`` of a v1 record and
    :class:`ledger_node.fieldtree.FieldPathError` for a path the record does not have."""
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
    validated = validate(schema.name, orjson.loads(stored.record))
    proof = outbox.proof(stored)
    if validated_record_hash(validated) == stored.record_hash:
        if paths is not None:
            raise NotDisclosable(
                f"record {stored.id!r} was committed whole (taxledger.proof/v1, by an earlier "
                "gateway): no part of it can be shown alone"
            )
        return anchored.bundle(
            schema=schema.name,
            record=validated.record,
            salt=stored.salt,
            record_hash=stored.record_hash,
            commitment=stored.commitment,
            leaf=stored.leaf,
            subjects=stored.subjects,
            proof=proof,
        )
    committed = CommittedRecord(
        validated,
        stored.salt,
        stored.record_hash,
        stored.commitment,
        stored.leaf,
        tuple(stored_tags(keyring, validated, stored.subjects)),
    )
    bundle = anchored.bundle_v2(committed, proof)
    return bundle if paths is None else bundle.disclose(paths)
