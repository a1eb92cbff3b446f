"""Bad input is a 4xx naming the field and the rule, never a 5xx: one case per kind of
mistake, then a sweep of mangled bodies."""

from __future__ import annotations

import copy
import json
import random
import uuid
from typing import Any

import orjson
import pytest
from gateway_harness import GatewayProcess

from ledger_node.records import samples

INVOICE = "invoice.issued/v1"


def invoice(seed: int = 7) -> dict[str, Any]:
    (record,) = samples.generate(INVOICE, 1, seed=seed)
    return record


def envelope(record: Any, **changes: Any) -> dict[str, Any]:
    body = {"schema": INVOICE, "id": f"bad-{uuid.uuid4().hex}", "record": record}
    body.update(changes)
    return body


def _with(change: Any) -> dict[str, Any]:
    record = invoice()
    change(record)
    return envelope(record)


CASES: list[tuple[str, Any, int, str, str]] = [
    ("malformed json", b'{"schema": "invoice.issued/v1", "id": ', 400, "$", "json_syntax"),
    ("not an object", b"[1, 2]", 422, "$", "not_object"),
    ("unknown schema", envelope(invoice(), schema="invoice.issued/v9"), 422, "schema",
     "unknown_schema"),
    ("missing id", {"schema": INVOICE, "record": invoice()}, 422, "id", "missing_field"),
    ("bad id", envelope(invoice(), id="has space"), 422, "id", "id_format"),
    ("unknown envelope field", {**envelope(invoice()), "extra": 1}, 422, "extra",
     "unknown_field"),
    ("record not an object", envelope([1]), 422, "record", "not_object"),
    ("missing record field", _with(lambda r: r.pop("issued_at")), 422, "record.issued_at",
     "missing_field"),
    ("unknown record field", _with(lambda r: r.update(colour="red")), 422, "record.colour",
     "unknown_field"),
    ("invalid USCC", _with(lambda r: r["seller"].update(tax_id="91310110666007217X")), 422,
     "record.seller.tax_id", "uscc_check"),
    ("invalid invoice number", _with(lambda r: r.update(invoice_number="12345")), 422,
     "record.invoice_number", "invoice_number_format"),
    ("inconsistent totals", _with(lambda r: r.update(total="0.01")), 422, "record.total",
     "total_mismatch"),
    ("money as a number", _with(lambda r: r.update(total=1.5)), 422, "record.total",
     "money_not_string"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "path", "rule"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_kind_of_bad_input(
    tax_gateway: GatewayProcess, body: Any, status: int, path: str, rule: str
) -> None:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    response = tax_gateway.post("/v1/records", content=content)
    assert response.status_code == status, response.text
    problems = response.json()["error"]["problems"]
    assert {"path": path, "rule": rule} in [
        {"path": p["path"], "rule": p["rule"]} for p in problems
    ]


def test_body_over_the_limit_is_413(tax_gateway: GatewayProcess) -> None:
    limit = 4 * 1024 * 1024  # max_body_bytes of the test config
    declared = tax_gateway.post("/v1/records:bulk", content=b"x" * (limit + 1))
    assert declared.status_code == 413
    assert declared.json()["error"]["problems"][0]["rule"] == "max_body_bytes"

    def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
        for _ in range(5):
            yield b" " * (limit // 4)

    streamed = tax_gateway.post("/v1/records:bulk", content=chunks())
    assert streamed.status_code == 413
    # The same guard stands before the routes called without FastAPI's routing.
    for path in ("/v1/exchange/queries", "/v1/exchange/requests"):
        exchange = tax_gateway.post(path, content=b"x" * (limit + 1))
        assert exchange.status_code == 413, path
        assert exchange.json()["error"]["problems"][0]["rule"] == "max_body_bytes"
        streamed = tax_gateway.post(path, content=chunks())
        assert streamed.status_code == 413, path


def test_other_methods_on_the_exchange_routes_are_fastapis(tax_gateway: GatewayProcess) -> None:
    answer = tax_gateway.get("/v1/exchange/requests", role="read")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"


def test_too_many_bulk_items(tax_gateway: GatewayProcess) -> None:
    response = tax_gateway.post("/v1/records:bulk", {"records": [{}] * 10_001})
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0] == {
        "path": "records",
        "rule": "max_items",
        "message": "10001 records; send at most 10000 per request",
    }


def test_bad_revoke_bodies(tax_gateway: GatewayProcess) -> None:
    for body, rule in ((b"{", "json_syntax"), (b"{}", "missing_field"), (b'{"reason": 5}',
                       "wrong_type"), (b'{"reason": ""}', "length")):  # fmt: skip
        response = tax_gateway.post("/v1/records/x/revoke", content=body)
        assert response.status_code in (400, 422), response.text
        assert response.json()["error"]["problems"][0]["rule"] == rule


def _mangle(rng: random.Random, value: Any) -> Any:
    """``value`` with one random node replaced, deleted or duplicated."""
    junk = [None, True, -1, 2**70, 1.5, "", "x" * 300, [], {}, "\u0000", "９", [None], {"a": 1}]
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        choice = rng.random()
        if choice < 0.2:
            del value[key]
        elif choice < 0.3:
            value[key + "_"] = value[key]
        elif choice < 0.6:
            value[key] = rng.choice(junk)
        else:
            value[key] = _mangle(rng, value[key])
        return value
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        value[index] = _mangle(rng, value[index]) if rng.random() < 0.6 else rng.choice(junk)
        return value
    return rng.choice(junk)


def test_fuzz_sweep_never_5xx(tax_gateway: GatewayProcess) -> None:
    rng = random.Random(5)
    base = envelope(invoice())
    items = []
    for _ in range(400):
        body = _mangle(rng, copy.deepcopy(base))
        if isinstance(body, dict):
            body["id"] = f"fuzz-{uuid.uuid4().hex}" if rng.random() < 0.9 else body.get("id")
        items.append(body)
    for body in items[:150]:
        response = tax_gateway.post("/v1/records", content=_dump(body))
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.json()["error"]["code"]
    raw = [_dump(b) for b in items[:60]]
    for text in raw:
        cut = text[: rng.randrange(len(text))]
        assert tax_gateway.post("/v1/records", content=cut).status_code in (400, 422)
    bulk = tax_gateway.post("/v1/records:bulk", content=b'{"records": [' + b",".join(raw) + b"]}")
    assert bulk.status_code == 200
    for result in bulk.json()["results"]:
        assert result["status"] in (200, 202, 403, 409, 422)
        if result["status"] >= 400:
            assert all(p["path"].startswith("records[") for p in result["error"]["problems"])


def _dump(value: Any) -> bytes:
    """JSON text of ``value``, big integers included (orjson refuses those)."""
    return json.dumps(value, ensure_ascii=False).encode()
