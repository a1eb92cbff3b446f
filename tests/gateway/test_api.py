"""Every endpoint of a real gateway process against anvil: submit, read, prove, revoke,
auth and roles, the schema gate, conflicts and idempotent re-posts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from gateway_harness import Chain, GatewayProcess, wait_for

from ledger_node.bundle import ProofBundleV2, bundle_from_dict
from ledger_node.commitment import reason_commitment
from ledger_node.hashing import keccak256
from ledger_node.merkle import verify
from ledger_node.records import samples
from ledger_node.verify import VerificationFailure, Verifier
from ledger_node.verify.verifier import revocation_reasons
from ledger_node.verify.view import ChainView

INVOICE = "invoice.issued/v1"
PAYMENT = "payment.settled/v1"


def item(schema: str = INVOICE, seed: int = 1, record_id: str | None = None) -> dict[str, Any]:
    (record,) = samples.generate(schema, 1, seed=seed)
    return {"schema": schema, "id": record_id or f"r-{uuid.uuid4().hex}", "record": record}


def wait_status(gateway: GatewayProcess, record_id: str, *statuses: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = gateway.get(f"/v1/records/{record_id}").json()
        return body if body["status"] in statuses else None

    result: dict[str, Any] = wait_for(reached, 60, f"record {record_id} to be {statuses}", 0.2)
    return result


def test_submit_anchor_finalise_and_prove(tax_gateway: GatewayProcess, chain: Chain) -> None:
    body = item(seed=11)
    accepted = tax_gateway.post("/v1/records", body)
    assert accepted.status_code == 202, accepted.text
    receipt = accepted.json()
    assert receipt["status"] == "accepted"
    assert receipt["id"] == body["id"]

    final = wait_status(tax_gateway, body["id"], "final")
    anchor = final["anchor"]
    assert final["commitment"] == receipt["commitment"]
    onchain = chain.ledger.batch(anchor["agency_id"], bytes.fromhex(anchor["root"][2:]))
    assert onchain is not None
    assert onchain.anchored_block == anchor["block_number"]
    assert onchain.agency_id == anchor["agency_id"]
    assert len(final["subjects"]) == 3

    proof = tax_gateway.get(f"/v1/records/{body['id']}/proof")
    assert proof.status_code == 200
    bundle = bundle_from_dict(proof.json())
    assert isinstance(bundle, ProofBundleV2) and bundle.complete
    assert bundle.record == body["record"]
    assert [t.tag.hex() for t in bundle.subjects] == [s[2:] for s in final["subjects"]]
    assert bundle.anchor.tx_hash.hex() == anchor["tx_hash"][2:]
    assert verify(bundle.root, bundle.leaf, bundle.proof)
    Verifier.from_chain(chain.ledger, chain.consortium.deployment).verify(bundle)


def test_a_proof_shows_only_the_fields_asked_for(tax_gateway: GatewayProcess, chain: Chain) -> None:
    body = item(seed=21)
    assert tax_gateway.post("/v1/records", body).status_code == 202
    wait_status(tax_gateway, body["id"], "anchored", "final")
    url = f"/v1/records/{body['id']}/proof"
    partial = tax_gateway.get(url + "?fields=seller.tax_id,total,lines[].rate")
    assert partial.status_code == 200, partial.text
    bundle = bundle_from_dict(partial.json())
    assert isinstance(bundle, ProofBundleV2) and not bundle.complete
    record = body["record"]
    assert bundle.record == {
        "seller": {"tax_id": record["seller"]["tax_id"]},
        "total": record["total"],
        "lines": [{"rate": line["rate"]} for line in record["lines"]],
    }
    assert record["buyer"]["name"] not in partial.text
    Verifier.from_chain(chain.ledger, chain.consortium.deployment).verify(bundle)
    for fields, reason in (
        ("seller.taxid", "field path 'seller.taxid': names no field"),
        ("lines[x].rate", "field path 'lines[x].rate': step 'lines[x]'"),
        ("", "field path '': no field named"),
    ):
        refused = tax_gateway.get(f"{url}?{urlencode({'fields': fields})}")
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_fields"
        assert error["message"].startswith(reason), error


def test_revoke_an_anchored_record(tax_gateway: GatewayProcess, chain: Chain) -> None:
    body = item(seed=12)
    assert tax_gateway.post("/v1/records", body).status_code == 202
    not_yet = tax_gateway.post(f"/v1/records/{body['id']}/revoke", {"reason": "红冲"})
    if not_yet.status_code == 409:  # still accepted: a revocation needs its batch on chain
        assert not_yet.json()["error"]["code"] == "not_anchored"
    anchored = wait_status(tax_gateway, body["id"], "anchored", "final")

    revoke = tax_gateway.post(f"/v1/records/{body['id']}/revoke", {"reason": "红冲 开具错误"})
    assert revoke.status_code == 202, revoke.text
    assert revoke.json()["revocation"]["status"] == "requested"
    again = tax_gateway.post(f"/v1/records/{body['id']}/revoke", {"reason": "红冲 开具错误"})
    assert again.status_code == 200
    other = tax_gateway.post(f"/v1/records/{body['id']}/revoke", {"reason": "another"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "revocation_conflict"

    revoked = wait_status(tax_gateway, body["id"], "revoked")
    root = bytes.fromhex(anchored["anchor"]["root"][2:])
    leaf = bytes.fromhex(anchored["leaf"][2:])
    agency_id = anchored["anchor"]["agency_id"]
    assert (
        chain.ledger.leaf_revoked_at(agency_id, root, leaf) == revoked["revocation"]["block_number"]
    )
    # The reason is on chain as a salted commitment, not as a hash of its guessable text.
    revocation = revoked["revocation"]
    salt = bytes.fromhex(revocation["reason_salt"][2:])
    assert revocation["reason_commitment"] == "0x" + reason_commitment("红冲 开具错误", salt).hex()
    assert revocation["reason_commitment"] != "0x" + keccak256("红冲 开具错误".encode()).hex()
    bundle = tax_gateway.get(f"/v1/records/{body['id']}/proof").content
    for reasons, shown in (
        ({}, f"reason {revocation['reason_commitment']} (salted;"),
        (revocation_reasons([("红冲 开具错误", salt)]), "reason '红冲 开具错误'"),
    ):
        verifier = Verifier(ChainView(chain.ledger, chain.consortium.deployment), reasons=reasons)
        with pytest.raises(VerificationFailure, match=re.escape(shown)) as failure:
            verifier.verify_bytes(bundle)
        assert (failure.value.check, failure.value.code) == (8, "revoked")


def test_bulk_accepts_valid_items_and_reports_each(tax_gateway: GatewayProcess) -> None:
    good = [item(seed=100 + i) for i in range(20)]
    broken = item(seed=200)
    broken["record"]["seller"]["tax_id"] = "91310110666007217X"
    items: list[Any] = [*good, broken, item(PAYMENT, seed=3), {"schema": INVOICE}, 7]
    response = tax_gateway.post("/v1/records:bulk", {"records": items})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (20, 0, 4)
    statuses = [r["status"] for r in result["results"]]
    assert statuses == [202] * 20 + [422, 403, 422, 422]
    assert result["results"][20]["error"]["problems"] == [
        {
            "path": "records[20].record.seller.tax_id",
            "rule": "uscc_check",
            "message": "'91310110666007217X' has a wrong check character",
        }
    ]
    assert {p["path"] for p in result["results"][22]["error"]["problems"]} == {
        "records[22].id",
        "records[22].record",
    }
    assert result["results"][23]["error"]["problems"][0]["path"] == "records[23]"

    # Posting the same bulk again answers the same receipts, 200 each, none re-accepted.
    replay = tax_gateway.post("/v1/records:bulk", {"records": good}).json()
    assert (replay["accepted"], replay["duplicates"]) == (0, 20)
    for first, second in zip(result["results"][:20], replay["results"], strict=True):
        assert second["status"] == 200
        assert second["receipt"]["commitment"] == first["receipt"]["commitment"]


def test_idempotent_repost_and_conflict(tax_gateway: GatewayProcess) -> None:
    body = item(seed=21)
    first = tax_gateway.post("/v1/records", body)
    assert first.status_code == 202
    same = tax_gateway.post("/v1/records", body)
    assert same.status_code == 200
    assert same.json()["commitment"] == first.json()["commitment"]

    different = item(seed=22, record_id=body["id"])
    conflict = tax_gateway.post("/v1/records", different)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["problems"][0] == {
        "path": "id",
        "rule": "id_conflict",
        "message": "id already used for another record",
    }
    in_bulk = tax_gateway.post("/v1/records:bulk", {"records": [body, different]}).json()
    assert [r["status"] for r in in_bulk["results"]] == [200, 409]


def test_schema_gate_answers_403_before_signing(
    chain: Chain, start_gateway: Callable[..., GatewayProcess]
) -> None:
    bank = start_gateway(chain, "bank")
    refused = bank.post("/v1/records", item(INVOICE, seed=5))
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "schema_not_allowed"
    assert error["problems"][0]["path"] == "schema"
    assert bank.post("/v1/records", item(PAYMENT, seed=5)).status_code == 202
    counts = bank.counts()
    assert counts["unbatched"] + counts["pending"] + counts["anchored"] + counts["final"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/records"),
        ("POST", "/v1/records:bulk"),
        ("GET", "/v1/records/x"),
        ("GET", "/v1/records/x/proof"),
        ("POST", "/v1/records/x/revoke"),
    ],
)
def test_every_record_route_needs_a_key(
    tax_gateway: GatewayProcess, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer tlk_wrong"}, {"Authorization": "Basic eDp5"}):
        response = tax_gateway.client.request(method, path, headers=headers, json={})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthenticated"


def test_roles(tax_gateway: GatewayProcess) -> None:
    body = item(seed=31)
    read_only = tax_gateway.post("/v1/records", body, role="read")
    assert read_only.status_code == 403
    assert read_only.json()["error"]["code"] == "role_missing"
    assert tax_gateway.post("/v1/records", body, role="submit").status_code == 202
    assert tax_gateway.get(f"/v1/records/{body['id']}", role="submit").status_code == 403
    assert tax_gateway.get(f"/v1/records/{body['id']}", role="read").status_code == 200
    revoke = tax_gateway.post(f"/v1/records/{body['id']}/revoke", {"reason": "x"}, role="read")
    assert revoke.status_code == 403


def test_unknown_record_and_unanchored_proof(tax_gateway: GatewayProcess) -> None:
    assert tax_gateway.get("/v1/records/nope").json()["error"]["code"] == "not_found"
    assert tax_gateway.get("/v1/records/nope/proof").status_code == 404


def test_health_metrics_and_openapi(tax_gateway: GatewayProcess) -> None:
    assert tax_gateway.client.get("/healthz").json() == {"status": "ok"}
    health = tax_gateway.health()
    assert health["status"] == "ok"
    assert health["agency"] == "tax-bureau"
    assert health["chain"]["reachable"] is True
    assert health["chain"]["problem"] is None
    assert set(health["records"]) == {"unbatched", "pending", "anchored", "final", "batches_open"}
    metrics = tax_gateway.get("/metrics", role="read")
    assert metrics.status_code == 200
    assert "taxledger_gateway_records_received_total" in metrics.text
    assert 'taxledger_gateway_outbox_records{state="final"}' in metrics.text
    spec = tax_gateway.get("/openapi.json", role="read").json()
    assert set(spec["paths"]) >= {
        "/v1/records",
        "/v1/records:bulk",
        "/v1/records/{record_id}",
        "/v1/records/{record_id}/proof",
        "/v1/records/{record_id}/revoke",
        "/healthz",
        "/metrics",
    }
    for path in ("/v1/records", "/v1/records:bulk", "/v1/records/{record_id}/revoke"):
        assert spec["paths"][path]["post"]["security"] == [{"HTTPBearer": []}]
    schemas = spec["components"]["schemas"]
    assert schemas["RecordBulkCreate"]["properties"]["records"]["maxItems"] == 10_000
    assert "RecordCreate" in schemas
